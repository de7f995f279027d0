"""DCGAN: deep convolutional GAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434).

The architecture guidelines of section 3: no pooling (strided convolutions in the
discriminator, transposed convolutions in the generator), batch norm in both networks (not on
the generator's output nor the discriminator's input), ReLU in the generator with tanh at the
output, LeakyReLU(0.2) in the discriminator; Adam(2e-4, beta_1=0.5). Kernels are 4×4 so that
each stride-2 transposed convolution covers every output pixel evenly (no checkerboard).

With `spectral_norm=True` the discriminator follows Miyato et al. 2018 (https://arxiv.org/abs/1802.05957)
instead: every weight layer divided by its largest singular value (`keras.layers.SpectralNormalization`,
one power iteration per call), and no batch norm; pair it with the hinge loss, as the paper does.

With `clusters=k` the DCGAN is self-conditioned (Liu et al. 2020, https://arxiv.org/abs/2006.10728):
the training images are split into k clusters without labels (`zoo.clusters`), the generator is
asked for a cluster and the discriminator judges an image with its cluster, by Miyato & Koyama's
projection (https://arxiv.org/abs/1802.05637), as the class-conditional GAN does with classes. The
model still maps noise alone to images: the first noise value picks the cluster, with its
frequency in the data, and the rest is the generator's noise.
"""

import keras
from keras import layers, ops

from zoo import layers as convolutions
from zoo.clusters import MAX_IMAGES, ClusterAssignment, ClusterChoice, fit_clusters
from zoo.layers import LeakyReLU, spectrally_normalized
from zoo.models import backend
from zoo.models.base import BaseGAN, check_training_data, training_images
from zoo.validation import check_int

KERNEL_SIZE = 4


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


def batch_norm():
    """Batch normalisation whose statistics span every replica when built under a strategy.

    Local statistics would make N devices train a different model from one device on the
    same global batch; synchronising them (TensorFlow only) keeps the two the same. On one
    device `zoo.layers.BatchNormalization` trains through TensorFlow's fused kernel.
    """
    return convolutions.BatchNormalization(synchronized=backend.has_strategy())


def build_generator(latent_dim, image_shape, filters=64, depth=0):
    """z -> projected and reshaped to a small square, then doubled by transposed convolutions."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, upsample_to_image(z, image_shape, filters, depth), name="generator")


def build_conditional_generator(latent_dim, image_shape, num_classes, embedding_dim=50, filters=64, depth=0):
    """(z, label) -> [z, embed(label)] -> the upsampling stack -> tanh image."""
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embedding_dim)(label)
    x = layers.Concatenate()([z, embedded])
    return keras.Model([z, label], upsample_to_image(x, image_shape, filters, depth), name="generator")


def upsample_to_image(x, image_shape, filters, depth=0):
    """A flat tensor -> Dense -> a small square -> stride-2 transposed convolutions -> tanh image.

    `depth` 3×3 stride-1 convolutions (BN, ReLU) follow at each hidden resolution: more layers
    for few more weights (the Dense projection holds most of them).
    """
    height, width, channels = image_shape
    start, steps = upsampling_plan(height)
    x = layers.Dense(start * start * filters * 2 ** (steps - 1), use_bias=False)(x)
    x = batch_norm()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((start, start, filters * 2 ** (steps - 1)))(x)
    x = refine(x, depth)
    for step in range(steps - 1):
        x = convolutions.Conv2DTranspose(filters * 2 ** (steps - 2 - step), KERNEL_SIZE, 2, "same", use_bias=False)(x)
        x = batch_norm()(x)
        x = layers.ReLU()(x)
        x = refine(x, depth)
    return convolutions.Conv2DTranspose(channels, KERNEL_SIZE, 2, "same", activation="tanh", dtype="float32")(x)


def refine(x, depth):
    """`depth` 3×3 stride-1 convolutions keeping `x`'s size and channels, each with BN and ReLU."""
    for _ in range(depth):
        x = convolutions.Conv2D(x.shape[-1], 3, 1, "same", use_bias=False)(x)
        x = batch_norm()(x)
        x = layers.ReLU()(x)
    return x


def build_discriminator(image_shape, filters=64, spectral_norm=False):
    """Image -> halved by strided convolutions -> one logit (real vs generated)."""
    image = keras.Input(image_shape, name="image")
    features = downsample_to_features(image, image_shape, filters, spectral_norm)
    logit = spectrally_normalized(layers.Dense(1, dtype="float32"), spectral_norm)(features)
    return keras.Model(image, logit, name="discriminator")


