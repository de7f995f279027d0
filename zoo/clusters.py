"""Clusters of the training images, for a self-conditioned GAN (Liu et al. 2020, "Diverse Image
Generation via Self-Conditioned Generative Adversarial Networks", https://arxiv.org/abs/2006.10728).

An unconditional GAN drawn towards the modes its discriminator rewards leaves other kinds of
image out and blends kinds into shapeless samples. Self-conditioning gives both networks a
cluster id found without labels: the generator is asked for a cluster, the discriminator judges
each image together with its cluster (Miyato & Koyama's projection), and sampling draws the
cluster with its frequency in the data, so the model still maps noise alone to images.

Liu et al. cluster the discriminator's features and cluster again during training; here the
clusters are fixed before training, by k-means (scikit-learn) on the principal components of
the pixels: cheap, label-free, and on Fashion-MNIST close to the garment kinds.

Two layers hold what the model keeps:

- `ClusterAssignment` (training): the projection and the centres; maps a batch of real images to
  the id of its nearest centre, inside the training step.
- `ClusterChoice` (sampling, exported): the clusters' cumulative frequencies; maps one standard
  normal noise value to a cluster id with those frequencies (through the normal CDF), so the
  exported generator takes `z` alone, and `z[:, 1:]`, independent of the id, is the noise.
"""

import math

import keras
import numpy as np
from keras import ops

# Principal components the pixels are reduced to before k-means: enough for Fashion-MNIST's
# kinds of garment (about 86% of the pixel variance), few enough that k-means takes seconds.
PCA_COMPONENTS = 50
# At most this many images are clustered (all of Fashion-MNIST's training split).
MAX_IMAGES = 60_000


def fit_clusters(images, clusters, components=PCA_COMPONENTS, seed=0):
    """k-means on the principal components of `images`' pixels.

    Returns a dict of float32 arrays: `mean` (pixels,), `basis` (pixels, components), `centres`
    (clusters, components) and `frequencies` (clusters,), the share of images in each cluster.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    pixels = np.asarray(images, np.float32).reshape(len(images), -1)
    if len(pixels) < clusters:
        raise ValueError(f"Cannot find {clusters} clusters in {len(pixels)} images: give at least as many images as clusters.")
    if not np.isfinite(pixels).all():
        raise ValueError("The images to cluster hold NaN or infinite values.")
    components = min(components, pixels.shape[1], len(pixels))
    pca = PCA(components, random_state=seed).fit(pixels)
    reduced = pca.transform(pixels)
    kmeans = KMeans(clusters, n_init=3, random_state=seed).fit(reduced)
    counts = np.bincount(kmeans.labels_, minlength=clusters)
    return {
        "mean": pca.mean_.astype(np.float32),
        "basis": pca.components_.T.astype(np.float32),
        "centres": kmeans.cluster_centers_.astype(np.float32),
        "frequencies": (counts / counts.sum()).astype(np.float32),
    }


class ClusterAssignment(keras.layers.Layer):
    """Images -> the id of the nearest cluster centre in principal-component space (int32)."""

    def __init__(self, clusters, pixels, components=PCA_COMPONENTS, **kwargs):
        super().__init__(**kwargs)
        self.clusters, self.pixels, self.components = clusters, pixels, min(components, pixels)
        self.mean = self.add_weight(shape=(pixels,), initializer="zeros", trainable=False, name="mean")
        self.basis = self.add_weight(shape=(pixels, self.components), initializer="zeros", trainable=False, name="basis")
        self.centres = self.add_weight(shape=(clusters, self.components), initializer="zeros", trainable=False, name="centres")
        # Zero until `set_clusters`: a model must not train on clusters it has not found.
        self.fitted = self.add_weight(shape=(), initializer="zeros", trainable=False, name="fitted")
        self.built = True  # its weights exist: Keras need not build it from a first call

    def set_clusters(self, fitted):
        """Installs `fit_clusters`'s result."""
        if fitted["mean"].shape != (self.pixels,):
            raise ValueError(f"The clusters were found in images of {fitted['mean'].shape[0]} values each; this layer takes images of {self.pixels}.")
        if fitted["centres"].shape != (self.clusters, self.components):
            raise ValueError(f"Expected {self.clusters} centres of {self.components} components, got {fitted['centres'].shape}.")
        self.mean.assign(fitted["mean"])
        self.basis.assign(fitted["basis"])
        self.centres.assign(fitted["centres"])
        self.fitted.assign(1.0)

    @property
    def is_fitted(self):
        return bool(ops.convert_to_numpy(self.fitted) > 0)

    def call(self, images):
        reduced = ops.matmul(ops.reshape(ops.cast(images, "float32"), (-1, self.pixels)) - self.mean, self.basis)
        # |a - c|² = |a|² - 2a·c + |c|²; |a|² is the same for every centre.
        distances = ops.sum(ops.square(self.centres), axis=1) - 2.0 * ops.matmul(reduced, ops.transpose(self.centres))
        return ops.cast(ops.argmin(distances, axis=1), "int32")


class ClusterChoice(keras.layers.Layer):
    """One N(0, 1) value per row -> a cluster id drawn with the clusters' frequencies (int32).

    u = Φ(z) is uniform on (0, 1); the id is the number of cumulative frequencies below u. The
    frequencies start uniform, so an unfitted model still draws every cluster.
    """

    def __init__(self, clusters, **kwargs):
        super().__init__(**kwargs)
        self.clusters = clusters
        uniform = np.arange(1, clusters, dtype=np.float32) / clusters
        self.bounds = self.add_weight(shape=(clusters - 1,), initializer=keras.initializers.Constant(uniform), trainable=False, name="bounds")
        self.built = True

    def set_frequencies(self, frequencies):
        frequencies = np.asarray(frequencies, np.float64)
        if frequencies.shape != (self.clusters,) or (frequencies < 0).any() or not math.isclose(frequencies.sum(), 1.0, rel_tol=1e-4):
            raise ValueError(f"Expected {self.clusters} non-negative frequencies summing to 1, got {frequencies}.")
        self.bounds.assign(np.cumsum(frequencies)[:-1].astype(np.float32))

    def call(self, z0):
        uniform = 0.5 * (1.0 + ops.erf(ops.cast(z0, "float32") / math.sqrt(2.0)))
        return ops.cast(ops.sum(ops.cast(ops.expand_dims(uniform, 1) > self.bounds, "int32"), axis=1), "int32")
