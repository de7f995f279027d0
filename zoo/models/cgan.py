"""Conditional GAN: a generator asked for a class (Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784).

Both networks see the class label y, so the game becomes min_G max_D E[log D(x|y)] +
E[log(1 − D(G(z|y)|y))] (equation 2). As in the paper, y enters each network through a
hidden layer: a learned embedding concatenated with z in the generator, and a learned
embedding reshaped to one extra image channel in the discriminator. The networks are
convolutional, built from DCGAN's blocks (Radford et al. 2015).

With `projection=True` the discriminator is instead the projection discriminator of Miyato &
Koyama 2018 (https://arxiv.org/abs/1802.05637, section 3): D(x, y) = ψ(φ(x)) + embed(y)ᵀφ(x),
the label's embedding dotted with the image's features rather than concatenated to the input.
"""

import keras
import numpy as np
from keras import layers

from zoo import data
from zoo.labels import resolve_labels
from zoo.layers import spectrally_normalized
from zoo.models.base import BaseGAN
from zoo.models.dcgan import build_conditional_generator, build_projection_discriminator, downsample_to_features
from zoo.validation import check_int


def build_discriminator(image_shape, num_classes, filters=64, projection=False, spectral_norm=False):
    """(image, label) -> one logit: label as an extra input channel, or projected onto the features.

    `spectral_norm`: DCGAN's spectrally normalised layers without batch norm, and a normalised output layer.
    """
    if projection:
        return build_projection_discriminator(image_shape, num_classes, filters, spectral_norm)
    height, width, _ = image_shape
    image = keras.Input(image_shape, name="image")
    label = keras.Input((), dtype="int32", name="label")
    label_map = layers.Reshape((height, width, 1))(layers.Embedding(num_classes, height * width)(label))
    x = layers.Concatenate()([image, label_map])
    logit = spectrally_normalized(layers.Dense(1, dtype="float32"), spectral_norm)(downsample_to_features(x, image_shape, filters, spectral_norm))
    return keras.Model([image, label], logit, name="discriminator")


