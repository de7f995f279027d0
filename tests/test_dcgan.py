"""DCGAN: build, train through fit, save and load, generate."""

import numpy as np
import pytest

from tests import harness
from zoo.models import DCGAN


def small_dcgan(**kwargs):
    return DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0, **kwargs)


def test_a_few_real_training_steps_move_weights_with_finite_losses(real_batches):
    gan = small_dcgan()
    gan.compile()
    history = harness.check_trains(gan, real_batches)
    assert set(history.history) == {"d_loss", "g_loss", "p_real", "p_fake"}
    assert 0.0 < history.history["p_real"][-1] < 1.0


def test_training_with_xla_matches_the_metrics_contract(real_batches):
    gan = small_dcgan()
    gan.compile(jit_compile=True)
    harness.check_trains(gan, real_batches, steps=2)


@pytest.mark.backend
def test_a_spectrally_normalised_discriminator_trains_with_the_hinge_loss(real_batches):
    gan = small_dcgan(spectral_norm=True)
    gan.compile(loss_fn="hinge")
    layer_types = {type(layer).__name__ for layer in gan.discriminator.layers}
    assert "SpectralNormalization" in layer_types and "BatchNormalization" not in layer_types
    assert any(type(layer).__name__ == "BatchNormalization" for layer in gan.generator.layers)  # the generator keeps BN
    harness.check_trains(gan, real_batches)
    # Each training call divides the kernel by its power-iteration estimate of σ(W) (TensorFlow
    # stores the divided kernel, JAX divides in the forward pass): after a few steps, the kernel
    # the layer computes with has a largest singular value close to 1.
    for layer in gan.discriminator.layers:
        if type(layer).__name__ == "SpectralNormalization":
            _, kernel = layer.normalized_weights()
            kernel = np.asarray(kernel)
            sigma = np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), ord=2)
            assert 0.8 < sigma < 1.25, (layer.name, sigma)
    harness.check_config_round_trip(gan)


def test_a_deeper_generator_adds_a_3x3_convolution_at_each_hidden_resolution(real_batches):
    gan = small_dcgan(g_depth=1)
    convolutions = [layer for layer in gan.generator.layers if type(layer).__name__ == "Conv2D"]
    assert [tuple(layer.kernel.shape) for layer in convolutions] == [(3, 3, 16, 16), (3, 3, 8, 8)]  # at 7×7, then 14×14
    assert gan.generator.count_params() > small_dcgan().generator.count_params()
    gan.compile()
    harness.check_trains(gan, real_batches, steps=2)
    assert harness.check_config_round_trip(gan).g_depth == 1


def test_config_round_trips():
    harness.check_config_round_trip(DCGAN(latent_dim=32, image_shape=(32, 32, 3), g_filters=16, d_filters=8, seed=3))


@pytest.mark.backend
def test_trained_model_saves_and_loads_as_keras_file(real_batches, tmp_path):
    gan = small_dcgan()
    gan.compile()
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    harness.check_save_load(gan, tmp_path / "dcgan.keras")


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 1), (32, 32, 3), (64, 64, 3)])
def test_generator_and_discriminator_fit_each_image_size(image_shape):
    gan = DCGAN(latent_dim=8, image_shape=image_shape, g_filters=4, d_filters=4)
    images = gan.generate(3, seed=0)
    assert images.shape == (3, *image_shape)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert gan.discriminator(images).shape == (3, 1)


def test_generate_is_deterministic_for_a_seed():
    gan = small_dcgan()
    np.testing.assert_array_equal(gan.generate(5, seed=7), gan.generate(5, seed=7))
    assert not np.array_equal(gan.generate(5, seed=7), gan.generate(5, seed=8))


@pytest.mark.inputs
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"latent_dim": 10**9}, "latent_dim"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"image_shape": (28, 28)}, "image_shape"),
        ({"image_shape": (30, 30, 1)}, "side"),
        ({"image_shape": (28, 32, 1)}, "square"),
        ({"g_filters": -1}, "g_filters"),
        ({"g_depth": -1}, "g_depth"),
    ],
)
def test_absurd_constructor_values_are_refused_with_the_argument_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DCGAN(**kwargs)


@pytest.mark.inputs
@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_generate_refuses_a_non_positive_count(n):
    with pytest.raises(ValueError, match="positive integer"):
        small_dcgan().generate(n)
