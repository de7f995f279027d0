"""Fashion-MNIST as batches of images in [-1, 1] for `fit`, from local files or TFDS.

Offline, the real data comes from the IDX files that Debian's package `dataset-fashion-mnist`
installs in /usr/share/datasets/fashion-mnist (override with `data_dir=` or the environment
variable GANZOO_FASHION_MNIST_DIR). Online, `source="tfds"` loads it through
tensorflow-datasets instead.

Reading (`load_arrays`: numpy arrays) is apart from batching (`batched`): a `tf.data.Dataset`
on the TensorFlow backend, a `keras.utils.PyDataset` of numpy batches on JAX and PyTorch, which
then train without TensorFlow installed.
"""

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from zoo.validation import check_int

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
DATA_DIR_VARIABLE = "GANZOO_FASHION_MNIST_DIR"
CLASS_NAMES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IDX_MAGIC = {3: 2051, 1: 2049}  # ndim -> magic number of uint8 IDX files


def read_idx(path, ndim):
    """Reads one gzipped IDX file (LeCun's MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path} is damaged or cut short ({error}): download or install it again.") from None
    if len(data) < 4 * (1 + ndim):
        raise ValueError(f"{path} is too short to be an IDX file ({len(data)} bytes).")
    magic, *shape = struct.unpack(f">{1 + ndim}I", data[: 4 * (1 + ndim)])
    if magic != IDX_MAGIC[ndim]:
        raise ValueError(f"{path} is not a {ndim}-d uint8 IDX file (magic {magic}, expected {IDX_MAGIC[ndim]}).")
    array = np.frombuffer(data, np.uint8, offset=4 * (1 + ndim))
    if array.size != np.prod(shape):
        raise ValueError(f"{path} is truncated: header says {shape}, found {array.size} values.")
    return array.reshape(shape)


def find_data_dir(data_dir=None, split=None):
    """Returns the folder holding the IDX files (of `split` only, when given): the argument, the
    environment variable or the default."""
    data_dir = Path(data_dir or os.environ.get(DATA_DIR_VARIABLE) or DEFAULT_DIR)
    pairs = [FILES[split]] if split in FILES else FILES.values()
    missing = [name for pair in pairs for name in pair if not (data_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {data_dir} (missing {', '.join(missing)}). Install it with "
            f"`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), point `data_dir=` or "
            f"${DATA_DIR_VARIABLE} at a folder holding the four IDX .gz files (--data-dir on the command line), or, "
            "to train, download it with tensorflow-datasets (source='tfds'; train --source tfds)."
        )
    return data_dir


def load_arrays(split="train", data_dir=None):
    """Returns `(images, labels)` of a split as uint8 arrays, images shaped (n, 28, 28, 1)."""
    if split not in FILES:
        raise ValueError(f"Unknown split {split!r}; choose one of {sorted(FILES)}.")
    data_dir = find_data_dir(data_dir, split)
    image_file, label_file = FILES[split]
    images = read_idx(data_dir / image_file, 3)[..., None]
    labels = read_idx(data_dir / label_file, 1)
    if len(images) != len(labels):
        raise ValueError(f"{data_dir}: {len(images)} images but {len(labels)} labels in split {split!r}.")
    return images, labels


def to_unit_range(images):
    """uint8 pixels 0..255 -> float32 in [-1, 1], the generators' output range.

    uint8 only: the scale x / 127.5 - 1 is right for 0..255 pixels alone, and float images
    could be 0..255 or already [0, 1] (which it would squeeze into [-1, -0.992]): map those
    yourself (x / 127.5 - 1, or x * 2 - 1).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        hint = " Images in [0, 1] map to [-1, 1] by x * 2 - 1; 0..255 floats by x / 127.5 - 1." if images.dtype.kind == "f" else ""
        raise ValueError(f"to_unit_range takes uint8 pixels 0..255, got dtype {images.dtype}.{hint}")
    return images.astype(np.float32) / 127.5 - 1.0


