"""What the models share lives once, in BaseGAN: every model file holds only its networks."""

import inspect

import pytest

import zoo
from zoo.models import MODELS, BaseGAN

SHARED = ("train_step", "compile", "metrics", "minimize", "update_trackers", "gradient_penalty", "update_ema", "sample_z")
PLUMBING = ("GradientTape", "import tensorflow", ".apply(", "update_state(", "scale_loss", "tracker")


@pytest.mark.parametrize("family", sorted(MODELS))
def test_no_model_redefines_the_shared_training_plumbing(family):
    model_class = MODELS[family]
    assert issubclass(model_class, BaseGAN)
    assert not [name for name in SHARED if name in vars(model_class)]
    source = inspect.getsource(inspect.getmodule(model_class))
    assert not [word for word in PLUMBING if word in source]


def test_the_registry_and_the_package_name_the_same_classes():
    assert MODELS == {"gan": zoo.GAN, "dcgan": zoo.DCGAN, "cgan": zoo.ConditionalGAN}
    assert [MODELS[family].conditional for family in ("gan", "dcgan", "cgan")] == [False, False, True]


@pytest.mark.parametrize("family", sorted(MODELS))
def test_every_model_takes_the_shared_arguments(family):
    model = MODELS[family](latent_dim=8, seed=3, ema_decay=0.5)
    config = model.get_config()
    assert (config["latent_dim"], config["seed"], config["ema_decay"]) == (8, 3, 0.5)
    assert model.sampling_generator is model.ema_generator and model.ema_generator is not model.generator


@pytest.mark.parametrize("family", ["gan", "dcgan"])
def test_an_unconditional_model_refuses_labels_clearly(family):
    with pytest.raises(ValueError, match="not class-conditional"):
        MODELS[family](latent_dim=8).generate(2, labels="dress")
