"""The onnxruntime wrapper: the exported generator with no TensorFlow in the loop."""

import numpy as np
import pytest

from zoo import runtime
from zoo.export import export_generator
from zoo.models import DCGAN


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    gan = DCGAN(latent_dim=12, g_filters=8, d_filters=8, seed=0)
    directory = tmp_path_factory.mktemp("exports") / "tiny-dcgan"
    export_generator(gan, directory)
    return gan, directory


def test_sampling_is_deterministic_for_a_seed_and_matches_keras(artifact):
    gan, directory = artifact
    generator = runtime.load(directory)
    assert generator.latent_dim == 12 and generator.image_shape == (28, 28, 1)
    first = generator.generate(10, seed=5, batch_size=4)
    np.testing.assert_array_equal(first, generator.generate(10, seed=5))
    assert not np.array_equal(first, generator.generate(10, seed=6))
    np.testing.assert_allclose(first, gan.generate(10, seed=5), atol=1e-4)


def test_runs_on_cpu_when_no_gpu_is_present(artifact):
    generator = runtime.load(artifact[1])
    assert generator.providers[-1] == "CPUExecutionProvider"
    assert generator.card["family"] == "dcgan"


def test_wrong_latent_size_is_named(artifact):
    generator = runtime.load(artifact[1])
    with pytest.raises(ValueError, match=r"\(n, 12\)"):
        generator(np.zeros((2, 100), np.float32))


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_non_positive_sample_count_is_refused(artifact, n):
    with pytest.raises(ValueError, match="positive integer"):
        runtime.load(artifact[1]).generate(n)


def test_non_finite_noise_is_refused(artifact):
    z = np.zeros((2, 12), np.float32)
    z[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        runtime.load(artifact[1])(z)


def test_missing_and_corrupt_files_give_clear_errors(artifact, tmp_path):
    with pytest.raises(FileNotFoundError, match="No exported generator"):
        runtime.load(tmp_path / "nothing-here")
    corrupt = tmp_path / "generator.onnx"
    corrupt.write_bytes((artifact[1] / "generator.onnx").read_bytes()[:5000])
    with pytest.raises(ValueError, match="not a loadable ONNX generator"):
        runtime.load(corrupt)
