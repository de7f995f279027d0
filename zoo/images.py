"""Sample grids: generated images in [-1, 1] tiled into one picture (PNG, JPEG, ... by its extension)."""

import math
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.util import montage

from zoo.files import atomic_write
from zoo.validation import MAX_CHANNELS

PADDING = 2  # pixels between tiles and around the grid


def to_uint8(images):
    """[-1, 1] floats -> 0..255 pixels: `floor((x + 1) * 127.5 + 0.5)` in float64, clipped to
    0..255 (docs/artifacts.md, "Pixels"; the Node and web apps compute the very same bytes)."""
    return np.clip(np.floor((np.asarray(images, np.float64) + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)


def check_finite(images, source):
    """Refuses images holding NaN or infinity, naming `source` and how many: they would be drawn
    as black or white pixels without a word (`to_uint8` cannot tell), hiding a broken generator."""
    bad = ~np.isfinite(images)
    if bad.any():
        broken = int(bad.reshape(len(images), -1).any(axis=1).sum())
        raise ValueError(
            f"{source} produced {int(bad.sum()):,} values that are NaN or infinite, in {broken} of its {len(images)} images: "
            "the generator is broken (trained to a divergence, or altered); no picture was written."
        )
    return images


def make_grid(images, columns=None, padding=PADDING, source="The images"):
    """Tiles NHWC images in [-1, 1] into one uint8 picture, `columns` wide (default: square).
    `source` names where the images came from in the refusal of non-finite ones (`check_finite`)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"Expected a non-empty NHWC batch of images, got shape {images.shape}.")
    if not 1 <= images.shape[-1] <= MAX_CHANNELS:  # NCHW (PyTorch's order) reached PIL as "Cannot handle this data type"
        raise ValueError(f"Expected NHWC images, channels last (1 to {MAX_CHANNELS}), got shape {images.shape}; "
                         "channels first (NCHW)? Pass images.transpose(0, 2, 3, 1).")
    if images.dtype.kind not in "f":  # 0..255 pixels would all clip to white
        raise ValueError(f"Expected images in [-1, 1] as floats, got {images.dtype}; map 0..255 pixels with zoo.data.to_unit_range.")
    check_finite(images, source)
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    pixels = to_uint8(images)
    grid = montage(pixels, grid_shape=(rows, columns), padding_width=padding, fill=(0,) * pixels.shape[-1], channel_axis=-1)
    return grid[..., 0] if grid.shape[-1] == 1 else grid


# The picture formats a grid is written in, by the extension of its file name.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
MAX_GRID_SIDE = 65_500  # pixels: JPEG's limit is 65,535, and few viewers open more in any format


def image_format(path):
    """The PIL format that `path`'s extension names (`grid.jpg` -> JPEG); ValueError for another extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"Cannot tell which picture format to write to {path}: name it with one of {', '.join(FORMATS)}.")
    return FORMATS[suffix]


def check_grid(n, image_shape, scale=1, columns=None):
    """Raises ValueError, with the memory it would need, when a grid of `n` images of `image_shape`
    at `scale` would be more than `MAX_GRID_SIDE` pixels wide or high, or need more memory than is
    available; returns the estimate in bytes otherwise. Call it before generating anything."""
    height, width, channels = image_shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    side_x, side_y = (columns * (width + PADDING) + PADDING) * scale, (rows * (height + PADDING) + PADDING) * scale
    images = n * height * width * channels * 4  # float32
    grid = side_x * side_y * (3 if channels > 1 else 1)
    needed = images + grid * 2 + (side_x * side_y * 3 if channels > 1 else 0)  # the grid, its scaled copy, the encoder's buffer
    available = available_memory()
    problem = None
    if max(side_x, side_y) > MAX_GRID_SIDE:
        problem = f"a grid of {side_x:,} × {side_y:,} pixels (at most {MAX_GRID_SIDE:,} a side)"
    elif available is not None and needed > 0.8 * available:
        problem = f"about {readable_bytes(needed)} of memory ({readable_bytes(images)} of images, {readable_bytes(grid)} a grid); {readable_bytes(available)} is available"
    if problem:
        raise ValueError(
            f"{n:,} images at scale {scale} would need {problem} (estimate: {readable_bytes(needed)}). Ask for fewer images or a smaller "
            "scale, or stream them with zoo.runtime.Generator.iter_batches."
        )
    return needed


def check_images_fit(n, image_shape):
    """Raises ValueError, before any image is made, when `n` float32 images of `image_shape` (held
    twice while `generate` joins its batches) would need more than 80% of the available memory."""
    images = int(n) * math.prod(image_shape) * 4
    check_memory(2 * images, f"{int(n):,} images of {'×'.join(map(str, image_shape))}", "Ask for fewer, or stream them with zoo.runtime.Generator.iter_batches.")


def check_memory(needed, what, advice, purpose=""):
    """Raises ValueError, before anything is allocated, when `needed` bytes are more than 80% of
    the available memory (where it is known): "`what` would need about ... of memory`purpose`;
    ... is available. `advice`"."""
    available = available_memory()
    if available is not None and needed > 0.8 * available:
        raise ValueError(f"{what} would need about {readable_bytes(needed)} of memory{purpose}; {readable_bytes(available)} is available. {advice}")


def available_memory():
    """Bytes of memory available to new allocations (Linux MemAvailable), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def readable_bytes(count):
    """`count` bytes in words: "512 bytes", "3.2 GiB"."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024


def save_grid(images, path, columns=None, scale=1, source="The images"):
    """Writes a grid of `images` to `path` (atomically) in the format its extension names
    (`image_format`: .png, .jpg, ...) and returns the path. `source`: see `make_grid`."""
    fmt = image_format(path)
    grid = Image.fromarray(make_grid(images, columns, source=source))
    if scale != 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    return atomic_write(path, lambda tmp: grid.save(tmp, format=fmt, **options))
