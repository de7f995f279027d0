"""GAN: the original generative adversarial nets (Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661).

Both networks are multilayer perceptrons (section 3): the generator maps noise through fully
connected layers to a tanh image, the discriminator maps the flattened image through fully
connected layers with dropout to one logit. Where the paper used ReLU/sigmoid units in G and
maxout in D, these use LeakyReLU(0.2), as most reimplementations do. Training is the paper's
Algorithm 1 (`BaseGAN.train_step`): k discriminator steps per generator step.
"""

import keras
from keras import layers

from zoo.layers import LeakyReLU, spectrally_normalized
from zoo.models.base import BaseGAN
from zoo.validation import check_int, check_number


def build_generator(latent_dim, image_shape, units=(256, 512, 1024)):
    """z -> fully connected LeakyReLU layers -> tanh pixels -> image."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for width in units:
        x = layers.Dense(width)(x)
        x = LeakyReLU(0.2)(x)
    x = layers.Dense(image_shape[0] * image_shape[1] * image_shape[2], activation="tanh", dtype="float32")(x)
    return keras.Model(z, layers.Reshape(image_shape)(x), name="generator")


def build_discriminator(image_shape, units=(1024, 512, 256), dropout=0.3, spectral_norm=False):
    """Image -> flattened -> fully connected LeakyReLU layers with dropout -> one logit.

    `spectral_norm`: each Dense layer divided by its largest singular value (Miyato et al. 2018).
    """
    image = keras.Input(image_shape, name="image")
    x = layers.Flatten()(image)
    for width in units:
        x = spectrally_normalized(layers.Dense(width), spectral_norm)(x)
        x = LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    return keras.Model(image, spectrally_normalized(layers.Dense(1, dtype="float32"), spectral_norm)(x), name="discriminator")



def dense_parameters(widths):
    """Weights and biases of fully connected layers joining `widths` in turn."""
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def check_fits_in_memory(latent_dim, image_shape, g_units, d_units):
    """Refuses, before any layer is built, networks whose float32 weights, gradients and Adam's two
    moments would not fit in the memory available (`zoo.images.check_memory`, which leaves a fifth
    of it for the rest): every layer is dense, so large images (1024×1024×3 pixels times a
    1024-wide layer: 3.2 billion weights) fill any machine."""
    from zoo.images import check_memory

    pixels = image_shape[0] * image_shape[1] * image_shape[2]
    count = dense_parameters([latent_dim, *g_units, pixels]) + dense_parameters([pixels, *d_units, 1])
    check_memory(
        count * 4 * 4,
        f"A GAN of {'×'.join(map(str, image_shape))} images with g_units {list(g_units)} and d_units {list(d_units)} ({count:,} weights)",
        "Choose smaller images (--image-size) or narrower layers (--g-units, --d-units); the convolutional dcgan suits large images.",
        purpose=" to train (weights, gradients and Adam's moments in float32)",
    )


def check_units(name, units):
    if not isinstance(units, (tuple, list)) or not units:
        raise ValueError(f"`{name}` must be a non-empty list of layer widths, got {units!r}.")
    return tuple(check_int(f"{name}[{i}]", width, 1, 65_536) for i, width in enumerate(units))


@keras.saving.register_keras_serializable(package="zoo")
class GAN(BaseGAN):
    """The original GAN: MLP generator and discriminator, trained with `fit` on images in [-1, 1].

    Args:
        latent_dim: size of the noise vector `z`.
        image_shape: `(height, width, channels)` of the images.
        g_units: widths of the generator's hidden layers, input side first.
        d_units: widths of the discriminator's hidden layers, input side first.
        dropout: dropout rate after each of the discriminator's hidden layers.
        d_steps: k of Algorithm 1, discriminator steps per generator step (paper: 1). The
            `wgan_gp` loss's `n_critic` replaces it.
        spectral_norm: spectrally normalise the discriminator's layers (Miyato et al. 2018).
        seed: seed of the training noise.
        ema_decay: keep a moving average of the generator for sampling (see `BaseGAN`).

    The generator's loss is chosen in `compile`: `loss_fn="non_saturating"` (maximise
    log D(G(z)), the paper's practical choice, section 3) or `"minimax"` (minimise
    log(1 − D(G(z))), equation 1), or any other of `zoo.losses`.

    Examples:

    ```python
    gan = zoo.GAN(latent_dim=100, d_steps=1)
    gan.compile(loss_fn="minimax")
    gan.fit(zoo.data.load_fashion_mnist(batch_size=128), epochs=5)
    images = gan.generate(16, seed=0)  # (16, 28, 28, 1) in [-1, 1]
    ```
    """

    family = "gan"
    paper = "Goodfellow et al. 2014, Generative Adversarial Nets, https://arxiv.org/abs/1406.2661"

    def __init__(
        self,
        latent_dim=100,
        image_shape=(28, 28, 1),
        g_units=(256, 512, 1024),
        d_units=(1024, 512, 256),
        dropout=0.3,
        d_steps=1,
        spectral_norm=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, seed=seed, **kwargs)
        self.g_units = check_units("g_units", g_units)
        self.d_units = check_units("d_units", d_units)
        self.dropout = check_number("dropout", dropout, 0, 1, high_open=True)
        self.d_steps = check_int("d_steps", d_steps, 1, 100)
        self.spectral_norm = bool(spectral_norm)
        check_fits_in_memory(self.latent_dim, self.image_shape, self.g_units, self.d_units)
        self.set_networks(
            build_generator(self.latent_dim, self.image_shape, self.g_units),
            build_discriminator(self.image_shape, self.d_units, self.dropout, self.spectral_norm),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"g_units": list(self.g_units), "d_units": list(self.d_units), "dropout": self.dropout, "d_steps": self.d_steps, "spectral_norm": self.spectral_norm})
        return config
