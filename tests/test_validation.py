"""`zoo.validation`: every numeric argument of the zoo is refused in one wording, naming the argument and its range."""

import math

import numpy as np
import pytest

from zoo.validation import check_image_shape, check_int, check_number

pytestmark = pytest.mark.inputs


@pytest.mark.parametrize("value", [0, 101, -1, 2.0, True, "3", None])
def test_an_integer_out_of_range_or_of_another_type_is_refused(value):
    with pytest.raises(ValueError, match=r"^`d_steps` must be an integer in \[1, 100\], got "):
        check_int("d_steps", value, 1, 100)


def test_integers_come_back_as_python_ints_and_unbounded_ranges_are_worded_plainly():
    assert check_int("n", np.int64(3)) == 3 and type(check_int("n", np.int64(3))) is int
    with pytest.raises(ValueError, match=r"^`n` must be a positive integer, got 0\.$"):
        check_int("n", 0)
    with pytest.raises(ValueError, match=r"^`n` must be an integer ≥ 4, got 3\.$"):
        check_int("n", 3, 4)


@pytest.mark.parametrize(
    "value, low_open, high_open, message",
    [
        (1.0, False, True, r"\[0, 1\)"),
        (0.0, True, True, r"\(0, 1\)"),
        (math.nan, False, False, r"\[0, 1\]"),
        (True, False, False, r"\[0, 1\]"),
        ("0.5", False, False, r"\[0, 1\]"),
    ],
)
def test_a_number_outside_its_interval_is_refused_with_the_interval(value, low_open, high_open, message):
    with pytest.raises(ValueError, match=rf"^`rate` must be a number in {message}, got "):
        check_number("rate", value, 0, 1, low_open=low_open, high_open=high_open)


def test_numbers_inside_their_interval_come_back_as_floats():
    assert check_number("rate", np.float32(0.5), 0, 1) == 0.5
    assert check_number("rate", 0, 0, 1, high_open=True) == 0.0 and check_number("rate", 1, 0, 1) == 1.0


def test_an_image_shape_is_three_bounded_sizes():
    assert check_image_shape([28, 28, np.int32(1)]) == (28, 28, 1)
    with pytest.raises(ValueError, match=r"image_shape\[2\] \(channels\)` must be an integer in \[1, 4\]"):
        check_image_shape((28, 28, 5))
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        check_image_shape((28, 28))
