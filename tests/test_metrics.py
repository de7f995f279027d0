"""FID, KID, precision/recall and class accuracy on features whose answer is known."""

import numpy as np
import pytest
import scipy.linalg

from zoo import metrics


def gaussian(n, d=16, seed=0, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).standard_normal((n, d)) * scale + shift


def direct_fid(a, b):
    """FID written out independently: Tr((Σ₁Σ₂)^½) as the sum of square roots of the eigenvalues of Σ₁Σ₂."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = scipy.linalg.eigvals(sigma_a @ sigma_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * np.sum(np.sqrt(eigenvalues)).real)


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_noise():
    features = gaussian(2000)
    assert abs(metrics.fid(features, features)) < 1e-6
    noise = np.random.default_rng(1).standard_normal(features.shape)
    scores = [metrics.fid(features, features + level * noise) for level in (0.1, 0.5, 1.0, 2.0)]
    assert scores[0] > 1e-3
    assert scores == sorted(scores), scores


def test_fid_matches_a_direct_computation():
    a, b = gaussian(300, d=8, seed=2), gaussian(250, d=8, seed=3, shift=0.3, scale=1.5)
    assert metrics.fid(a, b) == pytest.approx(direct_fid(a, b), rel=1e-6)
    # Same covariance, shifted means: FID is the squared distance between the means.
    mu = np.zeros(4), np.full(4, 2.0)
    assert metrics.frechet_distance(mu[0], np.eye(4), mu[1], np.eye(4)) == pytest.approx(16.0)


def test_fid_survives_singular_covariances():
    rank_two = gaussian(500, d=2) @ np.random.default_rng(4).standard_normal((2, 10))  # 10 features, rank 2
    assert abs(metrics.fid(rank_two, rank_two)) < 1e-3
    assert np.isfinite(metrics.fid(rank_two, gaussian(500, d=10)))


def test_kid_is_near_zero_for_one_distribution_and_grows_with_distance():
    same, _ = metrics.kid(gaussian(1000, seed=5), gaussian(1000, seed=6), subset_size=200, subsets=20)
    near, _ = metrics.kid(gaussian(1000, seed=5), gaussian(1000, seed=6, shift=0.3), subset_size=200, subsets=20)
    far, _ = metrics.kid(gaussian(1000, seed=5), gaussian(1000, seed=6, shift=1.0), subset_size=200, subsets=20)
    assert abs(same) < 0.02 < near < far
    # Subsets as large as both sets are all the same subset: one estimate, no spread to report.
    whole, spread = metrics.kid(gaussian(200, seed=5), gaussian(200, seed=6, shift=0.3), subset_size=200, subsets=20)
    assert spread is None and whole == pytest.approx(metrics.kid(gaussian(200, seed=5), gaussian(200, seed=6, shift=0.3), subset_size=200, subsets=1)[0])


def test_precision_and_recall_on_toy_distributions():
    real = gaussian(1000, d=2, seed=7)
    same = metrics.precision_recall(real, gaussian(1000, d=2, seed=8))
    assert same["precision"] > 0.85 and same["recall"] > 0.85
    away = metrics.precision_recall(real, gaussian(1000, d=2, seed=8, shift=20.0))
    assert away == {"precision": 0.0, "recall": 0.0}
    collapsed = metrics.precision_recall(real, gaussian(1000, d=2, seed=8, scale=0.1))  # one mode of the real data
    assert collapsed["precision"] > 0.95 and collapsed["recall"] < 0.2
    spread = metrics.precision_recall(real, gaussian(1000, d=2, seed=8, scale=3.0))  # covers the real data and more
    assert spread["recall"] > 0.9 and spread["precision"] < 0.5


def test_density_and_coverage_by_hand():
    # Real points on a line, k = 1: each real ball reaches its nearest other real point.
    #   radii: 0 -> 1, 1 -> 1, 2 -> 1, 4 -> 2; balls (0±1), (1±1), (2±1), (4±2), open.
    real = np.array([[0.0], [1.0], [2.0], [4.0]])
    fake = np.array([[0.5], [3.5], [10.0]])
    # 0.5 lies in the balls of 0 and 1, 3.5 in the ball of 4, 10 in none: density (2 + 1 + 0) / (1 · 3).
    # Real 0, 1 and 4 have a fake inside their ball, real 2 (nearest fake 1.5 away) has not: coverage 3/4.
    assert metrics.density_coverage(real, fake, k=1) == pytest.approx({"density": 1.0, "coverage": 0.75})
    # Precision (k = 1): 0.5 and 3.5 are inside the real manifold, 10 is not. Recall: the fake
    # radii are 3, 3 and 6.5, so every real point is inside the fake manifold.
    assert metrics.precision_recall(real, fake, k=1) == pytest.approx({"precision": 2 / 3, "recall": 1.0})
    # k = 2: radii 2, 1, 2, 3; 0.5 lies in the balls of 0, 1 and 2, 3.5 in those of 2 and 4, 10 in
    # none: density (3 + 2) / (2 · 3); every real ball holds a fake.
    assert metrics.density_coverage(real, fake, k=2) == pytest.approx({"density": 5 / 6, "coverage": 1.0})


def direct_density_coverage(real, fake, k):
    """Density and coverage written out with full distance matrices (Naeem et al. 2020, equations 5–6)."""
    real_to_real = np.linalg.norm(real[:, None] - real[None], axis=-1)
    radii = np.sort(real_to_real, axis=1)[:, k]  # column 0 is the point itself
    real_to_fake = np.linalg.norm(real[:, None] - fake[None], axis=-1)
    inside = real_to_fake < radii[:, None]
    return {"density": inside.sum() / (k * len(fake)), "coverage": inside.any(axis=1).mean()}


def test_density_and_coverage_match_a_direct_computation():
    real, fake = gaussian(300, d=5, seed=9), gaussian(200, d=5, seed=10, shift=0.4, scale=1.3)
    for k in (1, 3, 5):
        assert metrics.density_coverage(real, fake, k) == pytest.approx(direct_density_coverage(real, fake, k), rel=1e-12)


def test_a_copy_of_the_real_set_scores_density_exactly_one():
    # A generator that reproduces the real rows (memorisation, or real data scored as a generator):
    # each x_j lies strictly inside its own ball and inside the balls of the x_i that have it among
    # their k − 1 nearest, and on the sphere (outside, strictly) of those that have it k-th: k balls
    # each, so density is exactly 1 (Naeem et al. 2020, equation 5) and coverage 1, whatever the
    # order of the rows. Distances computed two ways (sklearn's |x|² − 2x·y + |y|² for the balls,
    # NearestNeighbors for the radii) put the k-th neighbour inside by round-off: 1.04 to 1.09 here
    # (and 1.062 on 2,000 of the classifier's real train features), where prdc gives 1.000.
    rows = np.random.default_rng(0)
    for d in (4, 16, 128):
        real = gaussian(500, d=d, seed=d)
        for fake in (real.copy(), real[rows.permutation(len(real))]):
            assert metrics.density_coverage(real, fake) == {"density": 1.0, "coverage": 1.0}
        # Half of the rows copied: the counts follow from the neighbour ranks alone (no round-off in them).
        half = real[:250].copy()
        assert metrics.density_coverage(real, half) == pytest.approx(direct_density_coverage(real, half, 5), rel=1e-12)
        order = np.argsort(np.linalg.norm(real[:, None] - real[None], axis=-1), axis=1)[:, :5]  # itself and its 4 nearest
        assert metrics.density_coverage(real, half)["density"] == pytest.approx(np.sum(order < 250) / (5 * 250), rel=1e-12)


def test_radii_and_balls_are_exact_where_distances_tie_far_from_the_origin():
    # A grid (many equal distances) far from the origin, where |x|² + |y|² − 2x·y loses the
    # last digits of a distance²: the radii and the ball counts are still those of exact distances.
    grid = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), axis=-1).reshape(-1, 2) * 0.1 + 1000.3
    exact = np.sqrt(np.sum((grid[:, None] - grid[None]) ** 2, axis=-1))
    for k in (1, 3, 5):
        radii = metrics.manifold_radii(grid, k)
        np.testing.assert_array_equal(radii, np.partition(exact, k, axis=1)[:, k])
        per_point, per_ball = metrics.ball_counts(grid, grid, radii)
        np.testing.assert_array_equal(per_point, np.sum(exact <= radii[None, :], axis=1))
        np.testing.assert_array_equal(per_ball, np.sum(exact <= radii[None, :], axis=0))


def test_density_and_coverage_on_toy_distributions():
    real = gaussian(2000, d=2, seed=11)
    same = metrics.density_coverage(real, gaussian(2000, d=2, seed=12))
    assert 0.9 < same["density"] < 1.1 and same["coverage"] > 0.93  # 1 − 2⁻⁵ ≈ 0.97 expected
    # Collapsed to one mode: each sample is realistic (the real balls shrink where real points
    # crowd, so about k of them hold any point of the real support), but few real balls are hit.
    collapsed = metrics.density_coverage(real, gaussian(2000, d=2, seed=12, scale=0.1))
    assert 0.8 < collapsed["density"] < 1.2 and collapsed["coverage"] < 0.1
    away = metrics.density_coverage(real, gaussian(2000, d=2, seed=12, shift=20.0))
    assert away == {"density": 0.0, "coverage": 0.0}


def test_a_real_outlier_fools_precision_but_not_density_or_coverage():
    # The trap of k-NN precision: a far real outlier gets a huge ball, and a generator that
    # puts every sample in it (a constant image) scores precision 1. Density counts it once
    # per k, coverage sees one real ball of 2001 hit.
    real = np.concatenate([gaussian(2000, d=2, seed=13), [[30.0, 30.0]]])
    constant = np.full((2000, 2), 25.0)
    assert metrics.precision_recall(real, constant)["precision"] == 1.0
    assert metrics.density_coverage(real, constant) == pytest.approx({"density": 1 / 5, "coverage": 1 / 2001})


def test_real_radii_measured_once_score_every_generator_alike():
    # An Evaluator measures its real rows' k-NN radii once and passes them to each score.
    real = gaussian(1500, d=8, seed=14)
    radii = {k: metrics.manifold_radii(real, k) for k in (3, 5)}
    for fake in (gaussian(1000, d=8, seed=15), gaussian(1000, d=8, seed=15, scale=0.2), np.full((1000, 8), 0.5)):
        assert metrics.precision_recall(real, fake, real_radii=radii[3]) == metrics.precision_recall(real, fake)
        assert metrics.density_coverage(real, fake, real_radii=radii[5]) == metrics.density_coverage(real, fake)


@pytest.mark.inputs
def test_real_radii_of_another_set_are_refused():
    real = gaussian(100, d=2)
    with pytest.raises(ValueError, match="real_radii must hold one radius per real row, 100; got shape \\(99,\\)"):
        metrics.precision_recall(real, gaussian(50, d=2, seed=1), real_radii=metrics.manifold_radii(real[:99], 3))


def test_the_radii_of_a_partly_collapsed_generator_are_exact():
    # Copies tie every row with its k-th neighbour: such rows are measured exactly, each different
    # row once and only against the rows tied with it (the k-th of all distances, written out, agrees).
    rng = np.random.default_rng(16)
    modes = rng.normal(size=(40, 64))
    features = np.concatenate([np.repeat(modes, rng.integers(1, 9, len(modes)), axis=0), modes[:10] + 1e-9 * rng.normal(size=(10, 64)), rng.normal(size=(300, 64))])
    for k in (1, 3, 5):
        written_out = [np.partition(metrics.exact_distances(row, features), k)[k] for row in features]
        assert np.array_equal(metrics.manifold_radii(features, k), written_out)


@pytest.mark.inputs
@pytest.mark.parametrize("k", [0, -1, 2.5, True, "5"])
def test_a_bad_neighbour_count_is_refused(k):
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        metrics.density_coverage(gaussian(20), gaussian(20), k=k)
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        metrics.precision_recall(gaussian(20), gaussian(20), k=k)


def test_class_accuracy():
    logits = np.eye(4)[[0, 1, 2, 3, 0]]
    assert metrics.class_accuracy(logits, [0, 1, 2, 3, 1]) == pytest.approx(0.8)


@pytest.mark.inputs
@pytest.mark.parametrize(
    "real, fake, message",
    [
        (np.zeros((5, 3)), np.zeros((5, 4)), "3 features per sample but `fake` has 4"),
        (np.zeros(5), np.zeros((5, 4)), "must be a 2-d array"),
        (np.full((5, 3), np.nan), np.zeros((5, 3)), "NaN or infinite"),
        (np.zeros((1, 3)), np.zeros((5, 3)), "at least 2 samples"),
        (np.array([["a"]]), np.zeros((5, 3)), "must hold numbers"),
    ],
)
def test_bad_features_are_refused_by_name(real, fake, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("`", ".")):
        metrics.fid(real, fake)


@pytest.mark.inputs
def test_class_accuracy_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="logits .n, classes. and labels"):
        metrics.class_accuracy(np.zeros((3, 10)), [1, 2])
