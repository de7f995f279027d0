"""The benchmark scripts run end to end (quick mode; timings are not asserted), FLOPs are counted
right, and the README's results are regenerated from their JSON."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from zoo import bench, hardware
from zoo.models.tutorial import make_discriminator_model, make_generator_model

ROOT = Path(__file__).resolve().parent.parent


def run_script(name, *args):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_layer_flops_by_hand():
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    conv = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(5, 3, padding="same")])
    transposed = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")])
    assert bench.model_flops(dense) == 2 * 3 * 4
    assert bench.model_flops(conv) == 2 * (4 * 4) * (3 * 3 * 2) * 5
    assert bench.model_flops(transposed) == 2 * (2 * 2) * (3 * 3 * 3) * 4


@pytest.mark.parametrize("build", [make_generator_model, make_discriminator_model])
def test_flops_match_tensorflows_profiler(build):
    """The count from layer shapes is within 1% of TF's profiler (which adds BN, bias and activations)."""
    network = build()
    spec = tf.TensorSpec([1, *network.inputs[0].shape[1:]])
    graph = tf.function(lambda x: network(x, training=False)).get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profiled = tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops
    assert bench.model_flops(network) == pytest.approx(profiled, rel=0.01)


def test_gemm_peak_is_a_plausible_rate():
    assert 1e8 < bench.measure_gemm_peak(size=256, repeats=2) < 1e14


@pytest.mark.inputs
def test_unknown_training_loop_is_refused():
    with pytest.raises(ValueError, match="Unknown training loop 'jax'"):
        bench.gan_training_flops(1, 1, "jax")


def test_benchmarks_run_and_the_readme_is_regenerated(tmp_path):
    results = tmp_path / "results"
    train_out = run_script("bench_train.py", "--quick", "--out", str(results / "bench_train.json"))
    infer_out = run_script("bench_infer.py", "--quick", "--out", str(results / "bench_infer.json"))
    assert "TF tutorial loop" in train_out and "onnxruntime" in infer_out

    train = json.loads((results / "bench_train.json").read_text())
    assert [row["loop"] for row in train["results"]][:2] == ["TF tutorial loop (`@tf.function`)", "zoo `fit`"]
    for row in train["results"]:
        assert row["images_per_second"] > 0 and 0 < row["fraction_of_peak"]
    assert train["settings"]["generator_flops_per_image"] == 103_488_000
    rows, d_flops = {row["loop"]: row for row in train["results"]}, train["settings"]["discriminator_flops_per_image"]
    winograd_generator = 103_488_000 - (80_281_600 - 18_755_584)  # the work its 5×5 layer does in Winograd's form: 16.8M products, 2.0M transforms
    assert rows["zoo `fit`, winograd"]["flops_per_image"] == bench.gan_training_flops(winograd_generator, d_flops, "zoo")
    assert rows["zoo `fit`"]["flops_per_image"] == bench.gan_training_flops(103_488_000, d_flops, "zoo")
    # the reuse step does one generator pass fewer than the alternating one: 3G + 9D against 4G + 9D
    assert rows["zoo `fit`"]["flops_per_image"] - rows["zoo `fit`, reuse"]["flops_per_image"] == 103_488_000
    assert train["machine"]["cores"] >= 1 and train["peak"]["gflops"] > 0

    infer = json.loads((results / "bench_infer.json").read_text())
    assert [row["path"] for row in infer["results"]] == [
        "Keras `predict`",
        "Keras direct call",
        "SavedModel",
        "onnxruntime, exported file (defaults)",
        "onnxruntime, tuned file",
        "onnxruntime, tuned file, no spinning",
        "onnxruntime, tuned file, 1 thread",
        "onnxruntime, int8 file",
        "onnxruntime, int8 file, 1 thread",
        "onnxruntime, tuned file, one call per batch",
        "onnxruntime, int8 file, one call per batch",
    ]
    done = {row["path"]: row["flops_per_image_done"] for row in infer["results"]}
    assert done["onnxruntime, tuned file"] == 103_488_000 - (80_281_600 - 18_755_584)  # its first layer in Winograd's form
    assert done["onnxruntime, exported file (defaults)"] == done["SavedModel"] == done["onnxruntime, int8 file"] == 103_488_000
    for row in infer["results"]:
        assert 0 < row["batch_1"]["p50_ms"] <= row["batch_1"]["p99_ms"]
        assert row["batch_32_images_per_second"] > 0
    assert infer["int8_peak"]["gops"] > 0 and infer["machine"]["flags"] == hardware.describe()["flags"]
    kind = hardware.machine_kind(infer["machine"])
    for name in ("bench_train", "bench_infer"):  # one entry per machine kind: this one's is the run just made
        machines = json.loads((results / f"{name}.machines.json").read_text())
        assert list(machines) == [kind] and machines[kind]["measured"] == json.loads((results / f"{name}.json").read_text())["measured"]

    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\n## after\n")
    run_script("update_readme_results.py", "--readme", str(readme), "--results", str(results))
    text = readme.read_text()
    assert "old" not in text and text.startswith("# title") and text.endswith("## after\n")
    assert "| zoo `fit` |" in text and "| onnxruntime, tuned file |" in text and "| onnxruntime, int8 file |" in text
    assert train["machine"]["cpu"] in text and train["measured"] in text and f"On {kind}:" in text

    # Another machine kind measured before keeps its rows beside this one's.
    machines = json.loads((results / "bench_train.machines.json").read_text())
    other = json.loads(json.dumps(machines[kind]))
    other["machine"].update(cpu="AMD EPYC", flags=["AVX2"])
    other["results"][0]["images_per_second"] = 123456.0
    machines["AMD EPYC (AVX2)"] = other
    (results / "bench_train.machines.json").write_text(json.dumps(machines))
    run_script("update_readme_results.py", "--readme", str(readme), "--results", str(results))
    text = readme.read_text()
    assert "#### AMD EPYC (AVX2)" in text and f"#### {kind}" in text and "| 123456 |" in text
    assert "quality.json not measured yet" in text


