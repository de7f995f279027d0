"""Latent noise shared by every path that generates images, in every language.

A seed names the same images from Keras, from `zoo.runtime`, from the Node app and from the
web page: all of them draw `z` with the portable noise generator specified in
docs/artifacts.md ("Noise", `ganzoo-normal-v1`), implemented here in numpy and in
`apps/common/ganzoo.mjs` in JavaScript, bit for bit the same float32 values:

1. 64-bit words from SplitMix64 (Steele, Lea & Flood 2014): word i (i = 1, 2, ...) of seed s is
   `mix(s + i·0x9E3779B97F4A7C15 mod 2**64)`, a counter-based generator any language with
   64-bit (or BigInt) integers computes exactly;
2. uniforms `u = (word >> 11) · 2**-53` in [0, 1), exact in IEEE doubles;
3. normals by Marsaglia's polar method (Marsaglia & Bray 1964; Knuth, TAOCP vol. 2, 3.4.1
   Algorithm P) from successive pairs of uniforms, with a logarithm written out in additions,
   multiplications and divisions (`portable_log`), so no platform's libm can change a bit;
4. the float64 normals rounded to float32, filled row-major into `(n, latent_dim)`.

```python
from zoo import latent
z = latent.sample_latent(16, 100, seed=0)                 # what generate(16, seed=0) runs on
z = latent.sample_latent(16, 100, seed=0, truncation=1.5)  # the truncation trick (BigGAN)
path = latent.interpolate(z[0], z[1], steps=8)             # slerp, for generate(z=path)
```
"""

import math
import secrets

import numpy as np

from zoo.validation import check_int, check_number

NOISE_SPEC = "ganzoo-normal-v1"
GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment: 2**64 / φ, odd
MIX_1, MIX_2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # Stafford's Mix13 constants, as in splitmix64.c
LN2 = 0.6931471805599453  # the double nearest ln 2
SQRT_HALF = 0.7071067811865476  # the double nearest √½
LOG_TERMS = 12  # terms of the atanh series: |f| ≤ 0.1716, so the 12th is below 2**-56 of the sum
MAX_SEED = 2**64 - 1
# Peak bytes per value while a draw runs (words, uniforms, pairs in float64: 73 measured); draws
# of `CHECKED_DRAW` values or more are held to the available memory before anything is allocated.
DRAW_BYTES_PER_VALUE = 80
CHECKED_DRAW = 1 << 24


def check_seed(seed):
    """`seed` as an int in [0, 2**64); None draws one from the operating system."""
    return secrets.randbits(64) if seed is None else check_int("seed", seed, 0, MAX_SEED)


def splitmix64(seed, start, count):
    """Words `start + 1 .. start + count` of SplitMix64 seeded with `seed`, as uint64."""
    with np.errstate(over="ignore"):
        state = np.arange(start + 1, start + count + 1, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA) + np.uint64(seed)
        state = (state ^ (state >> np.uint64(30))) * np.uint64(MIX_1)
        state = (state ^ (state >> np.uint64(27))) * np.uint64(MIX_2)
        return state ^ (state >> np.uint64(31))


def portable_log(s):
    """Natural logarithm of positive normal doubles from +, −, ×, ÷ alone (bit-exact in any IEEE-754 language).

    s = m·2**e with m in [√½, √2); ln m = 2·atanh(f) with f = (m − 1)/(m + 1), summed as
    2f·(1 + f²/3 + f⁴/5 + ...) by Horner's rule. Within 2 ulp of the true logarithm.
    """
    m, e = np.frexp(np.asarray(s, np.float64))
    low = m < SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = np.where(low, e - 1, e).astype(np.float64)
    f = (m - 1.0) / (m + 1.0)
    w = f * f
    p = np.full_like(f, 1.0 / (2 * LOG_TERMS - 1))
    for k in range(LOG_TERMS - 2, -1, -1):
        p = p * w + 1.0 / (2 * k + 1)
    return e * LN2 + (2.0 * f) * p


