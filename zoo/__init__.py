"""ganzoo: a Keras model zoo of GANs whose generators ship as ONNX and SavedModel artifacts.

`zoo.DCGAN` and the other models need Keras (and TensorFlow for export); `zoo.runtime`,
`zoo.registry` and `zoo.latent` need only onnxruntime and numpy. Importing `zoo` loads none of
them: a submodule is imported when first used (`zoo.callbacks.FIDMonitor(...)` works as written).
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "GAN": "zoo.models.gan",
    "DCGAN": "zoo.models.dcgan",
    "ConditionalGAN": "zoo.models.cgan",
    "BaseGAN": "zoo.models.base",
    "list_models": "zoo.registry",
    "load_generator": "zoo.registry",
}
_SUBMODULES = ("callbacks", "data", "export", "image_folder", "latent", "layers", "metrics", "models", "onnx_tuning", "registry", "runtime")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
