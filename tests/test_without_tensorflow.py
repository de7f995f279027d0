"""Training on JAX where TensorFlow is not installed (the GPU machine has JAX and no TensorFlow).

A subprocess starts with `tests/without_tensorflow` first on PYTHONPATH, whose sitecustomize
makes `import tensorflow` (and tf2onnx, tensorflow-datasets, nltk) fail as if they were absent.
In it, `python -m zoo train` trains DCGAN and ConditionalGAN on Keras's JAX backend from the
real Fashion-MNIST files (`zoo.data` batches them as a `keras.utils.PyDataset`), writes their
checkpoints, sample grids, `training.json` and `model.keras`, and resumes DCGAN from its
checkpoint; the saved models load back and draw images, and TensorFlow was never imported.
What needs TensorFlow (TensorBoard logs, tf.distribute) is refused with a message saying so.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
HIDE_TENSORFLOW = ROOT / "tests" / "without_tensorflow"

pytestmark = [
    pytest.mark.backend,  # `make test` runs it in its JAX session
    pytest.mark.skipif(keras.backend.backend() != "jax", reason="a JAX test: runs in the JAX session of `make test` (KERAS_BACKEND=jax)"),
]

TRAIN = textwrap.dedent("""
    import importlib.util, json, sys
    try:
        import tensorflow
        sys.exit("tensorflow imported: the test would prove nothing")
    except ImportError:
        pass
    from zoo.cli import main
    from zoo.saving import load_model
    out = sys.argv[1]
    common = ["--limit", "64", "--batch-size", "32", "--data-dir", sys.argv[2]]
    assert main(["train", "dcgan", "--log-dir", f"{out}/logs", "--out", f"{out}/refused", *common]) == 2  # TensorBoard needs TensorFlow
    assert main(["train", "dcgan", "--mirrored", "--out", f"{out}/refused", *common]) == 2  # tf.distribute too
    assert main(["train", "dcgan", "--epochs", "1", "--out", f"{out}/dcgan", *common]) == 0
    assert main(["train", "dcgan", "--epochs", "2", "--out", f"{out}/dcgan", *common]) == 0  # resumes from epoch 1
    assert main(["train", "cgan", "--epochs", "1", "--ema-decay", "0.999", "--out", f"{out}/cgan", *common]) == 0
    dcgan, cgan = load_model(f"{out}/dcgan/model.keras"), load_model(f"{out}/cgan/model.keras")
    images = {"dcgan": dcgan.generate(4, seed=0).tolist(), "cgan": cgan.generate(4, seed=0, labels=["dress", "bag", 0, 9]).tolist()}
    loaded = sorted(name for name in ("tensorflow", "tf2onnx", "tensorflow_datasets") if sys.modules.get(name) is not None)
    print(json.dumps({"images": images, "tensorflow_modules": loaded, "find_spec": str(importlib.util.find_spec("tensorflow"))}))
""")


def run_without_tensorflow(code, *args, cwd, timeout=600):
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join([str(HIDE_TENSORFLOW), str(ROOT)]),
        "JAX_COMPILATION_CACHE_DIR": str(Path(cwd) / "jax-cache"),  # the resumed run reuses the first one's compiled step
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def test_dcgan_and_cgan_train_resume_and_save_on_jax_without_tensorflow(tmp_path, fashion_dir):
    result = run_without_tensorflow(TRAIN, tmp_path, fashion_dir, cwd=tmp_path)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["tensorflow_modules"] == [] and report["find_spec"] == "None"
    for family in ("dcgan", "cgan"):
        images = np.array(report["images"][family])
        assert images.shape == (4, 28, 28, 1) and np.all(np.isfinite(images)) and np.all(np.abs(images) <= 1.0)
        assert images.std() > 0.01  # not a constant
        run = tmp_path / family
        assert (run / "model.keras").is_file() and sorted(p.name for p in (run / "samples").iterdir())[0] == "epoch_001.png"
    record = json.loads((tmp_path / "dcgan" / "training.json").read_text())
    assert [(s["status"], s["from_epoch"], s["to_epoch"]) for s in record["sessions"]] == [("finished", 0, 1), ("finished", 1, 2)]
    assert record["machine"]["backend"] == "jax" and "tensorflow" not in record["machine"]
    assert record["epochs"] == 2 and np.isfinite(record["final_logs"]["d_loss"])
    assert "Resuming from" in result.stdout and "epoch_0001.weights.h5" in result.stdout
    assert "--log-dir" in result.stderr and "need TensorFlow, and it is not installed" in result.stderr
    assert "--mirrored trains with tf.distribute, which needs the TensorFlow backend (this is jax)" in result.stderr
    assert not (tmp_path / "refused" / "checkpoints").exists()
    assert [p.name for p in (tmp_path / "dcgan" / "checkpoints").glob("*.h5")] == ["epoch_0002.weights.h5"]