class NormalStream:
    """The `ganzoo-normal-v1` stream of N(0, 1) values of one seed, drawn in order.

    `normal(count)` continues where the last call stopped, so drawing a batch at a time gives
    the same values as drawing them all at once.
    """

    def __init__(self, seed=None):
        self.seed = check_seed(seed)
        self.words = 0  # SplitMix64 words used so far
        self.pending = None  # the second value of a polar pair not handed out yet

    def __repr__(self):
        return f"NormalStream(seed={self.seed}, words={self.words})"

    def normal(self, count):
        """The next `count` values of the stream, float64."""
        out = np.empty(count, np.float64)
        filled = 0
        if count and self.pending is not None:
            out[0], self.pending, filled = self.pending, None, 1
        pairs_needed = (count - filled + 1) // 2
        values = []
        while pairs_needed:
            candidates = int(pairs_needed / (math.pi / 4) * 1.02) + 8  # the polar method keeps π/4 of its pairs
            words = splitmix64(self.seed, self.words, 2 * candidates)
            u = (words >> np.uint64(11)).astype(np.float64) * 2.0**-53
            x, y = 2.0 * u[0::2] - 1.0, 2.0 * u[1::2] - 1.0
            s = x * x + y * y
            kept = np.flatnonzero((s < 1.0) & (s > 0.0))[:pairs_needed]
            used = int(kept[-1]) + 1 if len(kept) == pairs_needed else candidates
            self.words += 2 * used
            x, y, s = x[kept], y[kept], s[kept]
            factor = np.sqrt(-2.0 * portable_log(s) / s)
            values.append(np.stack([x * factor, y * factor], axis=1).ravel())
            pairs_needed -= len(kept)
        if values:
            values = np.concatenate(values)
            out[filled:] = values[: count - filled]
            if len(values) > count - filled:
                self.pending = float(values[-1])
        return out

    def truncated_normal(self, count, threshold):
        """The next `count` values of the stream whose magnitude is at most `threshold`;
        the others are skipped (the truncation trick: Brock et al. 2019, BigGAN, §3.1)."""
        out = []
        needed = count
        while needed:
            values = self.normal(needed)
            values = values[np.abs(values) <= threshold]
            out.append(values)
            needed -= len(values)
        return np.concatenate(out) if out else np.empty(0, np.float64)

    def latent(self, n, latent_dim, truncation=None):
        """The next `n` latent vectors, float32 (n, latent_dim), filled row-major."""
        count = check_int("n", n) * check_int("latent_dim", latent_dim)
        if count >= CHECKED_DRAW:  # a typo (latent_dim=10**9) was killed by the kernel for memory, not refused
            from zoo.images import check_memory

            check_memory(count * DRAW_BYTES_PER_VALUE, f"{n:,} latent vectors of {latent_dim:,} values",
                         "Draw fewer at a time: a NormalStream's `latent` calls continue its stream.", purpose=" to draw")
        values = self.normal(count) if truncation is None else self.truncated_normal(count, check_truncation(truncation))
        return values.astype(np.float32).reshape(n, latent_dim)


def sample_latent(n, latent_dim, seed=None, truncation=None):
    """Returns `n` latent vectors of size `latent_dim` drawn from N(0, 1) as float32.

    The values are the `ganzoo-normal-v1` stream of `seed` (docs/artifacts.md), which the Node
    and web apps draw too. `truncation`: keep only values of magnitude at most this, drawing the
    next ones instead (BigGAN's truncation trick: smaller values trade variety for fidelity).
    """
    return NormalStream(seed).latent(n, latent_dim, truncation)


def latent_input(n, latent_dim, seed=None, z=None, truncation=None):
    """What every `generate` runs on: the noise `z` as given (checked), or `n` vectors of `seed`."""
    if z is None:
        if n is None:
            raise ValueError("Pass the number of images `n` (or the noise `z`).")
        return sample_latent(n, latent_dim, seed, truncation)
    if truncation is not None:
        raise ValueError("`truncation` applies to noise drawn from a seed; given `z`, truncate it yourself.")
    z = check_latent(z, latent_dim)
    if n is not None and check_int("n", n) != len(z):
        raise ValueError(f"`n`={n} but `z` holds {len(z)} rows.")
    return z


def slerp(z0, z1, t):
    """Spherical interpolation from `z0` (t = 0) to `z1` (t = 1) (Shoemake 1985; for GAN latents,
    White 2016, "Sampling Generative Networks"): points keep the norm a Gaussian sample has,
    where a straight line passes through the low-norm middle the generator rarely saw.

    `t` is a number or a sequence; returns float32 of shape `z0.shape` or `(len(t),) + z0.shape`.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"`z0` and `z1` must be two vectors of one size, got shapes {z0.shape} and {z1.shape}.")
    t = np.asarray(t, np.float64)
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    if norms == 0:
        raise ValueError("slerp needs two non-zero vectors.")
    omega = np.arccos(np.clip(np.dot(z0, z1) / norms, -1.0, 1.0))
    tt = t[..., None]
    if np.sin(omega) < 1e-6:  # (anti)parallel vectors: the arc is a line
        return ((1.0 - tt) * z0 + tt * z1).astype(np.float32)
    return ((np.sin((1.0 - tt) * omega) * z0 + np.sin(tt * omega) * z1) / np.sin(omega)).astype(np.float32)


def interpolate(z0, z1, steps=8, method="slerp"):
    """`steps` latent vectors from `z0` to `z1` (both included), float32 (steps, latent_dim):
    `method` "slerp" (see `slerp`) or "linear". Feed them to `generate(z=...)`."""
    steps = check_int("steps", steps)
    t = np.linspace(0.0, 1.0, steps)
    if method == "slerp":
        return slerp(z0, z1, t)
    if method == "linear":
        z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
        if z0.shape != z1.shape or z0.ndim != 1:
            raise ValueError(f"`z0` and `z1` must be two vectors of one size, got shapes {z0.shape} and {z1.shape}.")
        return ((1.0 - t[:, None]) * z0 + t[:, None] * z1).astype(np.float32)
    raise ValueError(f"`method` must be 'slerp' or 'linear', got {method!r}.")


def check_truncation(truncation, name="truncation"):
    """`truncation` as a float in [0.1, ∞); smaller thresholds would skip most of the stream.
    `name`: what the error calls it (the CLI's "--truncation")."""
    return check_number(name, truncation, 0.1, math.inf, high_open=True)


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

