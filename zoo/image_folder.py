"""Your own images as training data: a folder of JPEG or PNG files, RGB or grey.

```sh
python -m zoo train dcgan --images faces/ --image-size 64      # every image under faces/
python -m zoo train cgan --images garments/ --image-size 32    # one sub-folder per class
```

The folder layout is `keras.utils.image_dataset_from_directory`'s: for a class-conditional
model each sub-folder is a class, named by the folder, in alphanumeric order; files may sit in
nested folders. Each image is read with PIL, cropped to its central square, resized to
`image_size` × `image_size` (Lanczos) and turned into grey (1 channel) or RGB (3): grey when
every image in the folder is grey, RGB otherwise.

Reading (`scan`, `read_image`: PIL into uint8 numpy arrays) is kept apart from feeding
`fit` (`ImageFolderDataset`, a `keras.utils.PyDataset`, which needs neither TensorFlow nor
tf.data and so serves the JAX backend too).
"""

import dataclasses
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The formats `keras.utils.image_dataset_from_directory` reads, plus WebP.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
MAX_UNREADABLE_LISTED = 5
SUBSET_SEED = 0  # which images `limit` keeps: the same for every run
UNREADABLE = (UnidentifiedImageError, OSError, Image.DecompressionBombError)  # PIL's errors for a file it will not read
FILE_ENDS = {"PNG": b"\x00\x00\x00\x00IEND\xaeB`\x82", "JPEG": b"\xff\xd9"}  # PNG's IEND chunk, JPEG's end-of-image marker


@dataclasses.dataclass
class ImageFolder:
    """The images found in a folder: their paths, class ids (or None), class names and channels."""

    directory: Path
    paths: list
    labels: np.ndarray = None
    class_names: tuple = ()
    channels: int = 3

    def __len__(self):
        return len(self.paths)

    def describe(self):
        classes = f", {len(self.class_names)} classes" if self.class_names else ""
        return f"{len(self.paths)} images in {self.directory}{classes}"


def image_files(folder):
    """The image files under `folder` (any depth), sorted; hidden files and folders are skipped.

    Symbolic links to folders inside it are not followed, as `keras.utils.image_dataset_from_directory`
    does not by default (`follow_links=False`); `folder` itself (a class folder too) may be one.
    A folder that cannot be listed (no permission, say) raises ValueError naming it: its images
    would otherwise be left out of training without a word.
    """
    folder = Path(folder)
    found, unlisted = [], []
    for root, folders, names in os.walk(folder, onerror=unlisted.append):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(root, name) for name in names if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES]
    if unlisted:
        listed = ", ".join(f"{error.filename} ({type(error).__name__})" for error in unlisted[:MAX_UNREADABLE_LISTED])
        more = f" and {len(unlisted) - MAX_UNREADABLE_LISTED} more" if len(unlisted) > MAX_UNREADABLE_LISTED else ""
        raise ValueError(f"{len(unlisted)} folder(s) under {folder} cannot be listed, so their images would be left out: {listed}{more}. Make them readable or move them out.")
    return sorted(path for path in found if path.is_file())


