"""ganzoo: a Keras model zoo of GANs whose generators ship as ONNX and SavedModel artifacts.

`zoo.DCGAN` and the other models need TensorFlow; `zoo.runtime` needs only onnxruntime and
numpy, so importing `zoo` itself loads neither until a model is asked for.
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
_SUBMODULES = ("registry", "runtime", "onnx_tuning", "layers")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
