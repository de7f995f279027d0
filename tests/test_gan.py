"""GAN (Goodfellow et al. 2014): MLP networks, Algorithm 1 with k steps, both generator losses."""

import numpy as np
import pytest

from tests import harness
from zoo.models import GAN


def small_gan(**kwargs):
    return GAN(latent_dim=16, g_units=(32, 64), d_units=(64, 32), seed=0, **kwargs)


@pytest.mark.backend
def test_a_few_real_training_steps_move_weights_with_finite_losses(real_batches):
    gan = small_gan()
    gan.compile()
    history = harness.check_trains(gan, real_batches)
    assert set(history.history) == {"d_loss", "g_loss", "p_real", "p_fake"}


@pytest.mark.backend
def test_a_spectrally_normalised_discriminator_trains(real_batches):
    gan = small_gan(spectral_norm=True)
    gan.compile(loss_fn="hinge")
    assert sum(type(layer).__name__ == "SpectralNormalization" for layer in gan.discriminator.layers) == 3  # 2 hidden + output
    harness.check_trains(gan, real_batches)
    assert harness.check_config_round_trip(gan).spectral_norm


@pytest.mark.backend
def test_k_discriminator_steps_per_generator_step(real_batches):
    gan = small_gan(d_steps=3)
    gan.compile()
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 2


@pytest.mark.backend
def test_minimax_and_non_saturating_generator_losses_are_both_selectable(real_batches):
    logs = {}
    for loss in ("minimax", "non_saturating"):
        gan = small_gan()
        gan.compile(loss_fn=loss)
        logs[loss] = harness.check_trains(gan, real_batches, steps=2).history["g_loss"][-1]
    assert logs["minimax"] < 0 < logs["non_saturating"]  # log(1 - D(G(z))) ≤ 0 ≤ -log D(G(z))


def test_training_with_xla(real_batches):
    gan = small_gan(d_steps=2)
    gan.compile(jit_compile=True)
    harness.check_trains(gan, real_batches, steps=2)


@pytest.mark.backend
def test_config_round_trips():
    clone = harness.check_config_round_trip(
        GAN(latent_dim=8, image_shape=(8, 8, 3), g_units=(16,), d_units=(16, 8), dropout=0.5, d_steps=2, ema_decay=0.99, seed=1)
    )
    assert clone.d_steps == 2 and clone.ema_decay == 0.99 and clone.generate(2, seed=0).shape == (2, 8, 8, 3)


@pytest.mark.backend
@pytest.mark.parametrize("decay", [0.1, 0.5])  # below and above the first step's warm-up bound 2/11
def test_moving_average_of_the_generator_is_used_and_saved(real_batches, tmp_path, decay):
    gan = small_gan(ema_decay=decay)
    gan.compile()
    harness.check_ema(gan, real_batches, decay=decay)
    loaded = harness.check_save_load(gan, tmp_path / "gan.keras")  # compares export_call: the average
    for saved, restored in zip(gan.ema_generator.weights, loaded.ema_generator.weights):
        np.testing.assert_array_equal(np.array(saved), np.array(restored))


def test_trained_model_saves_loads_and_exports_with_parity_at_any_batch(real_batches, tmp_path):
    gan = small_gan()
    gan.compile()
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    harness.check_save_load(gan, tmp_path / "gan.keras")
    card = harness.check_export(gan, tmp_path / "artifact")
    assert card["family"] == "gan" and "Goodfellow" in card["paper"]
    assert "classes" not in card and list(card["inputs"]) == ["z"]


def test_export_of_a_model_with_moving_average_matches_the_average(real_batches, tmp_path):
    gan = small_gan(ema_decay=0.9)
    gan.compile()
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    card = harness.check_export(gan, tmp_path / "artifact", batch_sizes=(1, 5))  # parity with export_call
    assert "moving average" in card["weights"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"g_units": []}, "g_units"),
        ({"d_units": (64, 0)}, r"d_units\[1\]"),
        ({"dropout": 1.0}, "dropout"),
        ({"d_steps": 0}, "d_steps"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"latent_dim": -1}, "latent_dim"),
    ],
)
def test_bad_constructor_values_are_refused_with_the_argument_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GAN(**kwargs)


def test_networks_too_large_for_memory_are_refused_before_any_layer_is_built():
    import time

    from zoo.models.gan import dense_parameters

    gan = GAN()
    assert gan.generator.count_params() + gan.discriminator.count_params() == dense_parameters([100, 256, 512, 1024, 784]) + dense_parameters([784, 1024, 512, 256, 1])
    started = time.monotonic()
    with pytest.raises(ValueError, match="A GAN of 1024×1024×3 images with g_units \\[65536\\] and d_units \\[1024, 512, 256\\] \\(209,[0-9,]+ "
                                         "weights\\) would need about .* TiB of memory to train .*; .* is available. Choose smaller images"):
        GAN(image_shape=(1024, 1024, 3), g_units=(65536,))
    assert time.monotonic() - started < 5
