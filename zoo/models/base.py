"""What every GAN in the zoo shares.

A GAN here is a `keras.Model` holding two networks, `generator` and `discriminator`, each with
its own optimizer. Subclasses build the networks (and say what differs: a conditional model
feeds labels to both); this base holds the rest once: the training step (Goodfellow et al.
2014, Algorithm 1, with any loss of `zoo.losses`), the `compile` signature, the metric trackers
shown in the progress bar, the moving average of the generator, `generate`, `get_config`,
saving of both optimizers, and the hooks that `zoo.export` uses to write the generator out.
How each backend takes a gradient step is `zoo.models.backend`'s business, not this file's.
"""

import inspect
import itertools
import types

import keras
import numpy as np
from keras import ops

from zoo import losses
from zoo.batches import ArrayBatches
from zoo.labels import check_ids
from zoo.latent import latent_input, sample_latent
from zoo.models import backend
from zoo.validation import check_image_shape, check_int, check_number

UPDATES = ("alternating", "reuse", "simultaneous")  # see `BaseGAN.compile`
ONE_STEP_UPDATES = ("reuse", "simultaneous")  # the updates that take k = 1 discriminator step only


def discriminator_steps_of(loss_fn, d_steps):
    """Discriminator steps per generator step (k of Algorithm 1): the loss's `n_critic` if it
    has one (WGAN-GP's 5), else the model's `d_steps`."""
    return loss_fn.n_critic or d_steps


