"""Adversarial losses, selectable by name in `compile(loss_fn=...)`.

Every loss here works on the discriminator's raw scores (logits, or a critic's scores) and
returns a scalar. A loss is a pair: what the discriminator minimises and what the generator
minimises. A loss may also ask the training loop for more (`n_critic` discriminator steps per
generator step, a gradient penalty) and name the optimizer settings of its paper.

| name | paper | discriminator | generator |
| --- | --- | --- | --- |
| `non_saturating` | Goodfellow et al. 2014, §3 | binary cross-entropy | maximise log D(G(z)) |
| `minimax` | Goodfellow et al. 2014, eq. 1 | binary cross-entropy | minimise log(1 − D(G(z))) |
| `least_squares` | Mao et al. 2017, eq. 2 | (D(x) − 1)² + D(G(z))² | (D(G(z)) − 1)² |
| `hinge` | Lim & Ye 2017; Miyato et al. 2018 | max(0, 1 − D(x)) + max(0, 1 + D(G(z))) | −D(G(z)) |
| `wgan_gp` | Gulrajani et al. 2017, eq. 3 | D(G(z)) − D(x) + λ·(‖∇D(x̂)‖ − 1)² | −D(G(z)) |
"""

import keras
from keras import ops

from zoo.validation import check_int, check_number


class GANLoss:
    """Base of the adversarial losses: `discriminator_loss` and `generator_loss` on logits.

    Args:
        label_smoothing: one-sided label smoothing (Salimans et al. 2016, §3.4): the
            discriminator's target for real images is `1 - label_smoothing`, for generated
            ones it stays 0. Only for losses with targets (cross-entropy, least squares).
    """

    name = None
    smoothable = True  # whether the loss has a real target that label smoothing can lower
    n_critic = None  # discriminator steps per generator step this loss asks for; None: the model's
    gradient_penalty_weight = 0.0  # λ of a gradient penalty on the discriminator; 0: none
    optimizer_defaults = {"learning_rate": 2e-4, "beta_1": 0.5}  # Adam, Radford et al. 2015 §3

    def __init__(self, label_smoothing=0.0):
        label_smoothing = check_number("label_smoothing", label_smoothing, 0, 1, high_open=True)
        if label_smoothing and not self.smoothable:
            raise ValueError(
                f"`label_smoothing` does not apply to the {self.name!r} loss (it has no real target); "
                f"use it with one of {sorted(k for k, v in LOSSES.items() if v.smoothable)}."
            )
        self.label_smoothing = label_smoothing

    @property
    def real_target(self):
        return 1.0 - self.label_smoothing

    def default_optimizer(self):
        """A new Adam with the settings of this loss's paper (`optimizer_defaults`)."""
        return keras.optimizers.Adam(**self.optimizer_defaults)

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        raise NotImplementedError

    def get_config(self):
        return {"label_smoothing": self.label_smoothing}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _float(x):
    return ops.cast(x, "float32")


class NonSaturatingLoss(GANLoss):
    """Goodfellow et al. 2014, section 3: the generator maximises log D(G(z)).

    The discriminator minimises binary cross-entropy (the negated value function of eq. 1).
    The generator's loss −log D(G(z)) gives strong gradients early in training, when D rejects
    the samples with confidence and log(1 − D(G(z))) saturates.
    """

    name = "non_saturating"

    def discriminator_loss(self, real_logits, fake_logits):
        # BCE(x, y) on logits: y·softplus(-x) + (1 - y)·softplus(x).
        real_logits, fake_logits = _float(real_logits), _float(fake_logits)
        real_loss = self.real_target * ops.softplus(-real_logits) + (1.0 - self.real_target) * ops.softplus(real_logits)
        return ops.mean(real_loss) + ops.mean(ops.softplus(fake_logits))

    def generator_loss(self, fake_logits):
        return ops.mean(ops.softplus(-_float(fake_logits)))  # -log sigmoid(x)


class MinimaxLoss(NonSaturatingLoss):
    """Goodfellow et al. 2014, equation 1: the generator minimises log(1 − D(G(z)))."""

    name = "minimax"

    def generator_loss(self, fake_logits):
        return -ops.mean(ops.softplus(_float(fake_logits)))  # log(1 - sigmoid(x)) = -softplus(x)


class LeastSquaresLoss(GANLoss):
    """LSGAN, Mao et al. 2017, equation 2 with the 0-1 coding a = 0, b = c = 1.

    D minimises ½(D(x) − b)² + ½(D(G(z)) − a)², G minimises ½(D(G(z)) − c)², on the
    discriminator's raw output; label smoothing lowers b.
    """

    name = "least_squares"

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * ops.mean(ops.square(_float(real_logits) - self.real_target)) + 0.5 * ops.mean(ops.square(_float(fake_logits)))

    def generator_loss(self, fake_logits):
        return 0.5 * ops.mean(ops.square(_float(fake_logits) - 1.0))


class HingeLoss(GANLoss):
    """Hinge loss: Lim & Ye 2017 (Geometric GAN), as used by Miyato et al. 2018.

    D minimises E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]; G minimises −E[D(G(z))].
    """

    name = "hinge"
    smoothable = False

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - _float(real_logits))) + ops.mean(ops.relu(1.0 + _float(fake_logits)))

    def generator_loss(self, fake_logits):
        return -ops.mean(_float(fake_logits))


class WassersteinGPLoss(GANLoss):
    """WGAN-GP, Gulrajani et al. 2017, equation 3 and Algorithm 1.

    The critic minimises E[D(G(z))] − E[D(x)] + λ·E[(‖∇D(x̂)‖₂ − 1)²], x̂ drawn uniformly on
    lines between real and generated images (the penalty term is added by the model, which
    can differentiate its critic); the generator minimises −E[D(G(z))]. The critic takes
    `n_critic` steps per generator step. The paper trains with Adam(1e-4, β1 = 0, β2 = 0.9),
    used by `compile` when no optimizer is given.

    Args:
        n_critic: critic steps per generator step (paper: 5).
        gradient_penalty_weight: λ (paper: 10).
    """

    name = "wgan_gp"
    smoothable = False
    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}

    def __init__(self, n_critic=5, gradient_penalty_weight=10.0, label_smoothing=0.0):
        super().__init__(label_smoothing)
        self.n_critic = check_int("n_critic", n_critic, 1, 100)
        self.gradient_penalty_weight = check_number("gradient_penalty_weight", gradient_penalty_weight, 0, 1e6, low_open=True, high_open=True)

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(_float(fake_logits)) - ops.mean(_float(real_logits))

    def generator_loss(self, fake_logits):
        return -ops.mean(_float(fake_logits))

    def get_config(self):
        return {"n_critic": self.n_critic, "gradient_penalty_weight": self.gradient_penalty_weight}


LOSSES = {loss.name: loss for loss in (NonSaturatingLoss, MinimaxLoss, LeastSquaresLoss, HingeLoss, WassersteinGPLoss)}


def get(identifier, **options):
    """Returns a `GANLoss` from a name in `LOSSES` (built with `options`) or a `GANLoss` instance."""
    if isinstance(identifier, GANLoss):
        if options:
            raise ValueError(f"Options {sorted(options)} apply to a loss given by name, not to {identifier!r}.")
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier](**options)
    raise ValueError(f"Unknown GAN loss {identifier!r}; choose one of {sorted(LOSSES)} or pass a GANLoss.")