def test_every_form_of_the_largest_convolution_computes_the_same_layer(tmp_path):
    """Each form onnxruntime can be given (and TensorFlow's) is checked against numpy's
    convolution before it is timed; the script fails if one computes anything else."""
    out = run_script("bench_conv_forms.py", "--quick", "--out", str(tmp_path / "forms.json"))
    record = json.loads((tmp_path / "forms.json").read_text())
    assert [row["form"] for row in record["results"]] == [
        "onnxruntime Conv, NCHWc blocked kernels (graph level all)",
        "onnxruntime Conv, im2col + GEMM (graph level extended)",
        "onnxruntime im2col in the graph (Slice + Concat + MatMul, NHWC)",
        "onnxruntime MatMul of the transposed-convolution form (no col2im: a bound)",
        "TensorFlow conv2d (oneDNN, NHWC)",
    ]
    for row in record["results"]:
        assert row["max_abs_error"] < 1e-3 and row["gflops"] > 0 and f"| {row['form']} |" in out
    assert record["settings"]["flops_per_call"] == 2 * 4 * 7 * 7 * 256 * 128 * 5 * 5


def test_a_quick_run_writes_nothing_without_out(tmp_path):
    """A smoke run's batch-4 figures must not replace the committed batch-256 ones."""
    committed = ROOT / "docs" / "results" / "bench_conv_forms.json"
    before = committed.read_bytes()
    try:
        result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_conv_forms.py"), "--quick"], cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "nothing written" in result.stdout and committed.read_bytes() == before and list(tmp_path.iterdir()) == []
    finally:  # a failing run must not leave the repository's figures replaced
        if committed.read_bytes() != before:
            committed.write_bytes(before)


def test_an_out_that_cannot_take_the_record_is_refused_before_the_run(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "bench_train.json").write_text(json.dumps({"benchmark": "train"}))
    (elsewhere / "bench_train.machines.json").write_text(json.dumps({"some CPU": {"benchmark": "infer"}}))
    for out, says in ((tmp_path, "is a folder"), (notes, "is not a 'train' benchmark record"), (elsewhere / "bench_train.json", "bench_train.machines.json exists and is not")):
        result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_train.py"), "--quick", "--out", str(out)], capture_output=True, text=True, timeout=900)
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert notes.read_text() == "my notes\n" and sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "notes.txt"]


