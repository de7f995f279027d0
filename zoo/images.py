"""Sample grids: generated images in [-1, 1] tiled into one PNG."""

import math

import numpy as np
from PIL import Image
from skimage.util import montage

from zoo.files import atomic_write


def to_uint8(images):
    """[-1, 1] floats -> 0..255 pixels: `floor((x + 1) * 127.5 + 0.5)` in float64, clipped to
    0..255 (docs/artifacts.md, "Pixels"; the Node and web apps compute the very same bytes)."""
    return np.clip(np.floor((np.asarray(images, np.float64) + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=2):
    """Tiles NHWC images in [-1, 1] into one uint8 picture, `columns` wide (default: square)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"Expected a non-empty NHWC batch of images, got shape {images.shape}.")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    pixels = to_uint8(images)
    grid = montage(pixels, grid_shape=(rows, columns), padding_width=padding, fill=(0,) * pixels.shape[-1], channel_axis=-1)
    return grid[..., 0] if grid.shape[-1] == 1 else grid


def save_grid(images, path, columns=None, scale=1):
    """Writes a grid of `images` to the PNG `path` (atomically) and returns the path."""
    grid = Image.fromarray(make_grid(images, columns))
    if scale != 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    return atomic_write(path, lambda tmp: grid.save(tmp, format="PNG"))
