"""What every GAN in the zoo shares.

A GAN here is a `keras.Model` holding two networks, `generator` and `discriminator`, each with
its own optimizer. Subclasses build the networks (and say what differs: a conditional model
feeds labels to both); this base holds the rest once: the training step (Goodfellow et al. 2014, Algorithm 1, with any
loss of `zoo.losses`), the `compile` signature, the metric trackers shown in the progress bar,
the moving average of the generator, `generate`, `get_config`, saving of both optimizers, and
the hooks that `zoo.export` uses to write the generator out.
"""

import keras
import numpy as np
from keras import ops

from zoo import losses
from zoo.latent import check_count, check_latent, sample_latent

# Sizes above these are typos, not models: they are refused before anything is allocated.
MAX_LATENT_DIM = 65_536
MAX_IMAGE_SIDE = 4_096
MAX_CHANNELS = 4


def check_positive_int(name, value, maximum):
    """Returns `value` as an int in [1, maximum], or raises a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value <= maximum:
        raise ValueError(f"`{name}` must be an integer in [1, {maximum}], got {value!r}.")
    return int(value)


def check_image_shape(image_shape):
    """Returns `image_shape` as a (height, width, channels) tuple of ints, or raises ValueError."""
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(f"`image_shape` must be (height, width, channels), got {image_shape!r}.")
    height, width, channels = image_shape
    return (
        check_positive_int("image_shape[0] (height)", height, MAX_IMAGE_SIDE),
        check_positive_int("image_shape[1] (width)", width, MAX_IMAGE_SIDE),
        check_positive_int("image_shape[2] (channels)", channels, MAX_CHANNELS),
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

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), seed=None, ema_decay=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim, MAX_LATENT_DIM)
        self.image_shape = check_image_shape(image_shape)
        if ema_decay is not None and (isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)) or not 0.0 < ema_decay < 1.0):
            raise ValueError(f"`ema_decay` must be None or a number in (0, 1) such as 0.999, got {ema_decay!r}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keras saves a layer's own variables but not its seed generators' state; tracking it
        # here puts it in every checkpoint, so a resumed run draws the noise it would have drawn.
        self._track_variable(self.seed_generator.state)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.p_real_tracker = keras.metrics.Mean(name="p_real")
        self.p_fake_tracker = keras.metrics.Mean(name="p_fake")

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
                steps against the updated discriminator on fresh noise) or "simultaneous"
                (both gradients at the same weights, from one batch of samples, as TensorFlow's
                DCGAN tutorial: one generator pass fewer per step, k = 1 only).
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`).
        """
        super().compile(**kwargs)
        options = {} if label_smoothing is None else {"label_smoothing": label_smoothing}
        self.loss_fn = losses.get(loss_fn, **options)
        if update not in UPDATES:
            raise ValueError(f"`update` must be one of {UPDATES}, got {update!r}.")
        if update == "simultaneous" and self.discriminator_steps != 1:
            raise ValueError(f"update='simultaneous' takes one discriminator step per generator step; this model takes {self.discriminator_steps} (d_steps or the loss's n_critic).")
        self.update = update
        self.d_optimizer = keras.optimizers.get(d_optimizer) or default_optimizer(self.loss_fn)
        self.g_optimizer = keras.optimizers.get(g_optimizer) or default_optimizer(self.loss_fn)
        self.build_optimizers()  # now, not inside the first step: a tf.distribute strategy needs it
        if keras.backend.backend() == "jax":
            self.optimizer = OptimizerPair(self.d_optimizer, self.g_optimizer)
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
        self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' variables, so that saved optimizer state can be loaded."""
        for optimizer, network in ((self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator)):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.p_real_tracker, self.p_fake_tracker]

    @property
    def discriminator_steps(self):
        """Discriminator steps per generator step: the loss's `n_critic` if it has one, else `d_steps`."""
        return self.loss_fn.n_critic or self.d_steps

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
        new state back: `run_stateless` runs this same step on the state's values.
        """
        if len(args) == 2:
            return run_stateless(self, self.train_step, *args)
        (data,) = args
        real_images, labels = self.unpack_batch(data)
        batch_size = ops.shape(real_images)[0]
        if self.update == "simultaneous":
            return self.simultaneous_step(real_images, labels, batch_size)

        # 1. Discriminator, k steps: score real images as real and generated ones as fake.
        for _ in range(self.discriminator_steps):

            def discriminator_loss():
                fake_images = self.generator(self.conditioned(self.sample_z(batch_size), labels), training=True)
                return self.discriminator_objective(real_images, fake_images, labels)

            d_loss, (real_logits, fake_logits) = self.minimize(discriminator_loss, self.discriminator, self.d_optimizer)

        # 2. Generator, one step: make fresh samples that the discriminator scores as real.
        g_loss, _ = self.minimize(lambda: self.generator_objective(batch_size, labels), self.generator, self.g_optimizer)
        self.update_ema()

        # 3. Report: the losses and the discriminator's mean belief that its inputs are real.
        return self.update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def simultaneous_step(self, real_images, labels, batch_size):
        """Both networks' gradients at the same weights, from one batch of samples (`update="simultaneous"`).

        The generator steps first against the discriminator as it is; the discriminator then
        steps on those same samples, made before the generator's update: both gradients are
        taken at (G_t, D_t), the update of TensorFlow's DCGAN tutorial, and the generator runs
        once per step instead of twice.
        """
        g_loss, fake_images = self.minimize(lambda: self.generator_objective(batch_size, labels), self.generator, self.g_optimizer)
        self.update_ema()
        fake_images = ops.stop_gradient(fake_images)
        d_loss, (real_logits, fake_logits) = self.minimize(
            lambda: self.discriminator_objective(real_images, fake_images, labels), self.discriminator, self.d_optimizer
        )
        return self.update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def discriminator_objective(self, real_images, fake_images, labels):
        """The discriminator's loss on a batch of real and generated images (plus WGAN-GP's
        penalty when the loss asks for it); returns `(loss, (real_logits, fake_logits))`."""
        real_logits = self.discriminator(self.conditioned(real_images, labels), training=True)
        fake_logits = self.discriminator(self.conditioned(fake_images, labels), training=True)
        loss = self.loss_fn.discriminator_loss(real_logits, fake_logits)
        if self.loss_fn.gradient_penalty_weight:
            loss += self.loss_fn.gradient_penalty_weight * self.gradient_penalty(real_images, fake_images, labels)
        return loss, (real_logits, fake_logits)

    def generator_objective(self, batch_size, labels):
        """The generator's loss on fresh samples; returns `(loss, the samples)`."""
        fake_images = self.generator(self.conditioned(self.sample_z(batch_size), labels), training=True)
        fake_logits = self.discriminator(self.conditioned(fake_images, labels), training=True)
        return self.loss_fn.generator_loss(fake_logits), fake_images

    def unpack_batch(self, data):
        """Splits a batch from `fit` into `(images, labels)`; labels are None for an unconditional model."""
        if isinstance(data, (tuple, list)):
            images, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            images, labels = data, None
        if not self.conditional:
            return images, None
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} trains on (images, labels) batches; load the data with "
                "`zoo.data.load_fashion_mnist(..., with_labels=True)`."
            )
        return images, labels

    def conditioned(self, x, labels):
        """A network's input: `x` alone, or `[x, labels]` for a conditional model."""
        return x if labels is None else [x, labels]

    def sample_z(self, batch_size):
        """Draws a training batch of noise from N(0, 1) with the model's seed generator."""
        return self.replica_share(lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator), batch_size)

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

    def update_trackers(self, d_loss, g_loss, real_logits, fake_logits):
        """Updates the progress-bar metrics and returns them as `train_step`'s logs."""
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.p_real_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(real_logits, "float32"))))
        self.p_fake_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(fake_logits, "float32"))))
        return {metric.name: metric.result() for metric in self.metrics}

    # ----- backend plumbing: the only backend-specific code of the models -------------

    def minimize(self, compute_loss, network, optimizer):
        """Takes one optimizer step on `network`'s weights against `compute_loss()`.

        `compute_loss` returns `(loss, extras)`; this returns the same pair. Under a
        `tf.distribute` strategy each replica's loss is a mean over its share of the batch and
        the optimizer sums the replicas' gradients, so the loss is divided by the number of
        replicas: the step is then the one a single device takes on the global batch.
        On JAX the gradient is `jax.value_and_grad` of the loss as a function of the weights'
        values (see `run_stateless`).
        """
        if keras.backend.backend() == "jax":
            return jax_minimize(self, compute_loss, network, optimizer)
        if keras.backend.backend() == "torch":
            return torch_minimize(compute_loss, network, optimizer)
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, extras = compute_loss()
            scaled_loss = optimizer.scale_loss(loss / replicas_in_sync())
        gradients = tape.gradient(scaled_loss, network.trainable_weights)
        optimizer.apply(gradients, network.trainable_weights)
        return loss, extras

    def replica_share(self, draw, batch_size):
        """Returns `draw(batch_size)`, or this replica's rows of `draw(global batch)` under a strategy.

        Every replica draws the same global batch from the shared seed state and keeps its own
        slice, so noise on N devices is the noise one device would draw for the global batch.
        """
        replicas = replicas_in_sync()
        if replicas == 1:
            return draw(batch_size)
        import tensorflow as tf

        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return draw(batch_size * replicas)[replica * batch_size : (replica + 1) * batch_size]

    def gradient_penalty(self, real_images, fake_images, labels=None):
        """E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] on x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per image.

        Gulrajani et al. 2017, equation 3 and Algorithm 1 (lines 6–7). Called inside
        `minimize`'s tape (JAX: inside the function it differentiates), so the penalty's own
        gradient reaches the discriminator's weights.
        """
        real_images = ops.cast(real_images, "float32")
        fake_images = ops.cast(fake_images, "float32")
        epsilon = self.replica_share(lambda n: keras.random.uniform((n, 1, 1, 1), seed=self.seed_generator), ops.shape(real_images)[0])
        interpolated = epsilon * real_images + (1.0 - epsilon) * fake_images
        if keras.backend.backend() == "jax":
            gradients = jax_input_gradient(self, lambda x: self.discriminator(self.conditioned(x, labels), training=True), interpolated)
        elif keras.backend.backend() == "torch":
            gradients = torch_input_gradient(lambda x: self.discriminator(self.conditioned(x, labels), training=True), interpolated)
        else:
            import tensorflow as tf

            with tf.GradientTape() as tape:
                tape.watch(interpolated)
                scores = self.discriminator(self.conditioned(interpolated, labels), training=True)
            gradients = tape.gradient(scores, interpolated)
        norms = ops.sqrt(ops.sum(ops.square(gradients), axis=(1, 2, 3)) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    # ----- generating -----------------------------------------------------------------

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def generate(self, n=None, seed=None, z=None, batch_size=256, labels=None):
        """Returns `n` generated images as a float32 numpy array in [-1, 1], NHWC.

        The noise is `zoo.latent.sample_latent(n, latent_dim, seed)`, the same that
        `zoo.runtime` draws, so a seed gives the same images from Keras and from ONNX.
        Pass `z` instead of `n` to choose the noise yourself. `labels` are for
        class-conditional models (`ConditionalGAN`), which override this method.
        """
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is not class-conditional: it takes no `labels`.")
        return self.generate_from({"z": self._latent_input(n, seed, z)}, batch_size)

    def generate_from(self, inputs, batch_size=256):
        """Runs `export_call` on numpy `inputs` (keyed as in `export_inputs`) in batches."""
        batch_size = check_positive_int("batch_size", batch_size, 1 << 20)
        rows = len(inputs["z"])
        batches = [
            ops.convert_to_numpy(self.export_call({key: value[start : start + batch_size] for key, value in inputs.items()}))
            for start in range(0, rows, batch_size)
        ]
        return np.concatenate(batches).astype(np.float32)

    def _latent_input(self, n, seed, z):
        if z is None:
            if n is None:
                raise ValueError("Pass the number of images `n` (or the noise `z`).")
            return sample_latent(check_count(n), self.latent_dim, seed)
        return check_latent(z, self.latent_dim)

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


UPDATES = ("alternating", "simultaneous")


def replicas_in_sync():
    """Replicas training in step under a `tf.distribute` strategy (1 outside of one)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


# JAX: `fit` calls the stateless `train_step(state, data)` with the values of every variable
# (trainable, non-trainable, `model.optimizer.variables`, metrics) and wants them back updated.
# `run_stateless` runs the same stateful step inside a `keras.StatelessScope` holding those
# values, so every `assign` (optimizer steps, batch-norm statistics, the seed generator, the
# moving average, the trackers) lands in the scope, and reads the new values out of it.


class OptimizerPair:
    """Stands in `model.optimizer` on JAX so that `fit` carries both optimizers' variables in its state."""

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def variables(self):
        return self.d_optimizer.variables + self.g_optimizer.variables


def state_variables(model):
    """The variables of the JAX trainer's state, in its order."""
    optimizer = getattr(model, "optimizer", None)  # an OptimizerPair once compiled
    return (model.trainable_variables, model.non_trainable_variables, optimizer.variables if optimizer else [], model.metrics_variables)


def run_stateless(model, step, state, data):
    """Runs the stateful `step(data)` on `state`'s values; returns `(logs, new state)`."""
    groups = state_variables(model)
    mapping = [(variable, value) for variables, values in zip(groups, state) for variable, value in zip(variables, values)]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    return logs, tuple([scope.get_current_value(variable) for variable in variables] for variables in groups)


def with_values(model, compute, values):
    """Runs `compute()` in a scope where `values` ((variable, value) pairs) replace current values.

    Returns `compute()`'s result and the new values of the model's non-trainable variables
    (batch-norm statistics, seed generators), for the caller to assign outside the function
    that JAX differentiates: values made inside it may not leave it otherwise.
    """
    replaced = {id(variable): value for variable, value in values}
    mapping = [(v, replaced.get(id(v), v.value)) for variables in state_variables(model) for v in variables]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        result = compute()
    return result, [scope.get_current_value(variable) for variable in model.non_trainable_variables]


def assign_all(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)


def jax_minimize(model, compute_loss, network, optimizer):
    """`BaseGAN.minimize` on JAX: `jax.value_and_grad` over `network`'s trainable values."""
    import jax

    weights = network.trainable_variables

    def scaled_loss(values):
        (loss, extras), updates = with_values(model, compute_loss, zip(weights, values))
        return optimizer.scale_loss(loss), (loss, extras, updates)

    (_, (loss, extras, updates)), gradients = jax.value_and_grad(scaled_loss, has_aux=True)([w.value for w in weights])
    assign_all(model.non_trainable_variables, updates)
    optimizer.apply(gradients, weights)
    return loss, extras


def jax_input_gradient(model, score, x):
    """∇ₓ Σ score(x) on JAX (the gradient penalty's), keeping `score`'s variable updates."""
    import jax

    def total(x):
        scores, updates = with_values(model, lambda: score(x), ())
        return ops.sum(scores), updates

    gradient, updates = jax.grad(total, has_aux=True)(x)
    assign_all(model.non_trainable_variables, updates)
    return gradient


# PyTorch: `fit` calls `train_step(data)` statefully, as TensorFlow does; gradients come from
# `torch.autograd.grad` on the loss built in `compute_loss`.


def torch_minimize(compute_loss, network, optimizer):
    """`BaseGAN.minimize` on PyTorch."""
    import torch

    weights = network.trainable_variables
    loss, extras = compute_loss()
    gradients = torch.autograd.grad(optimizer.scale_loss(loss), [w.value for w in weights])
    with torch.no_grad():
        optimizer.apply(list(gradients), weights)
    return loss, extras


def torch_input_gradient(score, x):
    """∇ₓ Σ score(x) on PyTorch, kept differentiable (create_graph) for the penalty's own gradient."""
    import torch

    x = x.detach().requires_grad_(True)  # the critic's weights are all that the penalty trains
    (gradient,) = torch.autograd.grad(ops.sum(score(x)), x, create_graph=True)
    return gradient


def batch_norm():
    """Batch normalisation whose statistics span every replica when built under a strategy.

    Local statistics would make N devices train a different model from one device on the
    same global batch; synchronising them (TensorFlow only) keeps the two the same.
    """
    synchronized = False
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        synchronized = tf.distribute.has_strategy()
    return keras.layers.BatchNormalization(synchronized=synchronized)


def default_optimizer(loss_fn=None):
    """Adam as the loss's paper sets it: Adam(2e-4, beta_1=0.5) of Radford et al. 2015, section 3,
    or Adam(1e-4, 0, 0.9) for WGAN-GP (Gulrajani et al. 2017, Algorithm 1)."""
    return keras.optimizers.Adam(**(loss_fn or losses.GANLoss).optimizer_defaults)


def upsampling_plan(side):
    """Splits an image side into (start side, number of stride-2 upsamplings), start side ≤ 7.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4): the generator starts from a small square and
    doubles it; the discriminator halves it back the same number of times.
    """
    steps = 0
    while side % 2 == 0 and side > 7:
        side //= 2
        steps += 1
    if steps == 0 or not 3 <= side <= 7:
        raise ValueError(
            "Image side must be a start size of 3 to 7 doubled at least once (e.g. 28, 32, 64); "
            f"got a side of {side * 2 ** steps}."
        )
    return side, steps