def loss_scaled(optimizer, network):
    """`optimizer`, wrapped in Keras's `LossScaleOptimizer` when `network` computes in float16
    (the `mixed_float16` policy), whose small gradients would otherwise underflow; `minimize`
    scales each loss and the wrapper unscales the gradients and skips steps that overflow."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if not any(layer.dtype_policy.compute_dtype == "float16" for layer in network._flatten_layers(include_self=True, recursive=True)):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)

def check_own_optimizers(pairs):
    """Raises ValueError unless each network of `pairs` ({argument name: (optimizer, network)})
    has an optimizer of its own. A Keras optimizer keeps state per variable (Adam's moments) and
    steps only the variables it was built for, so one object given for both networks, or one
    already built for another model's variables, would fail at the first step ("Unknown
    variable"). An optimizer built for this very network (compiling again) is welcome."""
    (first, (one, _)), (second, (other, _)) = pairs.items()
    if getattr(one, "inner_optimizer", one) is getattr(other, "inner_optimizer", other):
        raise ValueError(
            f"{first} and {second} are the same {type(one).__name__} object; each network needs an optimizer of its own "
            f"(its state, e.g. Adam's moments, belongs to one network's variables): pass two, e.g. {second}="
            f"keras.optimizers.{type(one).__name__}.from_config({first}.get_config())."
        )
    for name, (optimizer, network) in pairs.items():
        if not optimizer.built:
            continue
        known = {id(variable) for variable in optimizer._trainable_variables}
        if any(id(variable) not in known for variable in network.trainable_variables):
            raise ValueError(
                f"{name} ({type(optimizer).__name__}) was already built for other variables than the {network.name}'s "
                f"(another model's, or the other network's), and can step only those: pass a new one, e.g. "
                f"keras.optimizers.{type(optimizer).__name__}.from_config({name}.get_config())."
            )


MAX_LATENT_DIM = 65_536  # larger is a typo, not a model: refused before anything is allocated

# Keras scores a model by its loss on held-out (x, y); a GAN has no such loss (its two losses
# measure each network against the other, not against data), so it is scored by its samples.
NOT_SCORED_BY_KERAS = (
    "a GAN has no loss to score held-out data with (its two losses measure each network against the other): "
    "score the generator's samples with zoo.metrics.evaluate or `python -m zoo eval`"
)


def refuse_keras_only_options(options):
    """Raises ValueError naming the options of `fit` (bound by name in `options`) that a GAN
    cannot honour: validation data, which Keras would score by calling the model as a
    classifier, and per-image or per-class weights, which no GAN loss here takes (Keras would
    ignore the one and fail on the other)."""
    if options.get("validation_data") is not None or options.get("validation_split"):
        raise ValueError(f"fit takes no validation_data or validation_split: {NOT_SCORED_BY_KERAS}.")
    weights = [name for name in ("sample_weight", "class_weight") if options.get(name) is not None]
    if weights:
        raise ValueError(
            f"A GAN's losses weigh every image alike: it takes no {' or '.join(weights)} (to see some images or classes more "
            "often, sample them more often in the dataset)."
        )


class BaseGAN(keras.Model):
    """Base of the zoo's GANs: two networks, two optimizers, one adversarial loss.

    Subclasses build the networks and hand them to `set_networks`; the training step below
    (Goodfellow et al. 2014, Algorithm 1) then serves every model. A class-conditional model
    sets `conditional = True`: it trains on `(images, labels)` batches and both networks take
    `[x, labels]` (Mirza & Osindero 2014, equation 2).

    Args:
        latent_dim: size of the noise vector `z` fed to the generator.
        image_shape: `(height, width, channels)` of the images, values in [-1, 1].
        seed: seed of the noise drawn during training, for repeatable runs.
        ema_decay: when set (e.g. 0.999), `ema_generator` keeps an exponential moving average
            of the generator's weights, updated after every generator step, and is the one
            `generate` and the export use (Karras et al. 2018; Yazıcı et al. 2019).
    """

    family = None  # short name used by the CLI and in card.json
    paper = None  # citation of the method, written to card.json
    conditional = False  # trains on (images, labels) and feeds labels to both networks
    d_steps = 1  # k of Algorithm 1: discriminator steps per generator step (a loss's n_critic overrides it)
    updates = UPDATES  # the `update`s of `compile` this model's objectives honour
    takes_gradient_penalty = True  # whether its discriminator objective honours a loss's gradient penalty (WGAN-GP)
    reported = ()  # more "p_<name>" beliefs `discriminator_objective` reports beside p_real and p_fake
    # `fit` takes a float first batch of 16 or more images with no pixel below 0 for images scaled to
    # [0, 1] and refuses it (`check_training_data`); set True on a model whose [-1, 1] images are
    # really all lighter than mid-grey.
    allow_nonnegative_images = False

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), seed=None, ema_decay=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_int("latent_dim", latent_dim, 1, MAX_LATENT_DIM)
        self.image_shape = check_image_shape(image_shape)
        self.ema_decay = None if ema_decay is None else check_number("ema_decay", ema_decay, 0, 1, low_open=True, high_open=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keras saves a layer's own variables but not its seed generators' state; tracking it
        # here puts it in every checkpoint, so a resumed run draws the noise it would have drawn.
        self._track_variable(self.seed_generator.state)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.p_real_tracker = keras.metrics.Mean(name="p_real")
        self.p_fake_tracker = keras.metrics.Mean(name="p_fake")
        self.reported_trackers = {name: keras.metrics.Mean(name=f"p_{name}") for name in self.reported}

    def set_networks(self, generator, discriminator):
        """Installs the two networks (and the generator's moving average when `ema_decay` is set)."""
        self.generator = generator
        self.discriminator = discriminator
        if self.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.built = True

    @property
    def sampling_generator(self):
        """The network that `generate` and the export run: the moving average when there is one."""
        ema_generator = getattr(self, "ema_generator", None)
        return self.generator if ema_generator is None else ema_generator

    def sampling_networks(self):
        """The networks that `export_call` runs, by name: what an export must carry to be reloaded
        into Keras (the discriminator is not among them)."""
        return {"generator": self.sampling_generator}

    # ----- training -------------------------------------------------------------------

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after a look at the first batch of `x` (`check_training_data`):
        images of the wrong shape, channels or value range are refused before any step trains on them.

        A Python generator may yield batches in any form `split_batch` reads (images alone too,
        which Keras's own `fit` refuses); its first batch is looked at as an array's would be.
        A tuple `x` is read as `(images, labels)` (or `(images,)`), as a dataset's batches are,
        not as Keras's several inputs: `fit((images, labels))` is `fit(images, labels)`. The zoo's
        `ArrayBatches` (`zoo.data`'s batches on JAX) come in their own order, as a `tf.data.Dataset`
        does: Keras reorders them only when `shuffle=True` is passed. A `keras.utils.PyDataset` of
        unknown length (`num_batches` None) needs `steps_per_epoch` (`check_epoch_end`), and a batch
        at the last index that many steps of every epoch read (`check_stream_reaches`).
        """
        options = inspect.signature(keras.Model.fit).bind_partial(self, x, y, *args, **kwargs).arguments
        refuse_keras_only_options(options)
        x, y = images_and_labels(x, y)
        check_epoch_end(x, options.get("steps_per_epoch"))
        if isinstance(x, types.GeneratorType):
            first, x = peek_generator(x)
            check_training_data(self, first)
        else:
            check_training_data(self, x, y)
        check_stream_reaches(x, options.get("steps_per_epoch"), options.get("epochs", 1) - options.get("initial_epoch", 0))
        backend.check_even_split(self, lambda: batch_sizes(x, options.get("batch_size")))
        if isinstance(x, ArrayBatches) and len(args) < 7:  # `shuffle` not given by position
            kwargs.setdefault("shuffle", False)  # they shuffle themselves, by their seed, as a tf.data.Dataset does: Keras would reorder them by Python's
        return super().fit(x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """`keras.Model.train_on_batch`, with `fit`'s checks (`check_training_data`) on the first
        batch it is given: 0..255 pixels or class ids out of range are refused, not trained on
        (or met as a raw backend error). Later batches are not looked at, so a training loop
        pays for the check once (as `fit` looks at its first batch only)."""
        refuse_keras_only_options({"sample_weight": sample_weight, "class_weight": class_weight})
        x, y = images_and_labels(x, y)
        if not getattr(self, "_checked_a_batch", False):
            check_training_data(self, x, y)
            self._checked_a_batch = True
        return super().train_on_batch(x, y, sample_weight=sample_weight, class_weight=class_weight, return_dict=return_dict)

    def evaluate(self, *args, **kwargs):
        """Refused: see `NOT_SCORED_BY_KERAS` (Keras would call the generator on the images as if it were a classifier)."""
        raise ValueError(f"{type(self).__name__}.evaluate is not supported: {NOT_SCORED_BY_KERAS}.")

    def test_on_batch(self, *args, **kwargs):
        """Refused, as `evaluate`."""
        raise ValueError(f"{type(self).__name__}.test_on_batch is not supported: {NOT_SCORED_BY_KERAS}.")

    def test_step(self, *args):
        """Refused, as `evaluate`, should any other path of Keras reach it."""
        raise ValueError(f"{type(self).__name__} has no test step: {NOT_SCORED_BY_KERAS}.")

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn="non_saturating", label_smoothing=None, update="alternating", **kwargs):
        """Configures training.

        Args:
            d_optimizer: optimizer of the discriminator; default: the loss's paper's Adam,
                Adam(2e-4, beta_1=0.5) of Radford et al. 2015 for all but WGAN-GP.
            g_optimizer: optimizer of the generator; same default.
            loss_fn: a name from `zoo.losses.LOSSES` ("non_saturating", "minimax",
                "least_squares", "hinge", "wgan_gp") or a `zoo.losses.GANLoss`, e.g.
                `losses.WassersteinGPLoss(n_critic=5, gradient_penalty_weight=10)`.
            label_smoothing: one-sided label smoothing of the real target (e.g. 0.1), for a
                loss given by name.
            update: "alternating" (Algorithm 1: the discriminator steps, then the generator
                steps against the updated discriminator on fresh noise), "reuse" (the same,
                but the generator steps on the samples the discriminator step just scored, as
                PyTorch's DCGAN example: one generator pass fewer per step, k = 1 only) or
                "simultaneous" (both gradients at the same weights, from one batch of samples,
                as TensorFlow's DCGAN tutorial: one generator pass fewer, k = 1 only).
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`);
                not `optimizer`, which would train neither network.
        """
        if "optimizer" in kwargs:
            raise ValueError(f"{type(self).__name__}.compile takes d_optimizer and g_optimizer, one per network, not `optimizer`.")
        # No optimizer of Keras's own: its default, an RMSprop, would step nothing yet be saved
        # with the model, logged to TensorBoard as the learning rate, and warned about when a
        # model saved on JAX (where `model.optimizer` is `backend.OptimizerPair`) loads on TensorFlow.
        super().compile(optimizer=None, **kwargs)
        options = {} if label_smoothing is None else {"label_smoothing": label_smoothing}
        self.loss_fn = losses.get(loss_fn, **options)
        refusal = self.update_refusal(update, self.discriminator_steps)
        if refusal:
            raise ValueError(refusal)
        if self.loss_fn.gradient_penalty_weight and not self.takes_gradient_penalty:
            raise ValueError(
                f"{type(self).__name__}'s discriminator objective has no gradient penalty, which the {self.loss_fn.name!r} loss needs; "
                "use a loss without one (non_saturating, minimax, least_squares, hinge)."
            )
        self.update = update
        d_optimizer = keras.optimizers.get(d_optimizer) or self.loss_fn.default_optimizer()
        g_optimizer = keras.optimizers.get(g_optimizer) or self.loss_fn.default_optimizer()
        check_own_optimizers({"d_optimizer": (d_optimizer, self.discriminator), "g_optimizer": (g_optimizer, self.generator)})
        self.d_optimizer = loss_scaled(d_optimizer, self.discriminator)
        self.g_optimizer = loss_scaled(g_optimizer, self.generator)
        self.build_optimizers()  # now, not inside the first step: a tf.distribute strategy needs it
        backend.attach_optimizers(self)  # JAX's `fit` carries `model.optimizer`'s state: both of them
        self._gan_compile_config = {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss_fn": {"name": self.loss_fn.name, "config": self.loss_fn.get_config()},
            "update": update,
        }

    def get_compile_config(self):
        return getattr(self, "_gan_compile_config", None)

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            loss_fn=losses.get(config["loss_fn"]["name"], **config["loss_fn"]["config"]),
            update=config.get("update", "alternating"),
        )

    def build_optimizers(self):
        """Creates both optimizers' variables, so that saved optimizer state can be loaded."""
        for optimizer, network in ((self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator)):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.p_real_tracker, self.p_fake_tracker, *self.reported_trackers.values()]

    @property
    def discriminator_steps(self):
        """Discriminator steps per generator step: see `discriminator_steps_of`."""
        return discriminator_steps_of(self.loss_fn, self.d_steps)

    @classmethod
    def update_refusal(cls, update, discriminator_steps):
        """Why this model cannot train with `update` taking `discriminator_steps` discriminator
        steps per generator step, in words; None when it can (`compile`'s check, which
        `zoo.training` also asks before choosing a default)."""
        if update not in UPDATES:
            return f"`update` must be one of {UPDATES}, got {update!r}."
        if update not in cls.updates:
            return f"{cls.__name__} trains with update={' or '.join(map(repr, cls.updates))} only, got {update!r}."
        if update in ONE_STEP_UPDATES and discriminator_steps != 1:
            return f"update={update!r} takes one discriminator step per generator step; this model takes {discriminator_steps} (d_steps or the loss's n_critic)."
        return None

    def train_step(self, *args):
        """One generator step of Goodfellow et al. 2014, Algorithm 1, with the loss of `compile`.

        Algorithm 1 alternates k steps of the discriminator, ascending
        log D(x) + log(1 − D(G(z))) (the value function of equation 1), with one step of the
        generator. Each discriminator step here draws fresh noise against this batch of real
        images (as keras.io's WGAN-GP example does); the losses are `self.loss_fn`'s, plus the
        WGAN-GP gradient penalty when the loss asks for it. A conditional model feeds the
        batch's labels to both networks, for real and generated images alike (Mirza &
        Osindero 2014, equation 2).

        TensorFlow calls `train_step(data)`; JAX calls `train_step(state, data)` and wants the
        new state back: `backend.run_stateless` runs this same step on the state's values.
        """
        if len(args) == 2:
            return backend.run_stateless(self, self.train_step, *args)
        (data,) = args
        real_images, labels = self.unpack_batch(data)
        batch_size = ops.shape(real_images)[0]
        if self.update == "simultaneous":
            return self.simultaneous_step(real_images, labels, batch_size)
        if self.update == "reuse":
            return self.reuse_step(real_images, labels, batch_size)

        # 1. Discriminator, k steps: score real images as real and generated ones as fake.
        for _ in range(self.discriminator_steps):

            def discriminator_loss():
                fake_images = self.fake_batch(batch_size, labels)
                return self.discriminator_objective(real_images, fake_images, labels)

            d_loss, logits = self.minimize(discriminator_loss, self.discriminator, self.d_optimizer)

        # 2. Generator, one step: make fresh samples that the discriminator scores as real.
        g_loss, _ = self.minimize(lambda: self.generator_objective(batch_size, labels), self.generator, self.g_optimizer)
        self.update_ema()

        # 3. Report: the losses and the discriminator's mean belief that its inputs are real.
        return self.update_trackers(d_loss, g_loss, *logits)

    def reuse_step(self, real_images, labels, batch_size):
        """Algorithm 1 with one generator pass per step (`update="reuse"`).

        As `train_step`'s alternating steps (k = 1): the discriminator steps, then the
        generator steps against the updated discriminator. But the generator's step scores the
        samples the discriminator step was given, not fresh ones, and its gradient flows back
        through the pass that made them (the generator has not changed since), as PyTorch's
        DCGAN example trains: 3 generator passes' work per step (forward 1, backward 2) instead
        of 4. See `zoo.models.backend.minimize_in_turn`.
        """

        (d_loss, logits), (g_loss, _) = self.minimize_in_turn(
            lambda: self.fake_batch(batch_size, labels),
            lambda fake_images: self.discriminator_objective(real_images, fake_images, labels),
            lambda fake_images: self.generator_score(fake_images, labels),
            (self.discriminator, self.d_optimizer),
            (self.generator, self.g_optimizer),
        )
        self.update_ema()
        return self.update_trackers(d_loss, g_loss, *logits)

    def simultaneous_step(self, real_images, labels, batch_size):
        """Both networks' gradients at the same weights, from one batch of samples (`update="simultaneous"`).

        The update of TensorFlow's DCGAN tutorial: one forward pass (the generator on fresh
        noise, the discriminator on the real and the generated batch) gives both losses, and
        each network steps on its own loss's gradient, both taken at (G_t, D_t). The
        discriminator scores the generated batch once for both gradients: 3 generator and 6
        discriminator passes' work per step (forward 1, backward 2), against 4G + 9D for
        Algorithm 1's alternating steps.
        """

        def losses():
            fake_images = self.fake_batch(batch_size, labels)
            d_loss, logits = self.discriminator_objective(real_images, fake_images, labels)
            return (d_loss, self.loss_fn.generator_loss(logits[1])), logits

        (d_loss, g_loss), logits = self.minimize_pair(
            losses, (self.discriminator, self.d_optimizer), (self.generator, self.g_optimizer)
        )
        self.update_ema()
        return self.update_trackers(d_loss, g_loss, *logits)

    def discriminator_objective(self, real_images, fake_images, labels):
        """The discriminator's loss on a batch of real and generated images (plus WGAN-GP's
        penalty when the loss asks for it); returns `(loss, (real_logits, fake_logits))`. A model
        with `reported` names returns `(loss, (real_logits, fake_logits, {name: logits}))`."""
        real_logits = self.discriminator(self.conditioned(real_images, labels), training=True)
        fake_logits = self.discriminator(self.conditioned(fake_images, labels), training=True)
        loss = self.loss_fn.discriminator_loss(real_logits, fake_logits)
        if self.loss_fn.gradient_penalty_weight:
            loss += self.loss_fn.gradient_penalty_weight * self.gradient_penalty(real_images, fake_images, labels)
        return loss, (real_logits, fake_logits)

    def generator_objective(self, batch_size, labels):
        """The generator's loss on fresh samples; returns `(loss, the samples)`."""
        fake_images = self.fake_batch(batch_size, labels)
        return self.generator_score(fake_images, labels)

    def fake_batch(self, batch_size, labels):
        """`batch_size` generated images from fresh noise, conditioned on `labels` where the
        model is conditional, with the generator in training mode."""
        return self.generator(self.conditioned(self.sample_z(batch_size), labels), training=True)

    def generator_score(self, fake_images, labels):
        """The generator's loss on `fake_images` as the discriminator scores them now; returns
        `(loss, fake_images)`."""
        fake_logits = self.discriminator(self.conditioned(fake_images, labels), training=True)
        return self.loss_fn.generator_loss(fake_logits), fake_images

    def unpack_batch(self, data):
        """Splits a batch from `fit` into `(images, labels)`; labels are None for an unconditional model.

        A batch is images alone, `(images, labels)`, or a dict with the images under "images"
        and the class ids under "labels" (`BATCH_KEYS`): see `split_batch`.
        """
        images, labels = split_batch(data)
        if not self.conditional:
            return images, None
        if labels is None:
            raise ValueError(needs_labels(self))
        return images, labels

    def conditioned(self, x, labels):
        """A network's input: `x` alone, or `[x, labels]` for a conditional model."""
        return x if labels is None else [x, labels]

    def sample_z(self, batch_size):
        """Draws a training batch of noise from N(0, 1) with the model's seed generator, as the
        generator network takes it (`network_noise`)."""
        return self.network_noise(backend.replica_share(lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator), batch_size))

    def network_noise(self, z):
        """The part of `z` the generator network takes as its noise: all of it, unless the model
        reads some of `z` for itself when sampling (a self-conditioned DCGAN's cluster pick)."""
        return z

    def update_ema(self):
        """Moves `ema_generator` towards the generator: w_ema ← d·w_ema + (1 − d)·w.

        d = min(ema_decay, (1 + t) / (10 + t)) at generator step t, the warm-up of
        `tf.train.ExponentialMovingAverage(num_updates=t)`, so that early on the average is not
        held back by the random initial weights. Trainable weights are averaged; the rest
        (batch-norm statistics) are copied.
        """
        if self.ema_decay is None:
            return
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))
            else:
                average.assign(weight)

    def update_trackers(self, d_loss, g_loss, real_logits, fake_logits, reported=None):
        """Updates the progress-bar metrics and returns them as `train_step`'s logs; `reported`:
        {name: logits} of the `reported` beliefs."""
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.p_real_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(real_logits, "float32"))))
        self.p_fake_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(fake_logits, "float32"))))
        for name, logits in (reported or {}).items():
            self.reported_trackers[name].update_state(ops.mean(ops.sigmoid(ops.cast(logits, "float32"))))
        return {metric.name: metric.result() for metric in self.metrics}

    def minimize(self, compute_loss, network, optimizer):
        """One optimizer step on `network` against `compute_loss()` (which returns `(loss, extras)`);
        returns `(loss, extras)`. The gradient is the backend's: see `zoo.models.backend.minimize`."""
        return backend.minimize(self, compute_loss, network, optimizer)

    def minimize_pair(self, compute_losses, first, second):
        """One optimizer step on each of two `(network, optimizer)` pairs against the two losses
        `compute_losses()` returns (`((first_loss, second_loss), extras)`), both gradients taken
        before either network changes; see `zoo.models.backend.minimize_pair`."""
        return backend.minimize_pair(self, compute_losses, first, second)

    def minimize_in_turn(self, generate, first_loss, second_loss, first, second):
        """One step of `first` against `first_loss(samples)`, then one of `second` against
        `second_loss(samples)`, on one `generate()` pass whose gradient reaches `second` only;
        returns both `(loss, extras)`. See `zoo.models.backend.minimize_in_turn`."""
        return backend.minimize_in_turn(self, generate, first_loss, second_loss, first, second)

    def gradient_penalty(self, real_images, fake_images, labels=None):
        """E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] on x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per image.

        Gulrajani et al. 2017, equation 3 and Algorithm 1 (lines 6–7). Called inside
        `minimize`'s loss, so the penalty's own gradient reaches the discriminator's weights.
        """
        real_images = ops.cast(real_images, "float32")
        fake_images = ops.cast(fake_images, "float32")
        epsilon = backend.replica_share(lambda n: keras.random.uniform((n, 1, 1, 1), seed=self.seed_generator), ops.shape(real_images)[0])
        interpolated = epsilon * real_images + (1.0 - epsilon) * fake_images
        gradients = backend.input_gradient(self, lambda x: self.discriminator(self.conditioned(x, labels), training=True), interpolated)
        norms = ops.sqrt(ops.sum(ops.square(gradients), axis=(1, 2, 3)) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    # ----- generating -----------------------------------------------------------------

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def generate(self, n=None, seed=None, z=None, batch_size=256, labels=None, prompt=None, truncation=None):
        """Returns `n` generated images as a float32 numpy array in [-1, 1], NHWC.

        The noise is `zoo.latent.sample_latent(n, latent_dim, seed, truncation)`, the same that
        `zoo.runtime` and the Node and web apps draw, so a seed gives the same images from Keras
        and from ONNX. Pass `z` instead of `n` to choose the noise yourself (e.g.
        `zoo.latent.interpolate`). `labels` are for class-conditional models (`ConditionalGAN`),
        `prompt` for text-to-image ones, which override this method.
        """
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is not class-conditional: it takes no `labels`.")
        if prompt is not None:
            raise ValueError(f"{type(self).__name__} is not a text-to-image model: it takes no `prompt`.")
        return self.generate_from({"z": self._latent_input(n, seed, z, truncation)}, batch_size)

    def generate_from(self, inputs, batch_size=256):
        """Runs `export_call` on numpy `inputs` (keyed as in `export_inputs`) in batches; integer
        inputs must lie in `input_ranges()` (an id out of range would draw the wrong thing)."""
        batch_size = check_int("batch_size", batch_size, 1, 1 << 20)
        what = {"label": "class ids", "tokens": "vocabulary ids"}
        inputs = {**inputs, **{name: check_ids(name, inputs[name], high, what.get(name, "ids")) for name, (_, high) in self.input_ranges().items() if name in inputs}}
        rows = len(inputs["z"])
        from zoo.images import check_images_fit

        check_images_fit(rows, self.image_shape)  # refused at once, not after minutes of batches
        batches = [
            ops.convert_to_numpy(self.export_call({key: value[start : start + batch_size] for key, value in inputs.items()}))
            for start in range(0, rows, batch_size)
        ]
        return np.concatenate(batches).astype(np.float32)

    def _latent_input(self, n, seed, z, truncation=None):
        if z is None and n is not None:  # refused before the noise of `n` images is drawn, which may not fit either
            from zoo.images import check_images_fit

            check_images_fit(check_int("n", n), self.image_shape)
        return latent_input(n, self.latent_dim, seed, z, truncation)

    # ----- export hooks ---------------------------------------------------------------

    def export_inputs(self):
        """The generator's exported inputs: name -> (shape, dtype), batch axis first and dynamic."""
        return {"z": ((None, self.latent_dim), "float32")}

    def export_call(self, inputs):
        """Maps the exported inputs (a dict named as in `export_inputs`) to images in [-1, 1]."""
        return self.sampling_generator(inputs["z"], training=False)

    def export_example(self, n, seed=None):
        """Random inputs for the exported generator, keyed as in `export_inputs`, as numpy arrays."""
        return {"z": sample_latent(n, self.latent_dim, seed)}

    def input_ranges(self):
        """The valid ids of the integer inputs of `export_inputs`, as name -> (lowest, highest):
        class ids for `label`, vocabulary ids for `tokens`. Written into card.json's `inputs`."""
        names = self.export_inputs()
        ranges = {}
        if "label" in names:
            ranges["label"] = (0, len(self.class_names) - 1)
        if "tokens" in names:
            ranges["tokens"] = (0, self.tokenizer.vocabulary_size - 1)
        return ranges

    def card(self):
        """The facts of this generator that `card.json` and the ONNX metadata carry."""
        height, width, channels = self.image_shape
        card = {
            "family": self.family,
            "paper": self.paper,
            "latent_dim": self.latent_dim,
            "image_shape": [height, width, channels],
            "layout": "NHWC",
            "output_range": [-1.0, 1.0],
            "parameters": {
                "generator": int(self.generator.count_params()),
                "discriminator": int(self.discriminator.count_params()),
            },
        }
        if self.ema_decay is not None:
            card["weights"] = f"exponential moving average of the generator's weights, decay {self.ema_decay}"
        return card

    # ----- configuration --------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {"latent_dim": self.latent_dim, "image_shape": list(self.image_shape), "seed": self.seed, "ema_decay": self.ema_decay}
        )
        return config


# Real images must lie in the generator's tanh range; a little float rounding is allowed.
PIXEL_RANGE_TOLERANCE = 1e-3
# Images scaled to [0, 1] (x / 255) also lie in [-1, 1], so their range alone does not give them
# away; their having no value below 0 does, once a batch holds this many images: in the [-1, 1]
# coding it would mean that not one pixel of them is darker than mid-grey. Smaller batches (a
# few white garments, say) are not judged, as such images can be real.
UNIT_INTERVAL_MIN_IMAGES = 16
# The keys of a batch given as a dict: the images, and a conditional model's class ids.
BATCH_KEYS = ("images", "labels")


def images_and_labels(x, y):
    """`fit`'s `(x, y)` with a tuple or list `x` read as `(images, labels)` or `(images,)`."""
    if y is not None or not isinstance(x, (tuple, list)):
        return x, y
    if len(x) not in (1, 2):
        raise ValueError(f"`x` must be images or a tuple (images, labels); got a {type(x).__name__} of {len(x)} items.")
    return x[0], (x[1] if len(x) == 2 else None)


def check_training_data(model, x, y=None):
    """Raises ValueError when the first batch of training data does not fit `model`: data known
    to yield no batch, images not shaped `image_shape` (height, width, channels; a dataset not
    batched, a missing channel axis), not real numbers, outside [-1, 1] (0..255 pixels, say:
    scale them with `zoo.data.to_unit_range`) or in [0, 1] (see `UNIT_INTERVAL_MIN_IMAGES`),
    a conditional model's labels missing, not one class id per image (one-hot), or out of range.
    Batches may be images, `(images, labels)` or dicts keyed by `BATCH_KEYS`.

    Looks at numpy arrays, `tf.data.Dataset`s (one batch read; the shapes and dtypes first,
    from its `element_spec`) and `keras.utils.PyDataset`s (batch 0, read by index: what JAX
    trains from, see `zoo.data.batched`; one of unknown length too); a Python generator's first
    batch is given here by `fit` (`peek_generator`), as an array; other inputs are not looked at.
    """
    empty = _known_empty(x, y)
    if empty:
        raise ValueError(no_batch_message(empty))
    batch = _first_batch(x, y)
    if batch is None:
        return
    images, labels, more = batch
    check_batch_shape(model, images)
    if images.dtype.kind not in "fiu":
        raise ValueError(f"Training images must be numbers, got dtype {images.dtype}.")
    values = images.astype(np.float32)
    values = values[np.isfinite(values)]  # NaN pixels make NaN losses, which StopOnNonFiniteLoss stops at their step
    if not values.size:
        return
    low, high = float(values.min()), float(values.max())
    if low < -1 - PIXEL_RANGE_TOLERANCE or high > 1 + PIXEL_RANGE_TOLERANCE:
        hint = " (0..255 pixels)" if high > 2 and low >= 0 else ""
        raise ValueError(
            f"Training images must lie in [-1, 1], the generator's tanh range; the first batch holds values from {low:g} to "
            f"{high:g}{hint}. Scale pixels with zoo.data.to_unit_range (x / 127.5 - 1)."
        )
    if images.dtype.kind == "f" and low >= 0 and not model.allow_nonnegative_images:
        seen = _images_without_negatives(len(images), more)
        if seen >= UNIT_INTERVAL_MIN_IMAGES:
            first = f"first batch of {seen} images" if seen == len(images) else f"first {seen} images ({len(images)} in the first batch)"
            raise ValueError(
                f"Training images must lie in [-1, 1], the generator's tanh range; the {first} hold values from {low:g} to "
                f"{high:g} only, as images scaled to [0, 1] (x / 255) do. Map them to [-1, 1]: x * 2 - 1, or "
                f"zoo.data.to_unit_range on the uint8 pixels. ({UNIT_INTERVAL_MIN_IMAGES} or more [-1, 1] images without one "
                "pixel darker than mid-grey, below 0, are taken for [0, 1] images; if yours really are, set "
                "model.allow_nonnegative_images = True before fit.)"
            )
    if images.dtype.kind in "iu" and images.size:
        raise ValueError(f"Training images are integers ({images.dtype}); the model expects float images in [-1, 1]: use zoo.data.to_unit_range.")
    if getattr(model, "conditional", False):
        if labels is None:
            raise ValueError(needs_labels(model))
        check_class_ids(model, labels)


def check_batch_shape(model, images):
    """Raises ValueError unless `images` is a batch of the model's `image_shape`, saying what
    is most likely wrong: a dataset not batched (its elements are single images), a batch of
    grey images without the channel axis, or images of another size or channels."""
    expected = tuple(model.image_shape)
    shape = tuple(images.shape[1:])
    if shape == expected:
        return
    name = type(model).__name__
    if tuple(images.shape) == expected:
        raise ValueError(
            f"The training data yields single images shaped {expected}, not batches of them: batch it first "
            "(dataset.batch(batch_size), or zoo.data.batched(images, batch_size) for arrays)."
        )
    if shape == expected[:2]:
        add = "x[..., None]" if expected[2] == 1 else f"np.repeat(x[..., None], {expected[2]}, axis=-1)"
        raise ValueError(
            f"Training images are shaped {shape} per image, without a channel axis; this {name} makes {expected} "
            f"(height, width, channels): add the axis with {add}."
        )
    if len(shape) != 3:
        raise ValueError(
            f"Training batches must be shaped (batch, height, width, channels), got {tuple(images.shape)}; this {name} makes "
            f"{expected} images. A dataset of single images needs .batch(batch_size); grey images need a channel axis (x[..., None])."
        )
    channels = f" ({shape[-1]} channels; the model has {expected[-1]})" if shape[-1] != expected[-1] else ""
    # Another model is a fix only for square images: the convolutional models refuse the others.
    rebuild = f", or build the model with image_shape={shape}" if shape[0] == shape[1] else ""
    raise ValueError(
        f"Training images are shaped {shape} per image{channels}, but this {name} makes {expected} (height, width, channels): "
        f"resize or convert them{rebuild}."
    )


def check_class_ids(model, labels):
    """Raises ValueError unless `labels` are one class id per image (shaped (batch,), whole
    numbers within the model's classes), what the networks' `label` input takes."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        if labels.ndim == 2 and labels.shape[1] > 1:
            hint = " They look one-hot (one column per class): pass the class ids, labels.argmax(axis=1)."
        elif labels.ndim == 2:
            hint = " Pass them as one column: labels.reshape(-1)."
        else:
            hint = ""
        raise ValueError(f"Labels must be one class id per image, shaped (batch,); got labels shaped {labels.shape}.{hint}")
    check_ids("labels", labels, len(model.class_names) - 1, what="class ids")


def batch_sizes(x, batch_size=None):
    """The sizes of the batches `fit` will cut from `x` (with its `batch_size`), as far as they are
    known without reading more than the first batch: an array's full batches and its last
    incomplete one; a `tf.data.Dataset`'s static batch size, else its first batch's; else none."""
    if isinstance(x, dict):
        x = x.get(BATCH_KEYS[0])
    if _is_array(x) and len(x.shape):
        rows, batch_size = x.shape[0], batch_size or 32  # Keras's default batch size
        return sorted({min(rows, batch_size), rows % batch_size} - {0})
    if _is_tf_dataset(x):
        images = split_batch(x.element_spec)[0]
        images = images[BATCH_KEYS[0]] if isinstance(images, dict) else images
        if images.shape.rank and images.shape[0] is not None:
            return [images.shape[0]]
        first = _first_batch(x, None)
        return [] if first is None else [len(first[0])]
    return []


def no_batch_message(what, keras_would="end at once without a step"):
    """The refusal of training data that yields no batch (`what` it is), saying what `fit` would do with it."""
    return (
        f"The training data yields no batch ({what}): fit would {keras_would}. Give it at least one batch: "
        "some images, and a batch size no larger than their number when the last incomplete batch is dropped (drop_remainder)."
    )


def _known_empty(x, y):
    """What `x` is, in words, when it is known without reading it to yield no batch: an array of
    0 images, a `PyDataset` of 0 batches, a `tf.data.Dataset` of cardinality 0 (e.g. 64 images
    batched by 100 with drop_remainder); else None."""
    x, _ = images_and_labels(x, y)
    if isinstance(x, dict):
        x = x.get(BATCH_KEYS[0])
    if _is_array(x) and len(x.shape) and x.shape[0] == 0:
        return "an array of 0 images"
    if isinstance(x, keras.utils.PyDataset):
        try:
            return f"a keras.utils.PyDataset of 0 batches, {type(x).__name__}" if x.num_batches == 0 else None
        except NotImplementedError:
            return None
    if _is_tf_dataset(x) and int(x.cardinality()) == 0:
        return "a tf.data.Dataset of 0 batches, its cardinality"
    return None


def check_epoch_end(x, steps_per_epoch):
    """Raises ValueError when `fit` would never end an epoch of `x` at its last batch: a
    `keras.utils.PyDataset` of unknown length (`num_batches` None) without `steps_per_epoch`.

    Keras reads such a dataset as endless (its documented meaning): it asks for batch after
    batch and has no way to end the epoch when the dataset has none left. One that never ends
    would run its first epoch forever (no `on_epoch_end`, no checkpoint); one that ends (an
    IndexError or StopIteration past its last batch) stops training there with that raw error
    (an UnknownError on TensorFlow, a RuntimeError for the StopIteration on JAX), batches
    already trained on. Refused before any batch is read or any callback runs.
    """
    if steps_per_epoch is None and _of_unknown_length(x):
        raise ValueError(
            f"fit was given a keras.utils.PyDataset of unknown length, {type(x).__name__} (its num_batches is None), without "
            "steps_per_epoch: Keras reads such a dataset as endless, so its first epoch would never end, or, should the "
            "dataset end, training would stop at its IndexError instead of ending the epoch. Give the dataset num_batches "
            "(its number of batches: each epoch ends after them), or, for a stream that never ends, pass fit steps_per_epoch."
        )


def check_stream_reaches(x, steps_per_epoch, epochs):
    """Raises ValueError when `x`, a `keras.utils.PyDataset` of unknown length (`num_batches` None),
    has no batch at the last index `fit` would read: `steps_per_epoch` × `epochs` batches.

    Keras reads such a dataset as endless, by one index running on across epochs (0, 1, 2, ...,
    not from 0 again each epoch). One that ends before would stop training at its IndexError (an
    UnknownError on TensorFlow, a bare IndexError on JAX, a RuntimeError for a StopIteration),
    batches already trained on and the epoch unfinished. Its last batch is read here once, before
    any step, as `fit` reads its first (`check_training_data`); any other error that read
    raises is the dataset's own and goes up unchanged.
    """
    if steps_per_epoch is None or epochs < 1 or not _of_unknown_length(x):
        return
    last = steps_per_epoch * epochs - 1
    try:
        x[last]
    except (IndexError, StopIteration) as error:
        raise ValueError(
            f"fit was given a keras.utils.PyDataset of unknown length, {type(x).__name__} (its num_batches is None), "
            f"with steps_per_epoch={steps_per_epoch} for {epochs} epoch{'s' if epochs > 1 else ''}: Keras reads such a dataset "
            f"as endless, one index running on across epochs, so it would read batches 0 to {last}, but batch {last} raises "
            f"{type(error).__name__}: training would stop at its first missing batch, mid-epoch. Give the dataset num_batches (its number of "
            "batches: each epoch ends after them), or pass a smaller steps_per_epoch or fewer epochs."
        ) from error


def _of_unknown_length(x):
    """Whether `x` is a `keras.utils.PyDataset` that says it has no known length (`num_batches`
    None); one that says neither (no `num_batches`, no `__len__`) is not: Keras says what to add."""
    if not isinstance(x, keras.utils.PyDataset):
        return False
    try:
        return x.num_batches is None
    except NotImplementedError:
        return False


def _is_tf_dataset(x):
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec") and hasattr(x, "take")


def _indexed_batches(dataset):
    """The batches of a `keras.utils.PyDataset`, read by index; None when it says neither its
    length nor that it has none (no `num_batches`, no `__len__`: Keras says what to add).

    One of unknown length (`num_batches` None, which Keras reads as endless) is read from
    batch 0 until an index it has no batch for (IndexError or StopIteration); when batch 0 is
    already one, ValueError says the data yields no batch, where `fit` would stop with that raw
    error (or, on JAX, a RuntimeError for the StopIteration).
    """
    try:
        count = dataset.num_batches
    except NotImplementedError:
        return None
    if count is not None:
        return (dataset[index] for index in range(count))
    try:
        first = dataset[0]
    except (IndexError, StopIteration) as error:
        what = f"a keras.utils.PyDataset of unknown length, {type(dataset).__name__}, whose batch 0 raises {type(error).__name__}"
        raise ValueError(no_batch_message(what, f"take it for endless and stop with that {type(error).__name__}")) from error
    return itertools.chain([first], _batches_until_missing(dataset, start=1))


def _batches_until_missing(dataset, start):
    """A PyDataset's batches from index `start` to the first it has none for."""
    for index in itertools.count(start):
        try:
            batch = dataset[index]
        except (IndexError, StopIteration):  # caught here: raised in a generator, StopIteration becomes a RuntimeError
            return
        yield batch


def peek_generator(batches):
    """(the first batch of the Python generator `batches`, a generator of all its batches) for
    `fit` to look at the first and train on them all. Each batch comes out as Keras's generator
    adapter takes one, a tuple: images alone as `(images,)`, a dict as `(dict,)`, a list
    `[images, labels]` as a tuple. Raises ValueError when `batches` yields none."""
    first = next(batches, None)
    if first is None:
        raise ValueError(no_batch_message("a Python generator that yielded none"))

    def as_tuples():
        for batch in itertools.chain([first], batches):
            yield tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)

    return first, as_tuples()


def split_batch(data):
    """(images, labels or None) of one batch: an array, `(images, labels)`, or a dict holding
    the images under "images" and the class ids (if any) under "labels" (`BATCH_KEYS`; other
    keys are a model's own, as a text-to-image model's tokens); a dict without images is refused
    naming its keys (`_dict_images`)."""
    if isinstance(data, dict):
        return _dict_images(data), data.get(BATCH_KEYS[1])
    if isinstance(data, (tuple, list)):
        return data[0], (data[1] if len(data) > 1 else None)
    return data, None


def needs_labels(model):
    """What a conditional model given no labels says."""
    return (
        f"{type(model).__name__} trains on (images, labels) batches (or dicts with 'images' and 'labels'); pass the class ids "
        "as y, or load the data with `zoo.data.load_fashion_mnist(..., with_labels=True)`."
    )


def _rereadable_batches(x):
    """An iterator over the batches of `x` when reading them consumes nothing `fit` will need: a
    `keras.utils.PyDataset` (read by index, see `_indexed_batches`) or a `tf.data.Dataset`; else None."""
    if isinstance(x, keras.utils.PyDataset):
        return _indexed_batches(x)
    if _is_tf_dataset(x):
        return iter(x)
    return None


def _is_array(x):
    """Whether `x` is an array of numbers: numpy, or a backend's tensor (`train_on_batch`'s input)."""
    return isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "__array__"))


def _first_batch(x, y):
    """(images, labels or None, the later batches) of the first batch of `x` (and `y`), the first
    two as numpy arrays, the third an iterator of batches (empty for arrays, whose first 1,024
    images are the first batch here), or None when `x` is not looked at."""
    x, y = images_and_labels(x, y)
    if isinstance(x, dict) and y is None:
        x, y = _dict_images(x), x.get(BATCH_KEYS[1])
    if _is_array(x):
        return np.asarray(x[:1024]), (None if y is None else np.asarray(y[:1024])), iter(())
    batches = _rereadable_batches(x)
    if batches is None:
        return None
    batch = next(batches, None)
    if batch is None:  # read to its end at no cost: it is empty (a filter that kept nothing, say)
        raise ValueError(no_batch_message("a dataset that yielded none"))
    images, labels = split_batch(batch)
    return np.asarray(images), None if labels is None else np.asarray(labels), batches


def _images_without_negatives(count, batches):
    """How many images, from `count` already seen with no value below 0, have none before the
    first that has one, reading `batches` until `UNIT_INTERVAL_MIN_IMAGES` are seen: small
    batches of [0, 1] images are judged on the first 16 images, not on one batch of 8."""
    while count < UNIT_INTERVAL_MIN_IMAGES:
        batch = next(batches, None)
        if batch is None:
            break
        images = np.asarray(split_batch(batch)[0], np.float32)
        if np.any(images < 0):
            return 0
        count += len(images)
    return count


def _dict_images(batch):
    """The images of a dict batch, or ValueError naming the keys it has instead."""
    if BATCH_KEYS[0] not in batch:
        raise ValueError(
            f"A batch given as a dict must hold the images under {BATCH_KEYS[0]!r} (and a conditional model's class ids "
            f"under {BATCH_KEYS[1]!r}); got the keys {sorted(map(str, batch))}."
        )
    return batch[BATCH_KEYS[0]]


def training_images(x, limit):
    """Up to `limit` images of `fit`'s `x` as one numpy array (what the model will train on), or
    None when `x` cannot be read without consuming it (a Python generator; see `_rereadable_batches`)."""
    x, _ = images_and_labels(x, None)
    if isinstance(x, dict):
        x = _dict_images(x)
    if _is_array(x):
        return np.asarray(x[:limit])
    batches = _rereadable_batches(x)
    if batches is None:
        return None
    chunks, count = [], 0
    for batch in batches:
        chunks.append(np.asarray(split_batch(batch)[0]))
        count += len(chunks[-1])
        if count >= limit:
            break
    return np.concatenate(chunks)[:limit] if chunks else np.zeros((0, 0), np.float32)
