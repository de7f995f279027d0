"""Adversarial losses, selectable by name in `compile(loss_fn=...)`.

Every loss here works on the discriminator's raw scores (logits) and returns a scalar. A
loss is a pair: what the discriminator minimises and what the generator minimises.
"""

from keras import ops


class GANLoss:
    """Base of the adversarial losses: `discriminator_loss` and `generator_loss` on logits."""

    name = None

    def __init__(self, label_smoothing=0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = label_smoothing

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        raise NotImplementedError

    def get_config(self):
        return {"label_smoothing": self.label_smoothing}

    def __repr__(self):
        return f"{type(self).__name__}(label_smoothing={self.label_smoothing})"


def _softplus(x):
    return ops.softplus(ops.cast(x, "float32"))


class NonSaturatingLoss(GANLoss):
    """Goodfellow et al. 2014, section 3: the generator maximises log D(G(z)).

    The discriminator minimises binary cross-entropy, with one-sided label smoothing
    (Salimans et al. 2016) of its real targets when `label_smoothing > 0`.
    """

    name = "non_saturating"

    def discriminator_loss(self, real_logits, fake_logits):
        # BCE(x, y) on logits: y·softplus(-x) + (1 - y)·softplus(x).
        real_target = 1.0 - self.label_smoothing
        real_loss = real_target * _softplus(-real_logits) + (1.0 - real_target) * _softplus(real_logits)
        return ops.mean(real_loss) + ops.mean(_softplus(fake_logits))

    def generator_loss(self, fake_logits):
        return ops.mean(_softplus(-fake_logits))


class MinimaxLoss(NonSaturatingLoss):
    """Goodfellow et al. 2014, equation 1: the generator minimises log(1 - D(G(z)))."""

    name = "minimax"

    def generator_loss(self, fake_logits):
        # log(1 - sigmoid(x)) = -softplus(x)
        return -ops.mean(_softplus(fake_logits))


LOSSES = {loss.name: loss for loss in (NonSaturatingLoss, MinimaxLoss)}


def get(identifier):
    """Returns a `GANLoss` from a name in `LOSSES` or a `GANLoss` instance."""
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]()
    raise ValueError(f"Unknown GAN loss {identifier!r}; choose one of {sorted(LOSSES)} or pass a GANLoss.")
