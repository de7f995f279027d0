"""The portable noise of docs/artifacts.md ("Noise", ganzoo-normal-v1) and the latent helpers.

The Node and browser side of the same specification is checked in tests/test_apps.py.
"""

import re
import subprocess
import sys

import numpy as np
import pytest

from zoo import latent

# SplitMix64 of seed 0, words 1..3, as Vigna's splitmix64.c gives them (state starting at 0).
SPLITMIX64_SEED_0 = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
# The first float32 values of seed 0 (bit patterns): the contract's golden values, also quoted
# in docs/artifacts.md, so that any port can check itself.
GOLDEN_SEED_0 = ["3f7c0a05", "be341714", "bf3649f8", "be9feba1"]  # 0.98452788, -0.17586929, -0.71206617, -0.31234458


def test_splitmix64_is_the_published_generator():
    assert latent.splitmix64(0, 0, 3).tolist() == SPLITMIX64_SEED_0


def test_the_first_values_of_seed_0_are_the_golden_ones():
    z = latent.sample_latent(1, 4, seed=0)
    assert [f"{bits:08x}" for bits in z.view(np.uint32).ravel()] == GOLDEN_SEED_0


def test_the_log_of_the_spec_is_within_two_ulp_of_the_true_one():
    s = np.concatenate([np.random.default_rng(0).uniform(2.0**-104, 1.0, 100_000), [2.0**-104, 0.5, np.nextafter(latent.SQRT_HALF, 0), 1 - 2**-53]])
    error = np.abs(latent.portable_log(s) - np.log(s))
    assert np.all(error <= 2 * np.spacing(np.abs(np.log(s))))


def test_values_follow_a_standard_normal():
    values = latent.NormalStream(7).normal(400_000)
    assert abs(values.mean()) < 0.01 and abs(values.var() - 1) < 0.01
    assert abs(np.mean(np.abs(values) < 1.0) - 0.6827) < 0.005  # one sigma
    assert abs(np.mean(values**4) - 3.0) < 0.06  # normal kurtosis


def test_drawing_in_pieces_gives_the_values_drawn_at_once():
    stream = latent.NormalStream(11)
    pieces = [stream.normal(count) for count in (1, 2, 3, 0, 5, 1000)]
    np.testing.assert_array_equal(np.concatenate(pieces), latent.NormalStream(11).normal(1011))
    stream = latent.NormalStream(11)
    rows = np.concatenate([stream.latent(3, 7), stream.latent(5, 7)])
    np.testing.assert_array_equal(rows, latent.sample_latent(8, 7, seed=11))


def test_seeds_differ_and_none_draws_a_fresh_one():
    assert not np.array_equal(latent.sample_latent(2, 8, seed=0), latent.sample_latent(2, 8, seed=1))
    assert not np.array_equal(latent.sample_latent(2, 8), latent.sample_latent(2, 8))
    assert latent.sample_latent(1, 3, seed=2**64 - 1).shape == (1, 3)


@pytest.mark.inputs
@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "3"])
def test_seeds_outside_0_to_2_64_are_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        latent.sample_latent(1, 4, seed=seed)


def test_truncation_keeps_the_stream_order_and_bounds_every_value():
    z = latent.sample_latent(50, 20, seed=3, truncation=0.5)
    assert np.abs(z).max() <= 0.5
    kept = latent.NormalStream(3).normal(20_000)
    np.testing.assert_array_equal(z.ravel(), kept[np.abs(kept) <= 0.5][:1000].astype(np.float32))
    stream = latent.NormalStream(3)
    np.testing.assert_array_equal(np.concatenate([stream.latent(20, 20, 0.5), stream.latent(30, 20, 0.5)]), z)


@pytest.mark.inputs
@pytest.mark.parametrize("truncation", [0, 0.05, -1.0, float("nan"), float("inf"), "1"])
def test_truncation_thresholds_that_would_skip_most_of_the_stream_are_refused(truncation):
    with pytest.raises(ValueError, match="truncation"):
        latent.sample_latent(1, 4, seed=0, truncation=truncation)


def test_slerp_runs_between_the_end_points_along_the_sphere():
    z0, z1 = latent.sample_latent(2, 64, seed=5)
    path = latent.interpolate(z0, z1, steps=9)
    assert path.shape == (9, 64) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    norms = np.linalg.norm(path, axis=1)
    line = np.linalg.norm(latent.interpolate(z0, z1, steps=9, method="linear"), axis=1)
    assert norms.min() > 0.9 * min(norms[0], norms[-1])  # slerp keeps the norm a Gaussian sample has
    assert line[4] < norms[4]  # the straight line sags towards the origin
    np.testing.assert_allclose(latent.slerp(z0, z0 * 2, 0.5), z0 * 1.5, rtol=1e-5)  # parallel: a line


@pytest.mark.inputs
def test_interpolation_refuses_vectors_of_different_sizes_and_unknown_methods():
    with pytest.raises(ValueError, match="one size"):
        latent.slerp(np.ones(3), np.ones(4), 0.5)
    with pytest.raises(ValueError, match="slerp' or 'linear"):
        latent.interpolate(np.ones(3), np.ones(3), method="cubic")
    with pytest.raises(ValueError, match="non-zero"):
        latent.slerp(np.zeros(3), np.ones(3), 0.5)


@pytest.mark.inputs
@pytest.mark.parametrize("n, latent_dim", [(2, 10**9), (10**9, 100)])
def test_a_draw_that_cannot_fit_in_memory_is_refused_before_it_is_allocated(n, latent_dim):
    """A typo in latent_dim or n got the process killed by the kernel (73 bytes a value while drawing).
    The draw runs in a process held to 2 GiB of address space, so that without the check it fails
    with MemoryError instead of taking the machine's memory."""
    draw = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); from zoo import latent\n"
            f"try: latent.sample_latent({n}, {latent_dim}, seed=0)\nexcept ValueError as error: print(error)")
    refused = subprocess.run([sys.executable, "-c", draw], capture_output=True, text=True, timeout=120)
    assert re.fullmatch(f"{n:,} latent vectors of {latent_dim:,} values would need about .* of memory to draw; .*\n", refused.stdout), refused.stderr[-1000:]
    assert latent.sample_latent(2, 100, seed=0).shape == (2, 100)
