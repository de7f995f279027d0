"""The adversarial losses: their formulas, their options, and a short real training of every model with each."""

import keras
import numpy as np
import pytest

from tests import harness
from zoo import losses
from zoo.models import MODELS, GAN

REAL = np.array([[2.0], [-1.0], [0.5]], np.float32)
FAKE = np.array([[-3.0], [0.2], [1.5]], np.float32)


def log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def value(loss):
    return float(keras.ops.convert_to_numpy(loss))


EXPECTED = {  # (discriminator loss, generator loss) on REAL, FAKE, written from the papers' formulas
    "non_saturating": (-np.mean(log_sigmoid(REAL)) - np.mean(np.log(1 - 1 / (1 + np.exp(-FAKE)))), -np.mean(log_sigmoid(FAKE))),
    "minimax": (-np.mean(log_sigmoid(REAL)) - np.mean(np.log(1 - 1 / (1 + np.exp(-FAKE)))), np.mean(np.log(1 - 1 / (1 + np.exp(-FAKE))))),
    "least_squares": (0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE**2), 0.5 * np.mean((FAKE - 1) ** 2)),
    "hinge": (np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)), -np.mean(FAKE)),
    "wgan_gp": (np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
}


@pytest.mark.backend
@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_each_loss_computes_its_papers_formula(name):
    loss = losses.get(name)
    assert loss.name == name
    d_expected, g_expected = EXPECTED[name]
    assert value(loss.discriminator_loss(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-5)
    assert value(loss.generator_loss(FAKE)) == pytest.approx(g_expected, rel=1e-5)


@pytest.mark.backend
def test_one_sided_label_smoothing_lowers_only_the_real_target():
    smoothed = losses.get("non_saturating", label_smoothing=0.1)
    target = 0.9
    expected_real = -np.mean(target * log_sigmoid(REAL) + (1 - target) * log_sigmoid(-REAL))
    expected_fake = -np.mean(log_sigmoid(-FAKE))  # fake target stays 0
    assert value(smoothed.discriminator_loss(REAL, FAKE)) == pytest.approx(expected_real + expected_fake, rel=1e-5)
    assert value(smoothed.generator_loss(FAKE)) == pytest.approx(EXPECTED["non_saturating"][1], rel=1e-5)
    least_squares = losses.get("least_squares", label_smoothing=0.2)
    assert value(least_squares.discriminator_loss(REAL, FAKE)) == pytest.approx(0.5 * np.mean((REAL - 0.8) ** 2) + 0.5 * np.mean(FAKE**2), rel=1e-5)


@pytest.mark.backend
def test_the_non_saturating_loss_gives_the_generator_gradient_where_minimax_saturates():
    """Goodfellow et al. 2014, section 3: early on D rejects samples confidently and log(1 − D) flattens."""
    confident_rejection, step = np.array([[-8.0]], np.float32), 1e-2

    def slope(loss):
        return (value(loss.generator_loss(confident_rejection + step)) - value(loss.generator_loss(confident_rejection))) / step

    assert abs(slope(losses.get("minimax"))) < 1e-3
    assert abs(slope(losses.get("non_saturating"))) > 0.9


@pytest.mark.backend
@pytest.mark.parametrize(
    "identifier, options, message",
    [
        ("wasserstein", {}, r"Unknown GAN loss 'wasserstein'; choose one of \['hinge', 'least_squares', 'minimax', 'non_saturating', 'wgan_gp'\]"),
        ("hinge", {"label_smoothing": 0.1}, r"does not apply to the 'hinge' loss"),
        ("wgan_gp", {"label_smoothing": 0.1}, r"does not apply to the 'wgan_gp' loss"),
        ("non_saturating", {"label_smoothing": 1.0}, r"label_smoothing.*\[0, 1\)"),
        ("wgan_gp", {"n_critic": 0}, "n_critic"),
        ("wgan_gp", {"gradient_penalty_weight": -1}, "gradient_penalty_weight"),
        (losses.HingeLoss(), {"label_smoothing": 0.1}, "given by name"),
    ],
)
def test_bad_loss_choices_are_refused_with_the_problem_named(identifier, options, message):
    with pytest.raises(ValueError, match=message):
        losses.get(identifier, **options)


@pytest.mark.backend
def test_compile_picks_the_loss_by_name_with_its_options_and_its_papers_optimizer():
    gan = GAN(latent_dim=8, g_units=(8,), d_units=(8,))
    gan.compile(loss_fn="least_squares", label_smoothing=0.1)
    assert isinstance(gan.loss_fn, losses.LeastSquaresLoss) and gan.loss_fn.label_smoothing == 0.1
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4) and float(gan.d_optimizer.beta_1) == pytest.approx(0.5)
    gan.compile(loss_fn="wgan_gp")
    assert gan.discriminator_steps == 5 and gan.loss_fn.gradient_penalty_weight == 10.0
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4) and float(gan.g_optimizer.beta_1) == 0.0
    assert float(gan.g_optimizer.beta_2) == pytest.approx(0.9)