def scan(directory, with_labels=False, channels=None):
    """Finds and checks the images of `directory`; returns an `ImageFolder`.

    Raises ValueError naming the problem for a folder with no images (or, with labels, fewer
    than two class folders, or an empty class folder) and for files PIL cannot read; a missing
    folder raises FileNotFoundError.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No folder of images at {directory}.")
    if with_labels:
        classes = sorted(child for child in directory.iterdir() if child.is_dir() and not child.name.startswith("."))
        if len(classes) < 2:
            raise ValueError(
                f"{directory} needs one sub-folder of images per class (at least two) for a class-conditional "
                f"model, as keras.utils.image_dataset_from_directory reads them; found {len(classes)}."
            )
        per_class = [image_files(folder) for folder in classes]
        empty = [folder.name for folder, files in zip(classes, per_class) if not files]
        if empty:
            raise ValueError(f"Class folder(s) without images in {directory}: {', '.join(empty)} (images: {', '.join(IMAGE_SUFFIXES)}).")
        paths = [path for files in per_class for path in files]
        labels = np.concatenate([np.full(len(files), index, np.int32) for index, files in enumerate(per_class)])
        class_names = tuple(folder.name for folder in classes)
    else:
        paths, labels, class_names = image_files(directory), None, ()
    if not paths:
        others = sum(1 for path in directory.rglob("*") if path.is_file())
        found = f"{others} file(s), none with an image suffix" if others else "nothing"
        raise ValueError(f"No images in {directory}: found {found}; expected files ending in {', '.join(IMAGE_SUFFIXES)}.")
    modes, unreadable = set(), []
    for path in paths:
        try:
            modes.add(image_mode(path))
        except UNREADABLE as error:
            unreadable.append(f"{path.relative_to(directory)} ({why(error)})")
    if unreadable:
        listed = ", ".join(unreadable[:MAX_UNREADABLE_LISTED]) + (f" and {len(unreadable) - MAX_UNREADABLE_LISTED} more" if len(unreadable) > MAX_UNREADABLE_LISTED else "")
        raise ValueError(f"{len(unreadable)} of the {len(paths)} images in {directory} cannot be read: {listed}. Remove or replace them.")
    if channels is None:
        channels = 1 if modes <= set(GREY_MODES) else 3
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 (grey) or 3 (RGB), got {channels!r}.")
    return ImageFolder(directory, paths, labels, class_names, channels)


def to_8_bits(image):
    """`image`, in mode L if its values are wider than 8 bits (PIL modes I;16, I, F), else as is.

    16-bit grey PNGs open as I;16 (older Pillow: I), whose values run to 65535; `convert("L")`
    would clip them at 255 and turn almost every image white. They are scaled by their type's
    full range instead, 65535 → 255 (÷257), as image tools show them. I and F (32-bit int and
    float, which none of the suffixes read here produces) are taken as 16-bit the same way,
    values beyond 0..65535 clipped.
    """
    if not (image.mode.startswith("I") or image.mode == "F"):
        return image
    pixels = np.asarray(image, np.float64) / 257
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8))


def image_mode(path):
    """The PIL mode of the image at `path`, once PIL has found the file whole.

    `Image.open` reads only the header, so a half-written file would pass it and fail only in
    `read_image` mid-training, where TensorFlow reports it as a long traceback (`fit` reads a
    PyDataset through a tf.data py_function, which wraps every Python error) instead of the CLI's
    one-line error. So a PNG or JPEG must also end as a whole one does: a few bytes read per
    file, which costs next to nothing on top of the header (35 µs a 178×218 JPEG on one CPU core,
    7 s for CelebA's 200k) where decoding them all would take 95 s. Other formats, and files with
    data after their end marker, are decoded in full, so no whole image is refused.
    """
    with Image.open(path) as image:
        if not ends_whole(image):
            image.load()
        return image.mode


def ends_whole(image):
    """Whether the file of an opened PNG or JPEG ends with its format's end marker."""
    end = FILE_ENDS.get(image.format)
    if end is None:
        return False
    position = image.fp.tell()
    image.fp.seek(-len(end), os.SEEK_END)
    found = image.fp.read(len(end))
    image.fp.seek(position)
    return found == end


def why(error):
    """PIL's reason for not reading a file, without the path it repeats when it cannot identify one."""
    return type(error).__name__ if isinstance(error, UnidentifiedImageError) else f"{type(error).__name__}: {str(error).rstrip('.')}"


def read_image(path, image_size, channels):
    """One image as uint8 (image_size, image_size, channels): its central square, resized.

    A file PIL cannot decode (changed since `scan`, or broken inside though whole at the end)
    raises a ValueError naming it. In the first two batches, which Keras reads itself, it reaches
    `fit`'s caller as it is; later ones reach it wrapped in TensorFlow's InvalidArgumentError, so
    the dataset keeps it (`failure`) and `zoo.training.train` raises it in the wrapper's place.
    """
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image = to_8_bits(image).convert("L" if channels == 1 else "RGB")
            image = ImageOps.fit(image, (image_size, image_size), Image.LANCZOS)
            pixels = np.asarray(image, np.uint8)
    except UNREADABLE as error:
        raise ValueError(f"{path}: cannot read the image: {error}; remove or replace it") from error
    return pixels[..., None] if channels == 1 else pixels


def read_images(folder, indices, image_size):
    """The images `indices` of an `ImageFolder` as uint8 (len(indices), size, size, channels)."""
    return np.stack([read_image(folder.paths[index], image_size, folder.channels) for index in indices])


def subset(count, limit=None):
    """The indices (sorted) of `limit` of `count` images drawn at random, or all of them.

    The draw is a fixed-seed permutation's first `limit`: the same limit picks the same
    files whatever the run's seed, a larger limit keeps them and adds more, and every class
    of a class-conditional folder can appear (its first files are all of the first classes).
    """
    if limit is None or limit >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(count)[:limit])


def dataset(folder, image_size, batch_size=128, with_labels=False, shuffle=True, seed=0, limit=None, workers=2):
    """An `ImageFolderDataset` for `fit`: batches of images in [-1, 1] (and int32 labels).

    `limit` trains on `subset(len(folder), limit)` of the images: a random sample over the
    whole folder, not its first files, which `scan` lists class by class.
    """
    import keras

    class ImageFolderDataset(keras.utils.PyDataset):
        """Batches of an `ImageFolder`, read with PIL in `workers` threads, reshuffled every epoch.

        `failure` keeps the first image that could not be read: TensorFlow re-raises errors of
        the reading threads wrapped in its own, and `zoo.training` raises this one instead."""

        failure = None

        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False)
            self.indices = subset(len(folder), limit)
            if len(self.indices) < batch_size:
                raise ValueError(f"batch_size={batch_size} is larger than the {len(self.indices)} images of {folder.directory}.")
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(self.indices) if shuffle else self.indices

        def __len__(self):
            return len(self.indices) // batch_size  # whole batches only: every step sees one shape

        def __getitem__(self, index):
            indices = self.order[index * batch_size : (index + 1) * batch_size]
            try:
                images = read_images(folder, indices, image_size).astype(np.float32) / 127.5 - 1.0
            except ValueError as error:
                self.failure = self.failure or error
                raise
            return (images, folder.labels[indices]) if with_labels else images

        def on_epoch_end(self):
            if shuffle:
                self.order = self.rng.permutation(self.indices)

    if with_labels and folder.labels is None:
        raise ValueError(f"{folder.directory} was read without classes; a class-conditional model needs one sub-folder per class.")
    return ImageFolderDataset()
