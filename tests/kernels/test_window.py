"""minicnn.kernels.window: the padding formula (TensorFlow's) and the Window geometry."""

import pytest

from minicnn.kernels.window import Window, conv_output_size


@pytest.mark.parametrize(
    "size, kernel, stride, expected",
    [
        # (out, pad_before, pad_after), as TensorFlow computes them
        (5, 3, 1, (5, 1, 1)),
        (5, 2, 2, (3, 0, 1)),  # odd total: the extra zero goes after (bottom/right)
        (7, 4, 1, (7, 1, 2)),
        (224, 3, 2, (112, 0, 1)),
        (6, 1, 3, (2, 0, 0)),
        (4, 5, 3, (2, 2, 2)),
    ],
)
def test_same_padding_follows_tensorflow(size, kernel, stride, expected):
    assert conv_output_size(size, kernel, stride, "same") == expected


def test_valid_output_size_and_bad_padding():
    assert conv_output_size(224, 3, 1, "valid") == (222, 0, 0)
    assert conv_output_size(7, 3, 2, "valid") == (3, 0, 0)
    assert conv_output_size(2, 3, 1, "valid")[0] <= 0  # does not fit; callers raise
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        conv_output_size(5, 3, 1, "full")


def test_window_applies_the_formula_to_both_axes():
    w = Window.over((5, 7), (2, 4), (2, 1), "same")
    assert (w.out_h, w.pad_top, w.pad_bottom) == conv_output_size(5, 2, 2, "same") == (3, 0, 1)
    assert (w.out_w, w.pad_left, w.pad_right) == conv_output_size(7, 4, 1, "same") == (7, 1, 2)
    assert (w.kh, w.kw, w.sh, w.sw, w.in_h, w.in_w, w.size) == (2, 4, 2, 1, 5, 7, 8)
    assert w.loop_bounds() == (2, 4, 2, 1, 0, 1, 3, 7)


def test_a_window_bigger_than_a_valid_image_is_a_clear_error():
    with pytest.raises(ValueError, match=r"image \(2, 8\) is smaller than the window \(3, 3\)"):
        Window.over((2, 8), (3, 3), (1, 1), "valid")
    assert Window.over((2, 8), (3, 3), (1, 1), "same").out_h == 2  # "same" always fits
