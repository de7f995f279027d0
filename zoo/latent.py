"""Latent noise shared by every Python path that generates images.

Keras models (`generate`), the onnxruntime wrapper (`zoo.runtime`), the CLI and the callbacks
draw `z` the same way (standard normal, float32, numpy's PCG64 generator), so in Python a seed
names the same images from Keras and from ONNX. The Node and browser apps draw their own seeded
noise (`apps/common/ganzoo.mjs`: mulberry32 uniforms through Box-Muller), so there a seed names
other images; give them explicit noise to reproduce Python's.
"""

import numpy as np

from zoo.validation import check_int


def sample_latent(n, latent_dim, seed=None):
    """Returns `n` latent vectors of size `latent_dim` drawn from N(0, 1) as float32."""
    n = check_int("n", n)
    return np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)


def check_latent(z, latent_dim):
    """Returns `z` as float32 (n, latent_dim), n > 0, all finite; or raises ValueError naming the problem."""
    z = np.asarray(z)
    if z.dtype.kind not in "fiu":
        raise ValueError(f"`z` must hold real numbers, got dtype {z.dtype}.")
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"`z` must have shape (n, {latent_dim}), got {z.shape}.")
    if z.shape[0] == 0:
        raise ValueError("`z` holds no rows: ask for at least one image.")
    z = z.astype(np.float32, copy=False)
    if not np.all(np.isfinite(z)):
        raise ValueError("`z` holds NaN or infinite values.")
    return z