def import_script(name):
    """A script of scripts/ as a module, to call its functions."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.mark.inputs
def test_readme_without_markers_is_refused(tmp_path):
    update_readme_results = import_script("update_readme_results")
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="must hold one <!-- results:start -->"):
        update_readme_results.rewrite_readme(readme, tmp_path)
    assert readme.read_text() == "# no markers\n"


@pytest.mark.parametrize("make_folder", [False, True], ids=["missing", "empty"])
def test_a_mistyped_results_folder_is_refused_and_keeps_the_readme(tmp_path, capsys, make_folder):
    update_readme_results = import_script("update_readme_results")
    readme = tmp_path / "README.md"
    readme.write_text("# title\n<!-- results:start -->\nmeasured figures\n<!-- results:end -->\n")
    results = tmp_path / "reslts"
    if make_folder:
        results.mkdir()
    with pytest.raises(SystemExit) as raised:
        update_readme_results.main(["--readme", str(readme), "--results", str(results)])
    assert raised.value.code == 2 and "measured figures" in readme.read_text()
    assert f"--results {results}" in capsys.readouterr().err


def test_tutorial_networks_train_through_fit_and_the_tutorial_loop(real_batches):
    from tests.harness import check_config_round_trip, check_trains
    from zoo.models.tutorial import TutorialDCGAN, make_tutorial_train_step

    generator, discriminator = make_generator_model(), make_discriminator_model()
    model = TutorialDCGAN(generator, discriminator, seed=0)
    assert model.generator is generator and model.discriminator is discriminator
    model.compile_like_tutorial(jit_compile=False)
    check_trains(model, real_batches, steps=2)
    check_config_round_trip(model)
    step, _ = make_tutorial_train_step(generator, discriminator, batch_size=32)
    gen_loss, disc_loss = step(next(iter(real_batches)))
    assert float(gen_loss) > 0 and float(disc_loss) > 0


def test_training_speed_and_reliability_counts_are_written_from_their_json(tmp_path):
    update_readme_results = import_script("update_readme_results")
    machine = {"cpu": "Test CPU", "cores": 2, "gpus": [], "python": "3.11", "tensorflow": "2.21", "keras": "3.15"}
    run = {"class": "DCGAN", "batch_size": 128, "images_per_second": 1234.4, "wall_seconds": 60.2, "epochs_of_fashion_mnist": 1.5,
           "load_average_1min": {"before": 0.5}, "measured": "2026-01-01 10:00", "samples": "docs/images/dcgan_samples.png"}
    (tmp_path / "train_speed.json").write_text(json.dumps({"machine": machine, "results": [run]}))
    counts = {"inputs": {"passed": 7, "failed": 1}, "files": {"passed": 3, "failed": 0}, "faults": {"passed": 2, "failed": 0}}
    reliability = {"measured": "2026-01-02 09:00 UTC", "machine": machine, "settings": {"command": "python -m pytest", "exit_status": 1}, "results": counts}
    (tmp_path / "reliability.json").write_text(json.dumps(reliability))
    readme = tmp_path / "README.md"
    markers = [(update_readme_results.START, update_readme_results.END), (update_readme_results.SPEED_START, update_readme_results.SPEED_END),
               (update_readme_results.RELIABILITY_START, update_readme_results.RELIABILITY_END)]
    readme.write_text("".join(f"{start}\nold\n{end}\n\ntext {i}\n" for i, (start, end) in enumerate(markers)))

    text = update_readme_results.rewrite_readme(readme, results_dir=tmp_path, speed_dir=tmp_path)
    assert readme.read_text() == text and "old" not in text and all(f"text {i}" in text for i in range(3))
    assert "| DCGAN | 1,234 | 60 s | 1.50 | 0.50 | 2026-01-01 10:00 | `docs/images/dcgan_samples.png` |" in text
    assert "| inputs | 7 | 8 |" in text and "| faults | 2 | 2 |" in text
    assert "Measured 2026-01-02 09:00 UTC on Test CPU (2 cores, no GPU" in text and "pytest exited with status 1" in text


@pytest.mark.inputs
def test_the_test_suite_writes_its_reliability_counts_as_json(tmp_path):
    counts = tmp_path / "counts.json"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "inputs", "tests/test_validation.py", f"--reliability-json={counts}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    written = json.loads(counts.read_text())
    assert written["inputs"]["passed"] > 0 and f"inputs {written['inputs']['passed']}/{written['inputs']['passed']}" in result.stdout
    assert written["inputs"]["failed"] == 0 and written["files"] == written["faults"] == {"passed": 0, "failed": 0}


def test_the_quality_table_says_what_the_int8_variant_costs_in_fid(tmp_path):
    update_readme_results = import_script("update_readme_results")
    how = {"n": 100, "features": "test features", "floor": "real train against real test", "kid": "subsets", "precision_recall": "k = 3"}
    row = {"name": "dcgan-test", "fid": 20.0, "fid_floor": 0.3, "kid": 1.0, "kid_std": 0.1, "kid_floor": 0.0, "precision": 0.6, "recall": 0.7,
           "int8": {"fid": 20.5, "precision": 0.6, "recall": 0.7}}
    quality = {"measured": "2026-01-03 08:00 UTC", "machine": {"cpu": "Test CPU", "cores": 2, "gpus": [], "python": "3.11", "tensorflow": "2.21", "keras": "3.15"},
               "settings": how,
               "floor": {"fid": 0.3}, "results": [row, {**row, "name": "gan-test", "int8": {"fid": 19.0}}]}
    lines = update_readme_results.quality_section(quality)
    assert "float32 → int8: dcgan-test 20.00 → 20.50 (+2.5%), gan-test 20.00 → 19.00 (-5.0%)." in "\n".join(lines)


def test_generators_are_timed_side_by_side_with_every_input_they_take(tmp_path):
    """bench_generators runs a noise-only and a text-to-image generator in turns and records both
    rates with the machine (quick mode; rates are not asserted beyond being measured)."""
    output = tmp_path / "generators.json"
    printed = run_script("bench_generators.py", "dcgan-fashion-mnist", str(ROOT / "exports" / "t2i-fashion-mnist"),
                         "--rounds", "2", "--batch-calls", "1", "--single-calls", "3", "-o", str(output))
    record = json.loads(output.read_text())
    assert record["benchmark"] == "generators" and record["machine"]["cpu"] == hardware.describe()["cpu"]
    assert list(record["results"]) == ["dcgan-fashion-mnist", str(ROOT / "exports" / "t2i-fashion-mnist")]
    for result in record["results"].values():
        assert len(result["rounds"]) == 2 and result["images_per_second"] > 0 and result["p50_ms"] > 0
        assert result["file"].endswith(".onnx")
    assert "dcgan-fashion-mnist" in printed and "bench_generators.py" in record["settings"]["command"]


def test_training_paths_are_compared_for_the_conditional_gan_in_both_precisions(tmp_path):
    """`compare_training_paths.py --family cgan` trains `zoo.ConditionalGAN` along each path asked
    (here float32 and bfloat16, Keras's convolutions, no XLA) and scores each run."""
    out = tmp_path / "paths.json"
    run_script(
        "compare_training_paths.py", "--family", "cgan", "--epochs", "1", "--seeds", "0", "--limit", "256", "--n", "256",
        "--paths", "reuse, float32, op by op", "reuse, mixed_bfloat16, op by op", "--runs", str(tmp_path / "runs"), "--out", str(out),
    )
    record = json.loads(out.read_text())
    assert record["settings"]["model"].startswith("zoo.ConditionalGAN")
    assert [row["training_path"]["precision"] for row in record["results"]] == ["float32", "mixed_bfloat16"]
    for run in (tmp_path / "runs").iterdir():
        assert json.loads((run / "training.json").read_text())["family"] == "cgan"
    assert all(row["fid"] > 0 for row in record["results"])