def small_model(family):
    return {
        "gan": lambda: MODELS["gan"](latent_dim=8, g_units=(32,), d_units=(32,), seed=0),
        "dcgan": lambda: MODELS["dcgan"](latent_dim=8, g_filters=4, d_filters=4, seed=0),
        "cgan": lambda: MODELS["cgan"](latent_dim=8, g_filters=4, d_filters=4, embedding_dim=4, seed=0),
    }[family]()


# Under JAX (`backend`) the WGAN-GP cells run again, for their gradient of a gradient; the other
# losses are the same backend-neutral ops, whose formulas the tests above check on each backend.
MODEL_LOSS_PAIRS = [
    pytest.param(family, loss_name, marks=[pytest.mark.backend] if loss_name == "wgan_gp" else [])
    for family in sorted(MODELS)
    if family != "t2i"  # captioned batches: tests/test_t2i.py trains it with each loss it takes and refuses wgan_gp
    for loss_name in sorted(losses.LOSSES)
]


@pytest.mark.parametrize("family, loss_name", MODEL_LOSS_PAIRS)
def test_every_model_trains_on_real_images_with_every_loss(family, loss_name, real_batches, labelled_batches):
    model = small_model(family)
    # WGAN-GP with 2 critic steps keeps the traced step small; the default of 5 is checked below.
    loss = losses.WassersteinGPLoss(n_critic=2) if loss_name == "wgan_gp" else losses.get(loss_name)
    model.compile(loss_fn=loss)
    harness.check_trains(model, labelled_batches if model.conditional else real_batches, steps=2)
    assert int(model.d_optimizer.iterations) == 2 * model.discriminator_steps


@pytest.mark.backend
def test_wgan_gp_takes_n_critic_steps_per_generator_step_and_saves_its_options(real_batches, tmp_path):
    gan = GAN(latent_dim=8, g_units=(16,), d_units=(16,), d_steps=2, seed=0)
    gan.compile(loss_fn="wgan_gp")  # n_critic 5 replaces d_steps
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 10 and int(gan.g_optimizer.iterations) == 2
    gan.save(tmp_path / "wgan.keras")
    loaded = keras.models.load_model(tmp_path / "wgan.keras", safe_mode=True)
    assert isinstance(loaded.loss_fn, losses.WassersteinGPLoss) and loaded.loss_fn.n_critic == 5


@pytest.mark.backend
def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_less_one_squared(real_batches):
    """For D(x) = w·x the gradient is w everywhere, so the penalty is (‖w‖ − 1)² exactly."""
    gan = GAN(latent_dim=8, g_units=(8,), d_units=(8,), seed=0)
    gan.discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    gan.discriminator.layers[-1].kernel.assign(np.full((784, 1), 0.1, np.float32))  # ‖w‖ = 0.1·28 = 2.8
    real = next(iter(real_batches))
    fake = gan.generate(32, seed=0)
    assert value(gan.gradient_penalty(real, fake)) == pytest.approx((2.8 - 1.0) ** 2, rel=1e-4)
