"""The GPU machine's call, rehearsed on this CPU: scripts/gpu_run.sh as a dry run, then scripts/gpu_import.py.

The dry run is the device script itself at toy sizes, with TensorFlow hidden as on the GPU
machine (tests/without_tensorflow): it must time `fit` of both models in both precisions, time
the published generators on onnxruntime, train both recipes through `python -m zoo train`
(resuming once), and leave in $OUT only what the device tool returns (at most 8 files, each
under 16 MiB, two folders deep at most, plain names). The import then exports what came back
with TensorFlow and scores it beside the published generators, as after a real GPU call.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo import data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.skipif(
    __import__("keras").backend.backend() != "tensorflow", reason="exports what the dry run trained: needs TensorFlow"
)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory, fashion_dir):
    """Runs `GANZOO_DRY_RUN=1 bash scripts/gpu_run.sh` once; returns (out folder, runs folder, output)."""
    folder = tmp_path_factory.mktemp("gpu")
    out, runs, train_split = folder / "out", folder / "runs", folder / "fashion-mnist"
    train_split.mkdir()
    for name in data.FILES["train"]:  # as scripts/gpu_prepare.sh carries it: the training split alone
        (train_split / name).symlink_to(fashion_dir / name)
    env = {
        **os.environ,
        "GANZOO_DRY_RUN": "1",
        "GANZOO_GPU_SECONDS": "1500",  # no step is cut short on a busy CPU
        "OUT": str(out),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT / "tests" / "without_tensorflow"),
        "GANZOO_FASHION_MNIST_DIR": str(train_split),
        "TMPDIR": str(folder),
    }
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_run.sh"), "--runs", str(runs)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, runs, result.stdout


def test_the_dry_run_measures_trains_and_returns_what_the_device_tool_carries(dry_run):
    out, _, output = dry_run
    report = json.loads((out / "report.json").read_text())
    versions = report["versions"]
    assert report["dry_run"] and versions["tensorflow_imports"] is False and versions["keras_backend"] == "jax"
    assert "error" not in report
    rows = report["fit_speed"]["rows"]
    assert {row["model"] for row in rows} == {"dcgan", "cgan"} and {row["precision"] for row in rows} == {"float32", "mixed_bfloat16"}
    assert [bool(row.get("callbacks")) for row in rows] == [False, True]  # one row with zoo train's per-step callbacks
    for row in rows:
        assert row["images_per_second"] > 0 and row["steps_timed"] == 2, row
        assert all(np.isfinite(value) for value in row["final_logs"].values()), row
    runtime = report["onnxruntime"]
    assert "CPUExecutionProvider" in runtime["available_providers"]
    for row in runtime["rows"]:
        assert row["batch_1"]["p50_ms"] > 0 and row["batch_256"]["images_per_second"] > 0, row
    for family in ("dcgan", "cgan"):
        recipe = report["recipes"][family]
        assert recipe["epochs"] == 2 and [s["returncode"] for s in recipe["sessions"]] == [0, 0], recipe
        assert recipe["sessions"][1]["command"].startswith(f"python -m zoo train {family} --epochs 2")
        training = json.loads((out / family / "training.json").read_text())
        assert training["machine"]["backend"] == "jax" and [s["status"] for s in training["sessions"]] == ["finished", "finished"]
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len(files) <= 8 and "run.log" in {path.name for path in files}
    for path in files:
        relative = path.relative_to(out)
        assert len(relative.parts) <= 3 and all(re.fullmatch(r"[A-Za-z0-9._-]+", part) for part in relative.parts), relative
        assert path.stat().st_size < 16 << 20, (relative, path.stat().st_size)
    assert "Resuming from" in output


def test_the_import_exports_what_came_back_and_scores_it_beside_the_published_generator(dry_run, tmp_path):
    import gpu_import

    import zoo.models  # noqa: F401  (registers the zoo's classes)
    from zoo import runtime
    from zoo.saving import load_model

    out, runs, _ = dry_run
    assert gpu_import.main([str(out), "-n", "300", "--work", str(tmp_path)]) == 0
    imported = json.loads((tmp_path / "import.json").read_text())["imported"]
    assert set(imported) == {"dcgan", "cgan"}
    for family, result in imported.items():
        assert result["epochs"] == 2 and result["machine"]["backend"] == "jax"
        assert np.isfinite(result["quality"]["fid"]) and result["quality"]["how"]["n"] == 300
        assert result["published_quality"]["how"]["n"] == 300  # compared at the same n
        assert result["beats_published"] is False and result["publish_command"] is None  # two toy epochs do not
        card = json.loads((tmp_path / f"{family}-export" / "card.json").read_text())
        assert card["training"]["machine"]["backend"] == "jax"
        # The exported generator is the network trained on the dry run (cgan's file went out without optimizer state).
        trained = load_model(runs / family / "model.keras")
        exported = runtime.load(tmp_path / f"{family}-export")
        z = np.random.default_rng(0).standard_normal((4, trained.latent_dim)).astype(np.float32)
        labels = {"label": np.array([0, 3, 5, 9])} if trained.conditional else {}
        keras_images = trained.generate(z=z, **({"labels": labels["label"]} if labels else {}))
        np.testing.assert_allclose(exported(z, **labels), keras_images, atol=1e-4)


def test_a_publish_that_publish_py_refuses_is_recorded_and_the_import_goes_on(tmp_path, capsys, fashion_dir):
    """`--publish` of a run that beats its published generator, whose card has its own description:
    publish.py refuses (no --description given), and the import records that, writes its table and
    import.json, and leaves the published artifact in `--exports` as it was, byte for byte."""
    import gpu_import

    from zoo.export import export_generator
    from zoo.models import DCGAN

    results, exports, work = tmp_path / "results", tmp_path / "exports", tmp_path / "work"
    (results / "dcgan").mkdir(parents=True)
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    gan.save(results / "dcgan" / "model.keras")
    (results / "dcgan" / "training.json").write_text('{"epochs": 1, "dataset": "Fashion-MNIST", "seconds": 2}')
    grey = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)  # one grey image whatever the noise: the worst FID
    last = grey.generator.layers[-1]
    last.set_weights([np.zeros_like(weight) for weight in last.get_weights()])
    published = exports / "dcgan-fashion-mnist"
    export_generator(grey, published, card={"description": "A grey DCGAN, told in its own words"})
    before = {path.relative_to(published): path.read_bytes() for path in published.rglob("*") if path.is_file()}

    assert gpu_import.main([str(results), "-n", "50", "--work", str(work), "--exports", str(exports), "--publish"]) == 0
    output = capsys.readouterr()
    result = json.loads((work / "import.json").read_text())["imported"]["dcgan"]
    assert result["beats_published"] and result["publish_command"].endswith(f"--name dcgan-fashion-mnist --exports {exports} --registry {work / 'registry.json'}")
    assert result["publish_refused"] == "publish.py exited 2 (its message is above): run the command by hand"
    assert f"{published / 'card.json'} describes the generator as 'A grey DCGAN, told in its own words'; publishing over it without --description" in output.err
    assert "dcgan: 1 epochs in 2 s on the GPU machine; beats the published FID" in output.out
    assert "--description '<what this run is>' (--publish: publish.py refused it, its message is above; nothing was published)" in output.out
    assert {path.relative_to(published): path.read_bytes() for path in published.rglob("*") if path.is_file()} == before
