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
