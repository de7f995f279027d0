"""The package as a user installs it: the `ganzoo` wheel and the `ganzoo-models` data wheel in a
fresh virtualenv (dependencies from the package index, pip's cache reused), run from a folder
outside the checkout with no network for models; and the README's lines that work as written.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE", "NOTICE")


def timed(steps, label, command, **kwargs):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    steps.append((label, round(time.perf_counter() - started, 1)))
    assert result.returncode == 0, f"{label} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_wheels_install_in_a_fresh_virtualenv_and_serve_published_names_offline(tmp_path, fashion_dir):
    steps = []
    # 1. The two wheels, built from a copy of the sources (no build/ or egg-info left in the checkout).
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE_FILES:
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    timed(steps, "build the ganzoo wheel", [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)])
    timed(steps, "build the ganzoo-models wheel", [sys.executable, str(ROOT / "scripts" / "build_models_wheel.py"), "--out", str(dist)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    wheels = sorted(dist.glob("*.whl"))
    assert [wheel.name.split("-")[0] for wheel in wheels] == ["ganzoo", "ganzoo_models"]

    # 2. A fresh virtualenv with the onnxruntime-only footprint: no TensorFlow, no Keras.
    env_dir = tmp_path / "venv"
    started = time.perf_counter()
    venv.create(env_dir, with_pip=True)
    steps.append(("create the virtualenv", round(time.perf_counter() - started, 1)))
    python, ganzoo = env_dir / "bin" / "python", env_dir / "bin" / "ganzoo"
    timed(steps, "pip install both wheels (dependencies from the index)", [str(python), "-m", "pip", "install", "--quiet", *map(str, wheels)])
    frameworks = subprocess.run([str(python), "-c", "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'jax') if u.find_spec(m)])"], capture_output=True, text=True)
    assert frameworks.stdout.strip() == "[]"

    # 3. From a folder outside the checkout, with an empty cache and no server to download from.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "GANZOO_", "VIRTUAL_ENV"))}
    env.update(GANZOO_CACHE=str(tmp_path / "cache"), GANZOO_BASE_URL="http://127.0.0.1:9", PATH=f"{env_dir / 'bin'}:{env['PATH']}")
    run = lambda label, *args: timed(steps, label, [str(ganzoo), *args], cwd=elsewhere, env=env, timeout=600)  # noqa: E731

    help_text = run("ganzoo --help", "--help").stdout
    assert help_text.startswith("usage: ganzoo ") and "ganzoo sample dcgan-fashion-mnist" in help_text
    import zoo

    assert run("ganzoo --version", "--version").stdout.strip() == f"ganzoo {zoo.__version__}"
    listing = run("ganzoo list", "list").stdout
    from zoo import registry

    for model in registry.list_models():
        assert model.name in listing
    assert listing.count("yes (ganzoo-models)") == len(registry.names())

    printed = run("ganzoo sample dcgan-fashion-mnist -n 16", "sample", "dcgan-fashion-mnist", "-n", "16", "--seed", "5", "--scale", "1", "-o", "grid.png").stdout
    assert "the ganzoo-models package" in printed
    from zoo import runtime
    from zoo.images import make_grid

    expected = make_grid(runtime.load(ROOT / "exports" / "dcgan-fashion-mnist").generate(16, seed=5))
    assert np.array_equal(np.asarray(Image.open(elsewhere / "grid.png")), expected)  # the checkout's images, pixel for pixel

    run("ganzoo eval cgan-fashion-mnist -n 500", "eval", "cgan-fashion-mnist", "-n", "500", "--data-dir", str(fashion_dir), "-o", "eval.json")
    results = json.loads((elsewhere / "eval.json").read_text())
    # at n = 500 a good generator can score under the real-vs-real floor (6.9 there): both are noisy estimates
    assert results["how"]["features"] == "classifier-fashion-mnist" and 0 < results["fid"] < 30 and 0 < results["fid_floor"] < 30
    assert results["class_accuracy"] > 0.6

    (elsewhere / "model.keras").write_bytes(b"")
    keras_file = subprocess.run([str(ganzoo), "sample", "model.keras"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert keras_file.returncode == 2 and "pip install 'ganzoo[train]'" in keras_file.stderr
    t2i = subprocess.run([str(ganzoo), "eval", "t2i-fashion-mnist"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert t2i.returncode == 2 and t2i.stderr.strip() == ("error: Scoring a text-to-image generator (its attribute judge is a Keras model) "
                                                         "needs keras and tensorflow, which this install lacks: pip install 'ganzoo[train]'.")
    rebuild = subprocess.run([str(python), "-c", "import zoo; zoo.load_generator('dcgan-fashion-mnist')"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert rebuild.returncode == 1 and rebuild.stderr.strip().splitlines()[-1] == (
        "ImportError: load_generator('dcgan-fashion-mnist') rebuilds the Keras model, and Keras is not installed: pip install "
        "'ganzoo[train]'. zoo.runtime.load('dcgan-fashion-mnist') runs the published generator without it.")
    cached = {path.name for path in (tmp_path / "cache").iterdir()} if (tmp_path / "cache").exists() else set()
    assert cached <= {"derived"}  # nothing downloaded: only zoo.onnx_tuning's derived variants
    print("\n".join(f"{seconds:7.1f} s  {label}" for label, seconds in steps))


def test_the_readme_s_fid_monitor_line_works_as_written(tmp_path):
    line = "import zoo; callback = zoo.callbacks.FIDMonitor(every=5, log_dir='logs'); print(callback.every)"
    assert line.split("; ")[1].split(" = ")[1].split("(")[0] in (ROOT / "README.md").read_text()
    result = subprocess.run([sys.executable, "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stdout.strip() == "5", result.stderr


def readme_python_blocks():
    """`(heading, code)` of each ```python block of the README, under the last heading above it."""
    blocks, heading = [], None
    for part in re.split(r"(^```python\n.*?^```$)", (ROOT / "README.md").read_text(), flags=re.M | re.S):
        if part.startswith("```python"):
            blocks.append((heading, part[len("```python\n"):-3]))
        else:
            heading = ([None] + re.findall(r"^#+ (.*)$", part, re.M))[-1] or heading
    return blocks


