"""Fashion-MNIST from the local IDX files."""

import gzip

import numpy as np
import pytest

from zoo import data


def test_local_files_give_scaled_shuffled_batches(fashion_dir):
    images, labels = data.load_arrays("test", fashion_dir)
    assert images.shape == (10_000, 28, 28, 1) and labels.shape == (10_000,)
    assert set(np.unique(labels)) == set(range(10))
    batch = next(iter(data.load_fashion_mnist("test", batch_size=64, seed=0)))
    assert batch.shape == (64, 28, 28, 1)
    assert float(batch.numpy().min()) >= -1.0 and float(batch.numpy().max()) <= 1.0
    assert float(batch.numpy().min()) == -1.0  # the black background


def test_labelled_batches_pair_images_with_class_ids(labelled_batches):
    images, labels = next(iter(labelled_batches))
    assert images.shape == (32, 28, 28, 1) and labels.shape == (32,)
    _, first_labels = data.load_arrays("train")
    np.testing.assert_array_equal(labels.numpy(), first_labels[:32])


@pytest.mark.inputs
def test_missing_directory_names_the_package_and_the_options(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist") as error:
        data.load_fashion_mnist(data_dir=tmp_path / "nowhere")
    assert "GANZOO_FASHION_MNIST_DIR" in str(error.value) and "tfds" in str(error.value)


def test_environment_variable_points_at_another_folder(tmp_path, monkeypatch, fashion_dir):
    for name in [n for pair in data.FILES.values() for n in pair]:
        (tmp_path / name).symlink_to(fashion_dir / name)
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, str(tmp_path))
    assert data.find_data_dir() == tmp_path


@pytest.mark.files
def test_a_truncated_idx_file_is_refused(tmp_path, fashion_dir):
    with gzip.open(fashion_dir / "t10k-labels-idx1-ubyte.gz") as f:
        payload = f.read()
    broken = tmp_path / "labels.gz"
    with gzip.open(broken, "wb") as f:
        f.write(payload[:-10])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(broken, 1)


@pytest.mark.inputs
def test_unknown_split_and_source_are_named():
    with pytest.raises(ValueError, match="split"):
        data.load_arrays("validation")
    with pytest.raises(ValueError, match="source"):
        data.load_fashion_mnist(source="s3")


@pytest.mark.files
def test_a_gz_file_cut_short_names_the_file(tmp_path, fashion_dir):
    whole = (fashion_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    cut = tmp_path / "t10k-labels-idx1-ubyte.gz"
    cut.write_bytes(whole[: len(whole) // 2])  # the gzip stream itself ends early, as a broken download leaves it
    with pytest.raises(ValueError, match=f"{cut} is damaged or cut short"):
        data.read_idx(cut, 1)
    cut.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=f"{cut} is damaged or cut short"):
        data.read_idx(cut, 1)
