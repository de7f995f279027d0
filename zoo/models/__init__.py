"""The zoo's GAN families, one file each, on the shared `BaseGAN`."""

from zoo.models.base import BaseGAN
from zoo.models.cgan import ConditionalGAN
from zoo.models.dcgan import DCGAN
from zoo.models.gan import GAN
from zoo.models.t2i import TextToImageGAN

MODELS = {model.family: model for model in (GAN, DCGAN, ConditionalGAN, TextToImageGAN)}


def get(family):
    """Returns the model class registered under `family` (e.g. "dcgan")."""
    if family not in MODELS:
        raise ValueError(f"Unknown model {family!r}; choose one of {sorted(MODELS)}.")
    return MODELS[family]