# What each block's comments claim, checked after it runs (the blocks that train run for minutes: not here).
README_CLAIMS = {
    "Use": "assert cgan.generate(8, seed=0, labels='dress').shape == (8, 28, 28, 1) and z.shape == (8, 100)",
    "Published generators": "import numpy as np; np.testing.assert_allclose(generator.generate(16, seed=0), images, atol=1e-4)",
    "Fast inference": "import numpy as np; assert np.abs(one_call.generate(4, seed=0) - generator.generate(4, seed=0)).max() < 1e-4 "
                      "and np.abs(fastest_on_cpu.generate(4, seed=0) - as_exported.generate(4, seed=0)).mean() < 0.05",
}


@pytest.mark.parametrize("heading", sorted(README_CLAIMS))
def test_the_readme_s_python_blocks_that_do_not_train_run_as_written(tmp_path, heading):
    """Each such block runs as a user pastes it, from a folder outside the checkout (published names
    from this checkout's exports/), and what its comments say holds."""
    blocks = [code for title, code in readme_python_blocks() if title == heading and ".fit(" not in code]
    assert len(blocks) == 1, f"README's '{heading}' holds {len(blocks)} Python blocks that do not train"
    script = blocks[0] + "\n" + README_CLAIMS[heading] + "\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GANZOO_EXPORTS": str(ROOT / "exports"), "GANZOO_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"README's '{heading}' block:\n{blocks[0]}\n{result.stderr[-3000:]}"


def test_importing_zoo_loads_no_framework():
    code = "import sys, zoo; zoo.latent; zoo.registry; zoo.runtime; print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


@pytest.mark.files
def test_the_models_wheel_refuses_files_that_do_not_match_the_registry(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_models_wheel
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    exports = tmp_path / "exports"
    shutil.copytree(ROOT / "exports", exports, ignore=shutil.ignore_patterns("*.optimized.onnx", "*.fp16.onnx"))
    (exports / "gan-fashion-mnist" / "card.json").write_text("{}")
    with pytest.raises(ValueError, match="gan-fashion-mnist/card.json is missing or does not match zoo/registry.json"):
        build_models_wheel.build(tmp_path / "dist", exports)
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))
