"""Checks of numeric arguments, in one wording: "`name` must be <what>, got <value>."

Every "is it a number in range" check of the zoo comes from here, so a bad value is refused
the same way in a model's constructor, a loss, the runtime and the command line. Plain Python:
no TensorFlow or Keras, so the onnxruntime-only modules can use it.
"""

import numbers

# Sizes above these are typos, not images: they are refused before anything is allocated.
MAX_IMAGE_SIDE = 4_096
MAX_CHANNELS = 4


def check_int(name, value, low=1, high=None):
    """Returns `value` as an int in [low, high] (no upper bound when `high` is None).

    Raises ValueError naming `name` for anything else, booleans and floats such as 2.0 included.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not _inside(value, low, high):
        if high is None:
            what = "a positive integer" if low == 1 else f"an integer ≥ {low}"
        else:
            what = f"an integer in [{low}, {high}]"
        raise ValueError(f"`{name}` must be {what}, got {value!r}.")
    return int(value)


def check_number(name, value, low, high, low_open=False, high_open=False):
    """Returns `value` as a float in the interval from `low` to `high`, each end open or closed.

    Raises ValueError naming `name` for anything else (booleans, strings, NaN).
    """
    inside = isinstance(value, numbers.Real) and not isinstance(value, bool) and _inside(value, low, high)
    if inside and ((low_open and value == low) or (high_open and value == high)):
        inside = False
    if not inside:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"`{name}` must be a number in {interval}, got {value!r}.")
    return float(value)


def check_image_shape(image_shape):
    """Returns `image_shape` as a (height, width, channels) tuple of ints, or raises ValueError."""
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(f"`image_shape` must be (height, width, channels), got {image_shape!r}.")
    height, width, channels = image_shape
    return (
        check_int("image_shape[0] (height)", height, 1, MAX_IMAGE_SIDE),
        check_int("image_shape[1] (width)", width, 1, MAX_IMAGE_SIDE),
        check_int("image_shape[2] (channels)", channels, 1, MAX_CHANNELS),
    )


def _inside(value, low, high):
    return low <= value and (high is None or value <= high)
