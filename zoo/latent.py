"""Latent noise shared by every path that generates images.

Keras models, the onnxruntime wrapper and other-language apps draw `z` the same way
(standard normal, float32, numpy's PCG64 generator), so a seed names the same images
everywhere.
"""

import numpy as np


def sample_latent(n, latent_dim, seed=None):
    """Returns `n` latent vectors of size `latent_dim` drawn from N(0, 1) as float32."""
    n = check_count(n)
    return np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)


def check_count(n, name="n"):
    """Returns `n` as an int, or raises ValueError when it is not a positive whole number."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"`{name}` must be a positive integer number of images, got {n!r}.")
    return int(n)
