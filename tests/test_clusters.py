"""Self-conditioning: clusters found without labels, drawn from the noise, trained on with `fit`."""

import numpy as np
import pytest
from scipy.special import ndtri

from tests import harness
from zoo import clusters, data, onnx_tuning, runtime
from zoo.models import DCGAN


def two_kinds_of_image(n_dark=30, n_light=70, seed=0):
    """Dark and light 28×28 images with a little noise: two clusters anyone can see, in a 30/70 split."""
    rng = np.random.default_rng(seed)
    dark = -0.8 + 0.05 * rng.standard_normal((n_dark, 28, 28, 1))
    light = 0.8 + 0.05 * rng.standard_normal((n_light, 28, 28, 1))
    return np.clip(np.concatenate([dark, light]), -1, 1).astype(np.float32)


def self_conditioned_dcgan(**kwargs):
    return DCGAN(latent_dim=9, g_filters=8, d_filters=8, clusters=3, cluster_embedding_dim=4, seed=0, **kwargs)


def test_kmeans_finds_the_two_kinds_and_their_shares():
    images = two_kinds_of_image()
    fitted = clusters.fit_clusters(images, 2)
    assignment = clusters.ClusterAssignment(2, 28 * 28)
    assignment.set_clusters(fitted)
    ids = np.asarray(assignment(images))
    assert len(set(ids[:30])) == 1 and len(set(ids[30:])) == 1 and ids[0] != ids[-1]  # one cluster per kind
    np.testing.assert_allclose(sorted(fitted["frequencies"]), [0.3, 0.7], atol=1e-6)
    assert fitted["frequencies"][ids[0]] == pytest.approx(0.3)


