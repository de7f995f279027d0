"""What every GAN in the zoo shares.

A GAN here is a `keras.Model` holding two networks, `generator` and `discriminator`, each with
its own optimizer. Subclasses build the networks and write `train_step` (the paper's algorithm);
this base holds the plumbing around it: the `compile` signature, the metric trackers shown in
the progress bar, `generate`, `get_config`, saving of both optimizers, and the hooks that
`zoo.export` uses to write the generator out.
"""

import keras
import numpy as np
from keras import ops

from zoo import losses
from zoo.latent import check_count, sample_latent

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

    Args:
        latent_dim: size of the noise vector `z` fed to the generator.
        image_shape: `(height, width, channels)` of the images, values in [-1, 1].
        seed: seed of the noise drawn during training, for repeatable runs.
    """

    family = None  # short name used by the CLI and in card.json
    paper = None  # citation of the method, written to card.json

    def __init__(self, latent_dim=100, image_shape=(28, 28, 1), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim, MAX_LATENT_DIM)
        self.image_shape = check_image_shape(image_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keras saves a layer's own variables but not its seed generators' state; tracking it
        # here puts it in every checkpoint, so a resumed run draws the noise it would have drawn.
        self._track_variable(self.seed_generator.state)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.p_real_tracker = keras.metrics.Mean(name="p_real")
        self.p_fake_tracker = keras.metrics.Mean(name="p_fake")

    # ----- training -------------------------------------------------------------------

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn="non_saturating", **kwargs):
        """Configures training.

        Args:
            d_optimizer: optimizer of the discriminator; default Adam(2e-4, beta_1=0.5) as in
                Radford et al. 2015.
            g_optimizer: optimizer of the generator; same default.
            loss_fn: a name from `zoo.losses.LOSSES` or a `zoo.losses.GANLoss`.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`).
        """
        super().compile(**kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer) or default_optimizer()
        self.g_optimizer = keras.optimizers.get(g_optimizer) or default_optimizer()
        self.loss_fn = losses.get(loss_fn)
        self._gan_compile_config = {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss_fn": {"name": self.loss_fn.name, "config": self.loss_fn.get_config()},
        }

    def get_compile_config(self):
        return getattr(self, "_gan_compile_config", None)

    def compile_from_config(self, config):
        loss_fn = losses.LOSSES[config["loss_fn"]["name"]](**config["loss_fn"]["config"])
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            loss_fn=loss_fn,
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

    def sample_z(self, batch_size):
        """Draws a training batch of noise from N(0, 1) with the model's seed generator."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def minimize(self, compute_loss, network, optimizer):
        """Takes one optimizer step on `network`'s weights against `compute_loss()`.

        `compute_loss` returns `(loss, extras)`; this returns the same pair.
        """
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, extras = compute_loss()
            scaled_loss = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, network.trainable_weights)
        optimizer.apply(gradients, network.trainable_weights)
        return loss, extras

    def update_trackers(self, d_loss, g_loss, real_logits, fake_logits):
        """Updates the progress-bar metrics and returns them as `train_step`'s logs."""
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.p_real_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(real_logits, "float32"))))
        self.p_fake_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(fake_logits, "float32"))))
        return {metric.name: metric.result() for metric in self.metrics}

    # ----- generating -----------------------------------------------------------------

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def generate(self, n=None, seed=None, z=None, batch_size=256):
        """Returns `n` generated images as a float32 numpy array in [-1, 1], NHWC.

        The noise is `zoo.latent.sample_latent(n, latent_dim, seed)`, the same that
        `zoo.runtime` draws, so a seed gives the same images from Keras and from ONNX.
        Pass `z` instead of `n` to choose the noise yourself.
        """
        z = self._latent_input(n, seed, z)
        batch_size = check_positive_int("batch_size", batch_size, 1 << 20)
        batches = [
            ops.convert_to_numpy(self.generator(z[start : start + batch_size], training=False))
            for start in range(0, len(z), batch_size)
        ]
        return np.concatenate(batches).astype(np.float32)

    def _latent_input(self, n, seed, z):
        if z is None:
            if n is None:
                raise ValueError("Pass the number of images `n` (or the noise `z`).")
            return sample_latent(check_count(n), self.latent_dim, seed)
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            raise ValueError(f"`z` must have shape (n, {self.latent_dim}) with n > 0, got {z.shape}.")
        if not np.all(np.isfinite(z)):
            raise ValueError("`z` holds NaN or infinite values.")
        return z

    # ----- export hooks ---------------------------------------------------------------

    def export_inputs(self):
        """The generator's exported inputs: name -> (shape, dtype), batch axis first and dynamic."""
        return {"z": ((None, self.latent_dim), "float32")}

    def export_call(self, inputs):
        """Maps the exported inputs (a dict named as in `export_inputs`) to images in [-1, 1]."""
        return self.generator(inputs["z"], training=False)

    def export_example(self, n, seed=None):
        """Random inputs for the exported generator, keyed as in `export_inputs`, as numpy arrays."""
        return {"z": sample_latent(n, self.latent_dim, seed)}

    def card(self):
        """The facts of this generator that `card.json` and the ONNX metadata carry."""
        height, width, channels = self.image_shape
        return {
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

    # ----- configuration --------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update({"latent_dim": self.latent_dim, "image_shape": list(self.image_shape), "seed": self.seed})
        return config


def default_optimizer():
    """Adam with the learning rate and momentum of Radford et al. 2015, section 3."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


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