def load_fashion_mnist(
    split="train",
    batch_size=128,
    data_dir=None,
    source="local",
    with_labels=False,
    limit=None,
    shuffle=True,
    seed=None,
    drop_remainder=True,
):
    """Returns Fashion-MNIST as batches of images in [-1, 1] for `fit` (see `batched`).

    Args:
        split: "train" (60,000 images) or "test" (10,000).
        batch_size: images per batch.
        data_dir: folder of the IDX files (default: $GANZOO_FASHION_MNIST_DIR or
            /usr/share/datasets/fashion-mnist). Ignored when `source="tfds"`.
        source: "local" (IDX files) or "tfds" (`tfds.load("fashion_mnist")`, needs internet or a
            prepared TFDS data directory).
        with_labels: yield `(images, labels)` (int32 class ids) instead of images alone.
        limit: keep only the first `limit` examples (for quick runs and tests).
        shuffle: shuffle the examples every epoch.
        seed: shuffling seed.
        drop_remainder: drop the last incomplete batch, so every step sees the same shape.
    """
    batch_size = check_int("batch_size", batch_size)
    limit = None if limit is None else check_int("limit", limit)
    if source == "local":
        images, labels = load_arrays(split, data_dir)
    elif source == "tfds":
        try:
            import tensorflow_datasets as tfds
        except ImportError as error:
            raise ValueError(f"source='tfds' needs tensorflow-datasets and TensorFlow ({error}); use the local IDX files.") from None

        images, labels = tfds.as_numpy(tfds.load("fashion_mnist", split=split, batch_size=-1, as_supervised=True))
    else:
        raise ValueError(f"Unknown source {source!r}; choose 'local' or 'tfds'.")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if len(images) < batch_size and drop_remainder:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(images)} examples loaded.")
    images = to_unit_range(images)
    labels = labels.astype(np.int32)
    return batched((images, labels) if with_labels else images, batch_size, shuffle, seed, drop_remainder)


def batched(arrays, batch_size=128, shuffle=True, seed=None, drop_remainder=True):
    """Batches in-memory `arrays` (one array, or a tuple such as `(images, labels)`) for `fit`.

    On the TensorFlow backend: a shuffled, batched, prefetched `tf.data.Dataset` (its fast path).
    On the others: a `zoo.batches.ArrayBatches` (a `keras.utils.PyDataset`), which needs no
    TensorFlow. Both reshuffle every epoch and have `take(n)`. Refuses arrays that would make no
    batch (empty, or fewer rows than `batch_size` when `drop_remainder`).
    """
    import keras

    batch_size = check_int("batch_size", batch_size)
    rows = len(arrays[0] if isinstance(arrays, (tuple, list)) else arrays)
    if rows == 0:
        raise ValueError("There are no examples to batch: the arrays hold 0 rows.")
    if drop_remainder and rows < batch_size:  # the one incomplete batch would be dropped: fit would train on nothing
        raise ValueError(f"batch_size={batch_size} is larger than the {rows} examples given, which drop_remainder=True would leave with no batch: pass a smaller batch_size or drop_remainder=False.")
    if keras.backend.backend() != "tensorflow":
        from zoo.batches import ArrayBatches

        return ArrayBatches(arrays, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(len(arrays[0] if isinstance(arrays, tuple) else arrays), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def load_tfds_images(name, split="train", image_size=None, batch_size=128, with_labels=False, limit=None, shuffle=True, seed=None):
    """A TFDS image dataset (`tfds.load(name)`, downloaded on first use: needs internet) as batches
    of images in [-1, 1], each cropped to its central square and resized to `image_size` (default:
    the dataset's own size when square). Returns `(dataset, image_shape, class_names)`; class names
    are empty when the dataset has no "label" feature.

    Faces at 64×64: `load_tfds_images("celeb_a", image_size=64)` (TFDS may ask you to download
    CelebA's files by hand; a folder of its aligned JPEGs works with `zoo.image_folder` too).
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name)
    except Exception as error:  # tfds raises its own DatasetNotFoundError for unknown names
        raise ValueError(f"Unknown TFDS dataset {name!r}: {error}") from error
    features = builder.info.features
    if "image" not in features:
        raise ValueError(f"TFDS dataset {name!r} has no 'image' feature (features: {', '.join(features)}).")
    height, width, channels = features["image"].shape
    if channels not in (1, 3):
        raise ValueError(f"TFDS dataset {name!r} has {channels}-channel images; grey (1) or RGB (3) are supported.")
    if image_size is None:
        if height is None or height != width:
            raise ValueError(f"TFDS dataset {name!r} has images of {height}×{width}: pass an image size (--image-size).")
        image_size = height
    class_names = tuple(features["label"].names) if "label" in features and hasattr(features["label"], "names") else ()
    if with_labels and not class_names:
        raise ValueError(f"TFDS dataset {name!r} has no class labels ('label' feature) for a class-conditional model.")
    try:
        builder.download_and_prepare()
        examples = builder.as_dataset(split=split, shuffle_files=shuffle)
    except Exception as error:  # network, manual-download datasets, disk: tfds raises many types
        raise OSError(f"Could not load the TFDS dataset {name!r} (TFDS downloads it on first use, which needs internet): {error}") from error
    if limit is not None:
        examples = examples.take(limit)

    def prepare(example):
        image = example["image"]
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        image = tf.image.resize_with_crop_or_pad(image, side, side)
        image = tf.image.resize(image, (image_size, image_size), method="area", antialias=True)
        image = tf.cast(image, tf.float32) / 127.5 - 1.0
        return (image, tf.cast(example["label"], tf.int32)) if with_labels else image

    dataset = examples.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    return dataset, (image_size, image_size, channels), class_names
