"""Other apps run the published generators: Node.js with onnxruntime-node, a web page with
onnxruntime-web in headless Chromium (Debian's, driven by playwright-core). `make setup`
installs node's packages and Chromium; these tests skip only where node or Chromium is absent.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo import registry, runtime
from zoo.images import make_grid
from zoo.text import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
CHROMIUM = "/usr/bin/chromium"
CAPTION = "a blue coat"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (scripts/install_system_packages.sh installs it)")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (scripts/install_system_packages.sh installs Debian's chromium)")


def installed(app):
    modules = APPS / app / "node_modules"
    assert modules.is_dir(), f"{modules} is missing: run `make setup` (npm ci in apps/{app})"


@pytest.fixture(params=registry.names())
def artifact(request):
    return ROOT / "exports" / request.param


def python_inputs(card, z):
    """The feeds the Node app builds for `z`: classes in turn, or one caption for every image."""
    inputs = {"z": z}
    if "label" in card["inputs"]:
        inputs["label"] = np.arange(len(z), dtype=np.int64) % len(card["classes"])
    if "tokens" in card["inputs"]:
        inputs["tokens"] = Tokenizer.from_spec(card["tokenizer"])([CAPTION] * len(z))
    return inputs


@needs_node
def test_node_app_writes_the_png_python_would(artifact, tmp_path):
    installed("node")
    generator = runtime.load(artifact)
    z = np.random.default_rng(7).standard_normal((10, generator.latent_dim), dtype=np.float32)
    z.astype("<f4").tofile(tmp_path / "z.f32")
    out = tmp_path / "node.png"
    command = ["node", str(APPS / "node" / "sample.js"), str(artifact), "-n", "10", "--noise", str(tmp_path / "z.f32"), "-o", str(out)]
    if "tokens" in generator.inputs:
        command += ["--text", CAPTION]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Wrote 10 samples" in result.stdout
    node_grid = np.asarray(Image.open(out).convert("L"), dtype=int)
    python_grid = make_grid(generator(**python_inputs(generator.card, z)))
    python_grid = python_grid if python_grid.ndim == 2 else np.asarray(Image.fromarray(python_grid).convert("L"))
    assert node_grid.shape == python_grid.shape
    assert np.abs(node_grid - python_grid.astype(int)).max() <= 1  # same noise, same pixels (±1 rounding)
    assert node_grid.std() > 10


@needs_node
def test_node_app_refuses_bad_arguments(artifact):
    installed("node")
    result = subprocess.run(["node", str(APPS / "node" / "sample.js"), str(artifact), "-n", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "above 0" in result.stderr


@needs_node
@needs_chromium
def test_web_page_draws_new_samples_in_headless_chromium(artifact):
    installed("web")
    card = json.loads((artifact / "card.json").read_text())
    server = subprocess.Popen(
        [sys.executable, str(APPS / "web" / "serve.py"), "--port", "0", "--model", artifact.name], stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        command = ["node", str(APPS / "web" / "e2e.mjs"), url] + ([CAPTION] if "tokens" in card["inputs"] else [])
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["errors"] == []
    assert seen["title"] == card["name"]
    assert seen["promptVisible"] == ("tokens" in card["inputs"])
    assert all(request.startswith(url.split("/apps/")[0]) for request in seen["requests"])  # 127.0.0.1 only
    for grid in (seen["first"], seen["second"]):
        assert grid["std"] > 2  # generated pictures, not a blank canvas (a dark garment on black is faint)
    assert seen["second"]["hash"] != seen["first"]["hash"]  # the button drew new samples
    assert seen["labelVisible"] == ("label" in card["inputs"])
    if "label" in card["inputs"]:
        assert seen["third"]["std"] > 2 and seen["third"]["hash"] != seen["second"]["hash"]
    assert "16 samples" in seen["status"]