def test_assignment_is_the_nearest_centre_in_principal_component_space():
    images, _ = data.load_arrays("train")
    images = data.to_unit_range(images[:600])
    fitted = clusters.fit_clusters(images, 5, components=10)
    assignment = clusters.ClusterAssignment(5, 28 * 28, components=10)
    assignment.set_clusters(fitted)
    reduced = (images.reshape(600, -1) - fitted["mean"]) @ fitted["basis"]
    nearest = np.argmin(((reduced[:, None, :] - fitted["centres"][None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(np.asarray(assignment(images)), nearest)


def test_the_choice_draws_each_cluster_with_its_frequency():
    choice = clusters.ClusterChoice(3)
    choice.set_frequencies([0.2, 0.5, 0.3])
    # u = Φ(z) just inside each cluster's share of (0, 1) picks that cluster
    at = ndtri(np.array([0.01, 0.19, 0.21, 0.69, 0.71, 0.99], np.float32))
    np.testing.assert_array_equal(np.asarray(choice(at)), [0, 0, 1, 1, 2, 2])
    drawn = np.asarray(choice(np.random.default_rng(0).standard_normal(100_000).astype(np.float32)))
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(drawn), [0.2, 0.5, 0.3], atol=0.005)


@pytest.mark.backend
def test_fit_finds_the_clusters_first_then_trains_both_networks(real_batches):
    gan = self_conditioned_dcgan(ema_decay=0.99)
    gan.compile()
    assert not gan.cluster_assignment.is_fitted
    harness.check_trains(gan, real_batches)
    assert gan.cluster_assignment.is_fitted
    bounds = np.asarray(gan.cluster_choice.bounds)
    assert np.all(np.diff(bounds) > 0) and 0 < bounds[0] and bounds[-1] < 1
    # the real batch's clusters condition both networks
    images = next(iter(real_batches))
    _, ids = gan.unpack_batch(images)
    np.testing.assert_array_equal(np.asarray(ids), np.asarray(gan.cluster_assignment(images)))
    assert len(set(np.asarray(ids).tolist())) > 1
    # a second fit keeps them
    centres = np.array(gan.cluster_assignment.centres)
    gan.fit(real_batches.take(1), epochs=1, verbose=0)
    np.testing.assert_array_equal(np.array(gan.cluster_assignment.centres), centres)


@pytest.mark.inputs
def test_a_python_generator_is_not_consumed_to_find_clusters(real_batches):
    """A generator of batches cannot be read twice: `fit` says to call `fit_clusters` first and
    leaves it unread; with the clusters found, the same generator trains."""
    gan = self_conditioned_dcgan()
    gan.compile()
    arrays = [np.asarray(batch) for batch in real_batches.take(2)]
    batches = ((batch,) for batch in arrays)
    with pytest.raises(ValueError, match=r"fit_clusters\(images\) first"):
        gan.fit(batches, epochs=1, steps_per_epoch=1, verbose=0)
    gan.fit_clusters(np.concatenate(arrays))
    history = gan.fit(batches, epochs=1, steps_per_epoch=2, verbose=0)  # both batches still there
    assert np.isfinite(history.history["d_loss"][-1])


def test_the_first_noise_value_picks_the_cluster_the_rest_is_noise():
    gan = self_conditioned_dcgan()
    gan.fit_clusters(two_kinds_of_image(), seed=0)
    z = np.random.default_rng(1).standard_normal((2, 9)).astype(np.float32)
    z[:, 0] = ndtri(np.array([0.05, 0.95], np.float32))  # clusters 0 and 2, same noise after
    z[1, 1:] = z[0, 1:]
    ids = np.asarray(gan.cluster_choice(z[:, 0]))
    assert ids[0] != ids[1]
    images = gan.generate(z=z)
    expected = [np.asarray(gan.generator([z[i : i + 1, 1:], ids[i : i + 1]], training=False))[0] for i in range(2)]
    np.testing.assert_allclose(images, expected, atol=1e-6)
    assert not np.allclose(images[0], images[1], atol=1e-4)


def test_a_self_conditioned_generator_exports_takes_z_alone_and_reloads(real_batches, tmp_path):
    gan = self_conditioned_dcgan(ema_decay=0.99)
    gan.compile()
    gan.fit(real_batches.take(2), epochs=1, verbose=0)
    card = harness.check_export(gan, tmp_path / "art")
    assert card["inputs"] == {"z": {"shape": ["batch", 9], "dtype": "float32"}}
    assert "self_conditioning" in card and "3 clusters" in card["self_conditioning"]
    # onnxruntime's tuned graphs (float32, and int8 when asked) draw the same clusters as Keras
    expected = gan.generate(300, seed=4)
    np.testing.assert_allclose(runtime.load(tmp_path / "art").generate(300, seed=4), expected, atol=1e-4)
    quantized = runtime.load(tmp_path / "art", precision="int8").generate(300, seed=4)
    anywhere, on_average = onnx_tuning.INT8_TOLERANCE  # the choice is not quantized: no image changes cluster
    assert np.abs(quantized - expected).max() <= anywhere and np.abs(quantized - expected).mean() <= on_average
    loaded = harness.check_save_load(gan, tmp_path / "gan.keras")
    assert loaded.cluster_assignment.is_fitted
    np.testing.assert_array_equal(np.asarray(loaded.cluster_choice.bounds), np.asarray(gan.cluster_choice.bounds))
    assert harness.check_config_round_trip(gan).clusters == 3


@pytest.mark.inputs
def test_wrong_uses_are_refused_with_the_problem_named():
    with pytest.raises(ValueError, match="not self-conditioned"):
        DCGAN(latent_dim=8, g_filters=4, d_filters=4).fit_clusters(two_kinds_of_image())
    with pytest.raises(ValueError, match="latent_dim ≥ 2"):
        DCGAN(latent_dim=1, clusters=3)
    with pytest.raises(ValueError, match="clusters"):
        DCGAN(clusters=1)
    with pytest.raises(ValueError, match="at least as many images as clusters"):
        clusters.fit_clusters(two_kinds_of_image(2, 2), 5)
    with pytest.raises(ValueError, match="NaN"):
        clusters.fit_clusters(np.full((10, 28, 28, 1), np.nan, np.float32), 2)
    with pytest.raises(ValueError, match="frequencies"):
        clusters.ClusterChoice(3).set_frequencies([0.5, 0.6, 0.1])


@pytest.mark.inputs
@pytest.mark.backend
def test_fit_clusters_takes_the_images_the_model_trains_on_only(fashion_dir):
    pixels = data.load_arrays("test")[0][:200]  # uint8 0..255: every real [-1, 1] image would fall in one cluster
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, clusters=5)
    with pytest.raises(ValueError, match=r"values from 0 to 255 \(0..255 pixels\)"):
        gan.fit_clusters(pixels)
    with pytest.raises(ValueError, match=r"values from 0 to 1 only, as images scaled to \[0, 1\]"):
        gan.fit_clusters(pixels / np.float32(255))
    images = data.to_unit_range(pixels)
    with pytest.raises(ValueError, match=r"shaped \(20, 28, 1\) per image, but this DCGAN makes \(28, 28, 1\)"):
        gan.fit_clusters(images[:, :20])  # once a raw variable.assign shape error
    assert not gan.cluster_assignment.is_fitted
    frequencies = gan.fit_clusters(images)
    assert len(np.unique(np.asarray(gan.cluster_assignment(images)))) == 5 and frequencies.max() < 0.5


def test_clusters_found_in_images_of_another_size_are_refused_by_the_layer():
    fitted = clusters.fit_clusters(two_kinds_of_image()[:, :20], 2)
    with pytest.raises(ValueError, match="found in images of 560 values each; this layer takes images of 784"):
        clusters.ClusterAssignment(2, 28 * 28).set_clusters(fitted)