def check_class_names(class_names, num_classes):
    """The class names: given, numbered `0..num_classes-1`, or Fashion-MNIST's by default."""
    if class_names is None:
        if num_classes is None:
            return tuple(data.CLASS_NAMES)
        return tuple(str(index) for index in range(check_int("num_classes", num_classes, 1, 100_000)))
    if isinstance(class_names, str) or not isinstance(class_names, (tuple, list)) or len(class_names) < 2:
        raise ValueError(f"`class_names` must be a list of at least two names, got {class_names!r}.")
    if not all(isinstance(name, str) and name.strip() for name in class_names):
        raise ValueError(f"Every class name must be a non-empty string, got {class_names!r}.")
    unusable = [name for name in class_names if "," in name or name != name.strip()]
    if unusable:  # labels are read comma-separated and stripped: such a class could never be asked for by name
        raise ValueError(f"Class names cannot hold commas or start or end with spaces (labels are read as \"dress,coat\"), got {unusable!r}; rename them.")
    if len({name.lower() for name in class_names}) != len(class_names):
        raise ValueError(f"Class names must differ (ignoring case), got {class_names!r}.")
    if num_classes is not None and num_classes != len(class_names):
        raise ValueError(f"`num_classes`={num_classes} but {len(class_names)} class names were given.")
    return tuple(class_names)


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalGAN(BaseGAN):
    """Class-conditional convolutional GAN, trained with `fit` on `(images, labels)` batches.

    Args:
        latent_dim: size of the noise vector `z`.
        image_shape: square `(side, side, channels)`, side as for DCGAN (28, 32, 64, ...).
        class_names: names of the classes, in id order (default: Fashion-MNIST's ten).
        num_classes: number of classes when they have no names (named "0", "1", ...).
        embedding_dim: size of the generator's label embedding.
        g_filters: filters of the generator's last hidden layer; doubled at each layer before it.
        g_depth: 3×3 stride-1 convolutions added at each of the generator's hidden resolutions (see `DCGAN`).
        d_filters: filters of the discriminator's first layer; doubled at each layer after it.
        projection: use the projection discriminator of Miyato & Koyama 2018.
        spectral_norm: spectrally normalise the discriminator's layers instead of batch norm
            (Miyato et al. 2018); best with `compile(loss_fn="hinge")`.
        seed: seed of the training noise.
        ema_decay: keep a moving average of the generator for sampling (see `BaseGAN`).

    Examples:

    ```python
    cgan = zoo.ConditionalGAN(projection=True)
    cgan.compile(loss_fn="hinge")
    cgan.fit(zoo.data.load_fashion_mnist(batch_size=128, with_labels=True), epochs=5)
    dresses = cgan.generate(16, labels="dress", seed=0)  # (16, 28, 28, 1) in [-1, 1]
    mixed = cgan.generate(labels=["sandal", 9, "bag"], seed=0)  # one image each
    ```
    """

    family = "cgan"
    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets, https://arxiv.org/abs/1411.1784"
    conditional = True

    def __init__(
        self,
        latent_dim=100,
        image_shape=(28, 28, 1),
        class_names=None,
        num_classes=None,
        embedding_dim=50,
        g_filters=64,
        d_filters=64,
        projection=False,
        spectral_norm=False,
        g_depth=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, seed=seed, **kwargs)
        if self.image_shape[0] != self.image_shape[1]:
            raise ValueError(f"ConditionalGAN needs square images, got image_shape={self.image_shape}.")
        self.class_names = check_class_names(class_names, num_classes)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1, 65_536)
        self.g_filters = check_int("g_filters", g_filters, 1, 4096)
        self.d_filters = check_int("d_filters", d_filters, 1, 4096)
        self.projection = bool(projection)
        self.spectral_norm = bool(spectral_norm)
        self.g_depth = check_int("g_depth", g_depth, 0, 16)
        num_classes = len(self.class_names)
        self.set_networks(
            build_conditional_generator(self.latent_dim, self.image_shape, num_classes, self.embedding_dim, self.g_filters, self.g_depth),
            build_discriminator(self.image_shape, num_classes, self.d_filters, self.projection, self.spectral_norm),
        )

    @property
    def num_classes(self):
        return len(self.class_names)

    def generate(self, n=None, seed=None, z=None, labels=None, batch_size=256, prompt=None, truncation=None):
        """Returns generated images of the asked classes, float32 in [-1, 1], NHWC.

        Args:
            n: number of images; default: one per label given.
            seed: seed of the noise (`zoo.latent.sample_latent`, as ONNX apps draw it).
            z: the noise itself, instead of `n` and `seed`.
            labels: class ids or names (`"dress"`, `3`, `["sandal", 9]`, `"dress,coat"`),
                repeated in turn to fill `n`; default: all classes in turn.
            batch_size: images per generator call.
            truncation: redraw noise values beyond this magnitude (`zoo.latent.sample_latent`).
        """
        if prompt is not None:
            raise ValueError(f"{type(self).__name__} is not a text-to-image model: it takes no `prompt`.")
        if n is None and z is None and labels is not None:
            n = len(resolve_labels(labels, self.class_names))
        z = self._latent_input(n, seed, z, truncation)
        return self.generate_from({"z": z, "label": resolve_labels(labels, self.class_names, len(z))}, batch_size)

    def export_inputs(self):
        return {"z": ((None, self.latent_dim), "float32"), "label": ((None,), "int64")}

    def export_call(self, inputs):
        return self.sampling_generator([inputs["z"], inputs["label"]], training=False)

    def export_example(self, n, seed=None):
        examples = super().export_example(n, seed)
        examples["label"] = np.random.default_rng(seed).integers(0, self.num_classes, n, dtype=np.int64)
        return examples

    def card(self):
        card = super().card()
        card["classes"] = list(self.class_names)
        card["discriminator"] = "projection (Miyato & Koyama 2018)" if self.projection else "label as an extra input channel"
        if self.spectral_norm:
            card["discriminator"] += "; spectral normalisation, no batch norm (Miyato et al. 2018)"
        return card

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "class_names": list(self.class_names),
                "embedding_dim": self.embedding_dim,
                "g_filters": self.g_filters,
                "d_filters": self.d_filters,
                "projection": self.projection,
                "spectral_norm": self.spectral_norm,
                "g_depth": self.g_depth,
            }
        )
        return config