def build_projection_discriminator(image_shape, num_classes, filters=64, spectral_norm=False):
    """(image, label) -> ψ(φ(image)) + embed(label)ᵀφ(image): the label's embedding dotted with
    the image's features (Miyato & Koyama 2018, section 3)."""
    image = keras.Input(image_shape, name="image")
    label = keras.Input((), dtype="int32", name="label")
    features = downsample_to_features(image, image_shape, filters, spectral_norm)
    # The embedding stays unnormalised: Keras's SpectralNormalization casts its output to the
    # input's dtype, which for integer labels would truncate the embedding and stop its gradient.
    embedded = layers.Embedding(num_classes, features.shape[-1])(label)
    projected = layers.Dot(axes=1)([embedded, features])
    logit = layers.Add(dtype="float32")([spectrally_normalized(layers.Dense(1), spectral_norm)(features), projected])
    return keras.Model([image, label], logit, name="discriminator")


def downsample_to_features(x, image_shape, filters, spectral_norm=False):
    """An image-sized tensor -> strided convolutions -> flat features.

    Batch norm follows every convolution but the first; with `spectral_norm`, each convolution is
    spectrally normalised instead and there is no batch norm (Miyato et al. 2018).
    """
    _, steps = upsampling_plan(image_shape[0])
    for step in range(steps):
        x = spectrally_normalized(convolutions.Conv2D(filters * 2**step, KERNEL_SIZE, 2, "same", use_bias=step == 0 or spectral_norm), spectral_norm)(x)
        if step > 0 and not spectral_norm:
            x = batch_norm()(x)
        x = LeakyReLU(0.2)(x)
    return layers.Flatten()(x)


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(BaseGAN):
    """Deep convolutional GAN, trained with `fit` on batches of images in [-1, 1].

    Args:
        latent_dim: size of the noise vector `z` (paper: 100).
        image_shape: square `(side, side, channels)`, side a start of 3–7 doubled at least once
            (28, 32, 64, ...), 1 or 3 channels.
        g_filters: filters of the generator's last hidden layer; doubled at each layer before it.
        g_depth: 3×3 stride-1 convolutions added at each of the generator's hidden resolutions
            (0: the paper's generator, one transposed convolution per resolution).
        d_filters: filters of the discriminator's first layer; doubled at each layer after it.
        spectral_norm: spectrally normalise the discriminator's layers instead of batch norm
            (Miyato et al. 2018); best with `compile(loss_fn="hinge")`.
        clusters: self-condition on this many clusters of the training images (Liu et al.
            2020; see the module's docstring): found by `fit` on its first call (or by
            `fit_clusters`), then `z[:, 0]` picks the cluster and `z[:, 1:]` is the noise.
        cluster_embedding_dim: size of the generator's cluster embedding, concatenated with the
            noise (with `clusters`).
        seed: seed of the training noise.
        ema_decay: keep a moving average of the generator for sampling (see `BaseGAN`).

    Trained with `BaseGAN.train_step` (Goodfellow et al. 2014, Algorithm 1, k = 1), as the
    paper does; any loss of `zoo.losses` can replace the default non-saturating one.

    Examples:

    ```python
    gan = zoo.DCGAN(latent_dim=100, image_shape=(28, 28, 1))
    gan.compile()  # Adam(2e-4, 0.5) for both networks, non-saturating loss
    gan.fit(zoo.data.load_fashion_mnist(batch_size=128), epochs=5)
    images = gan.generate(16, seed=0)  # (16, 28, 28, 1) in [-1, 1]

    diverse = zoo.DCGAN(clusters=50, cluster_embedding_dim=36, latent_dim=65)  # self-conditioned
    diverse.compile()
    diverse.fit(zoo.data.load_fashion_mnist(batch_size=128), epochs=5)  # finds the 50 clusters first
    ```
    """

    family = "dcgan"
    paper = "Radford, Metz & Chintala 2015, Unsupervised Representation Learning with Deep Convolutional GANs, https://arxiv.org/abs/1511.06434"

    def __init__(
        self,
        latent_dim=100,
        image_shape=(28, 28, 1),
        g_filters=64,
        d_filters=64,
        spectral_norm=False,
        g_depth=0,
        clusters=None,
        cluster_embedding_dim=36,
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, seed=seed, **kwargs)
        if self.image_shape[0] != self.image_shape[1]:
            raise ValueError(f"DCGAN needs square images, got image_shape={self.image_shape}.")
        self.g_filters = check_int("g_filters", g_filters, 1, 4096)
        self.d_filters = check_int("d_filters", d_filters, 1, 4096)
        self.spectral_norm = bool(spectral_norm)
        self.g_depth = check_int("g_depth", g_depth, 0, 16)
        self.clusters = None if clusters is None else check_int("clusters", clusters, 2, 10_000)
        self.cluster_embedding_dim = check_int("cluster_embedding_dim", cluster_embedding_dim, 1, 65_536)
        if self.clusters is None:
            self.set_networks(
                build_generator(self.latent_dim, self.image_shape, self.g_filters, self.g_depth),
                build_discriminator(self.image_shape, self.d_filters, self.spectral_norm),
            )
            return
        if self.latent_dim < 2:
            raise ValueError(f"A self-conditioned DCGAN needs latent_dim ≥ 2 (one value picks the cluster), got {self.latent_dim}.")
        height, width, channels = self.image_shape
        self.cluster_assignment = ClusterAssignment(self.clusters, height * width * channels, name="cluster_assignment")
        self.cluster_choice = ClusterChoice(self.clusters, name="cluster_choice")
        self.set_networks(
            build_conditional_generator(self.latent_dim - 1, self.image_shape, self.clusters, self.cluster_embedding_dim, self.g_filters, self.g_depth),
            build_projection_discriminator(self.image_shape, self.clusters, self.d_filters, self.spectral_norm),
        )

    # ----- self-conditioning (with `clusters`) -----------------------------------------

    def fit(self, x=None, y=None, *args, **kwargs):
        """`BaseGAN.fit`; a self-conditioned model first finds its clusters in `x` if it has none."""
        if self.clusters is not None and not self.cluster_assignment.is_fitted:
            check_training_data(self, x, y)  # before the clusters are looked for in it
            images = training_images(x, MAX_IMAGES)
            if images is None:
                raise ValueError(
                    "A self-conditioned DCGAN finds its clusters in the training data before its first step, and cannot read "
                    f"a {type(x).__name__} without consuming it: call fit_clusters(images) first, or pass an array, a "
                    "tf.data.Dataset or a keras.utils.PyDataset."
                )
            self.fit_clusters(images, seed=0 if self.seed is None else self.seed)
        return super().fit(x, y, *args, **kwargs)

    def fit_clusters(self, images, seed=0):
        """Finds the model's clusters in `images` (k-means on their principal components) and
        the frequencies sampling draws them with; returns the frequencies.

        `images` must be what the model trains on (`check_training_data`): shaped `image_shape`,
        in [-1, 1]. Clusters found in 0..255 pixels would put every real image in one cluster.
        """
        if self.clusters is None:
            raise ValueError("This DCGAN is not self-conditioned: build it with `clusters=k` to give it clusters.")
        images = ops.convert_to_numpy(images)  # one array: check_training_data would read a list as (images, labels)
        check_training_data(self, images)
        fitted = fit_clusters(images, self.clusters, seed=seed)
        self.cluster_assignment.set_clusters(fitted)
        self.cluster_choice.set_frequencies(fitted["frequencies"])
        return fitted["frequencies"]

    def unpack_batch(self, data):
        """Real images and, when self-conditioned, their clusters (what both networks are given)."""
        images, _ = super().unpack_batch(data)
        return images, (None if self.clusters is None else self.cluster_assignment(images))

    def network_noise(self, z):
        """`z[:, 1:]` when self-conditioned: `z[:, 0]` picks the cluster when sampling. In training
        the fakes take the real batch's clusters instead, which have the same frequencies."""
        return z if self.clusters is None else z[:, 1:]

    def export_call(self, inputs):
        if self.clusters is None:
            return super().export_call(inputs)
        z = ops.convert_to_tensor(inputs["z"], "float32")
        return self.sampling_generator([self.network_noise(z), self.cluster_choice(z[:, 0])], training=False)

    def sampling_networks(self):
        networks = super().sampling_networks()
        return networks if self.clusters is None else {**networks, "cluster_choice": self.cluster_choice}

    def card(self):
        card = super().card()
        if self.spectral_norm:
            card["discriminator"] = "spectral normalisation, no batch norm (Miyato et al. 2018)"
        if self.clusters is not None:
            card["self_conditioning"] = (
                f"Liu et al. 2020, https://arxiv.org/abs/2006.10728: {self.clusters} clusters of the training images "
                "(k-means on the pixels' principal components, found before training); z[:, 0] picks the cluster "
                "with its frequency in the data (through the normal CDF), z[:, 1:] is the generator's noise; "
                "projection discriminator (Miyato & Koyama 2018)"
            )
        return card

    def get_config(self):
        config = super().get_config()
        config.update({"g_filters": self.g_filters, "d_filters": self.d_filters, "spectral_norm": self.spectral_norm, "g_depth": self.g_depth})
        if self.clusters is not None:
            config.update({"clusters": self.clusters, "cluster_embedding_dim": self.cluster_embedding_dim})
        return config
