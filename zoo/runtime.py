"""Runs exported generators with onnxruntime alone: no TensorFlow, no Keras.

```python
from zoo import runtime
generator = runtime.load("exports/dcgan-fashion-mnist")
images = generator.generate(16, seed=0)  # (16, 28, 28, 1) float32 in [-1, 1]
```

CUDA is used when onnxruntime offers it and it starts; the CPU otherwise.
"""

import ctypes.util
import json
from pathlib import Path

import numpy as np
import onnxruntime

from zoo.latent import check_count, sample_latent

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def available_providers():
    """The providers of `PREFERRED_PROVIDERS` this onnxruntime build offers, best first.

    CUDA is offered only where an NVIDIA driver is installed: onnxruntime-gpu lists it on any
    machine, and asking for it without a GPU only logs a failure before falling back to CPU.
    """
    offered = set(onnxruntime.get_available_providers())
    if not (ctypes.util.find_library("cuda") or ctypes.util.find_library("nvcuda")):
        offered.discard("CUDAExecutionProvider")
    return [provider for provider in PREFERRED_PROVIDERS if provider in offered]


class Generator:
    """An exported generator (`generator.onnx` with its `card.json`) in an onnxruntime session.

    Args:
        path: the artifact folder, or a `generator.onnx` file.
        providers: onnxruntime execution providers; default: CUDA when available, then CPU.
        session_options: an `onnxruntime.SessionOptions`, or None for onnxruntime's defaults.
    """

    def __init__(self, path, providers=None, session_options=None):
        path = Path(path)
        onnx_path = path / "generator.onnx" if path.is_dir() else path
        if not onnx_path.is_file():
            raise FileNotFoundError(f"No exported generator at {onnx_path} (expected an artifact folder or a .onnx file).")
        card_path = onnx_path.with_name("card.json")
        self.card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        try:
            self.session = onnxruntime.InferenceSession(
                str(onnx_path), sess_options=session_options, providers=list(providers or available_providers())
            )
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise ValueError(f"{onnx_path} is not a loadable ONNX generator: {error}") from error
        self.inputs = {value.name: value for value in self.session.get_inputs()}
        if "z" not in self.inputs:
            raise ValueError(f"{onnx_path} has no input named 'z' (inputs: {sorted(self.inputs)}).")
        self.latent_dim = int(self.inputs["z"].shape[1])
        self.image_shape = tuple(int(d) for d in self.session.get_outputs()[0].shape[1:])

    @property
    def providers(self):
        """The execution providers the session really runs on."""
        return self.session.get_providers()

    def __call__(self, z, **conditions):
        """Runs the generator on a batch of noise `z` (n, latent_dim); returns images (n, H, W, C)."""
        z = np.asarray(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"`z` must have shape (n, {self.latent_dim}), got {z.shape}.")
        if z.shape[0] == 0:
            raise ValueError("`z` holds no rows: ask for at least one image.")
        if not np.all(np.isfinite(z)):
            raise ValueError("`z` holds NaN or infinite values.")
        feeds = {"z": z.astype(np.float32, copy=False), **conditions}
        missing = set(self.inputs) - set(feeds)
        if missing:
            raise ValueError(f"This generator also needs the inputs {sorted(missing)}.")
        return self.session.run(["image"], feeds)[0]

    def generate(self, n, seed=None, batch_size=256):
        """Returns `n` images from noise drawn with `seed`, run in batches of `batch_size`.

        The noise is `zoo.latent.sample_latent`, the same the Keras models draw, so the same
        seed gives the same images as `model.generate(n, seed=seed)`.
        """
        z = sample_latent(check_count(n), self.latent_dim, seed)
        batch_size = check_count(batch_size, "batch_size")
        return np.concatenate([self(z[start : start + batch_size]) for start in range(0, len(z), batch_size)])


def load(path, **kwargs):
    """Opens an exported generator; see `Generator`."""
    return Generator(path, **kwargs)
