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


# ----- batches without TensorFlow (zoo.batches.ArrayBatches: what JAX and PyTorch train from) -----


@pytest.mark.backend
def test_array_batches_cover_every_row_once_an_epoch_and_reshuffle(fashion_dir):
    from zoo.batches import ArrayBatches

    images, labels = data.load_arrays("test")
    images, labels = images[:100], labels[:100]
    batches = ArrayBatches((images, labels), 32, seed=0, drop_remainder=False)
    assert len(batches) == 4 and [len(batches[i][0]) for i in range(4)] == [32, 32, 32, 4]
    epochs = []
    for _ in range(2):
        pairs = [(x, y) for batch_x, batch_y in batches for x, y in zip(batch_x, batch_y)]
        batches.on_epoch_end()
        epochs.append(pairs)
        order = [next(i for i in range(100) if np.array_equal(images[i], x)) for x, _ in pairs]
        assert sorted(order) == list(range(100))  # each row once
        assert [labels[i] for i in order] == [y for _, y in pairs]  # images keep their labels
    assert [x.tobytes() for x, _ in epochs[0]] != [x.tobytes() for x, _ in epochs[1]]  # a new order each epoch
    again = ArrayBatches((images, labels), 32, seed=0, drop_remainder=False)
    np.testing.assert_array_equal(again[0][0], ArrayBatches((images, labels), 32, seed=0)[0][0])  # the seed fixes it


@pytest.mark.backend
def test_array_batches_in_order_take_and_drop_the_remainder_as_tf_data_does(fashion_dir):
    from zoo.batches import ArrayBatches

    images = data.to_unit_range(data.load_arrays("test")[0][:100])
    batches = ArrayBatches(images, 32, shuffle=False)
    assert len(batches) == 3 and batches[2].shape == (32, 28, 28, 1)
    np.testing.assert_array_equal(np.concatenate(list(batches)), images[:96])
    first = batches.take(2)
    assert len(first) == 2 and len(batches) == 3
    np.testing.assert_array_equal(next(iter(first)), images[:32])
    with pytest.raises(IndexError):
        batches[3]


@pytest.mark.backend
@pytest.mark.inputs
def test_array_batches_refuse_mismatched_arrays_and_oversized_batches():
    from zoo.batches import ArrayBatches

    with pytest.raises(ValueError, match="as many rows"):
        ArrayBatches((np.zeros((10, 2)), np.zeros(9)), 2)
    with pytest.raises(ValueError, match="larger than the 10 examples"):
        ArrayBatches(np.zeros((10, 2)), 16)
    with pytest.raises(ValueError, match="batch_size"):
        ArrayBatches(np.zeros((10, 2)), 0)


@pytest.mark.backend
def test_fit_gets_tf_data_on_tensorflow_and_numpy_batches_elsewhere(fashion_dir):
    import keras

    batches = data.load_fashion_mnist("test", batch_size=16, limit=64, shuffle=False, with_labels=True)
    images, labels = next(iter(batches))
    first_images, first_labels = data.load_arrays("test")
    np.testing.assert_array_equal(np.asarray(labels), first_labels[:16])
    np.testing.assert_allclose(np.asarray(images), data.to_unit_range(first_images[:16]))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        assert isinstance(batches, tf.data.Dataset)
    else:
        assert isinstance(batches, keras.utils.PyDataset) and len(batches) == 4


@pytest.mark.inputs
def test_a_split_needs_only_its_own_files(tmp_path, fashion_dir):
    for name in data.FILES["train"]:  # the GPU machine gets the training split alone
        (tmp_path / name).symlink_to(fashion_dir / name)
    images, labels = data.load_arrays("train", tmp_path)
    assert images.shape == (60_000, 28, 28, 1) and labels.shape == (60_000,)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        data.load_arrays("test", tmp_path)


@pytest.mark.inputs
def test_to_unit_range_takes_uint8_pixels_only(fashion_dir):
    pixels = data.load_arrays("test")[0][:4]
    images = data.to_unit_range(pixels)
    assert images.dtype == np.float32 and images.min() == -1.0 and images.max() == 1.0
    with pytest.raises(ValueError, match=r"uint8 pixels 0..255, got dtype float32. Images in \[0, 1\] map to \[-1, 1\] by x \* 2 - 1"):
        data.to_unit_range(pixels.astype(np.float32) / 255)  # once [-1, -0.992]: all but black
    with pytest.raises(ValueError, match="got dtype int64"):
        data.to_unit_range(pixels.astype(np.int64))


@pytest.mark.inputs
@pytest.mark.backend
def test_batched_refuses_arrays_that_would_make_no_batch():
    images = np.zeros((64, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="batch_size=100 is larger than the 64 examples given, which drop_remainder=True would leave with no batch"):
        data.batched(images, batch_size=100)
    with pytest.raises(ValueError, match="no examples to batch"):
        data.batched(images[:0], batch_size=16, drop_remainder=False)
    assert len(list(data.batched(images, batch_size=100, drop_remainder=False))) == 1
    assert len(list(data.batched((images, np.zeros(64, np.int32)), batch_size=32))) == 2


@pytest.mark.backend
def test_fit_takes_array_batches_in_their_own_order_as_it_takes_tf_data(fashion_dir):
    """`load_fashion_mnist(shuffle=False)` on JAX is an `ArrayBatches`: `fit` must not reorder its
    batches (Keras shuffles a PyDataset's batches by Python's unseeded `random` unless told not to)."""
    from zoo.batches import ArrayBatches
    from zoo.models import GAN

    class Recorded(ArrayBatches):
        read = []

        def __getitem__(self, index):
            self.read.append(index)
            return super().__getitem__(index)

    batches = Recorded(data.to_unit_range(data.load_arrays("test")[0][:96]), 16, shuffle=False)
    gan = GAN(latent_dim=4, g_units=(8,), d_units=(8,), seed=0)
    gan.compile()
    Recorded.read.clear()
    gan.fit(batches, epochs=1, verbose=0)
    assert Recorded.read[-6:] == list(range(6))  # (Keras reads batch 0 once more before, to see its shapes)
