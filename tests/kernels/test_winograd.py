"""Winograd F(2x2, 3x3): the NumPy reference and the Numba loops equal the direct convolution."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels import conv, winograd
from minicnn.kernels.window import Window, conv_output_size


def _direct(x, weights, bias, window):
    """The direct convolution, im2col(x) @ Wm + b, as (N, out_h, out_w, F)."""
    f = weights.shape[3]
    y = conv.im2col_matmul_reference(x, weights.reshape(-1, f), bias, window)
    return y.reshape(x.shape[0], window.out_h, window.out_w, f)


@st.composite
def cases(draw):
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    padding = draw(st.sampled_from(["valid", "same"]))
    assume(conv_output_size(h, 3, 1, padding)[0] > 0 and conv_output_size(w, 3, 1, padding)[0] > 0)
    c, f = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c))
    weights = rng.standard_normal((3, 3, c, f))
    bias = rng.standard_normal(f) if draw(st.booleans()) else None
    return x, weights, bias, Window.over((h, w), (3, 3), (1, 1), padding)


@settings(max_examples=80, deadline=None)
@given(cases())
def test_reference_and_fast_equal_the_direct_convolution_float64(case):
    x, weights, bias, window = case
    expected = _direct(x, weights, bias, window)
    np.testing.assert_allclose(winograd.winograd_conv3x3_reference(x, weights, bias, window),
                               expected, rtol=1e-12, atol=1e-12)
    for band_tiles in (128, 1):
        winograd.BAND_TILES = band_tiles
        try:
            got = winograd.winograd_conv3x3.fast(x, weights, bias, window)
        finally:
            winograd.BAND_TILES = 128
        assert got.shape == expected.shape and got.dtype == x.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, padding", [((2, 54, 54, 64), "valid"), ((1, 27, 31, 32), "same")])
def test_float32_error_is_within_float32_rounding(shape, padding):
    # Inputs in [0, 1] and glorot-sized weights, as in the original CNN's third layer.
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, shape).astype(np.float32)
    c, f = shape[3], 16
    weights = rng.uniform(-0.06, 0.06, (3, 3, c, f)).astype(np.float32)
    window = Window.over(shape[1:3], (3, 3), (1, 1), padding)
    exact = _direct(x.astype(np.float64), weights.astype(np.float64), None, window)
    got = winograd.winograd_conv3x3.fast(x, weights, None, window)
    direct32 = _direct(x, weights, None, window)
    scale = np.abs(exact).max()
    # Both float32 results within 1e-5 of the exact one, relative to the output's scale.
    assert np.abs(got - exact).max() < 1e-5 * scale
    assert np.abs(direct32 - exact).max() < 1e-5 * scale


def test_kernel_transform_is_G_g_G_transposed():
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((3, 3, 2, 3))
    u = winograd.kernel_transform(weights)
    for c in range(2):
        for f in range(3):
            np.testing.assert_allclose(u[:, c, f].reshape(4, 4),
                                       winograd.G @ weights[:, :, c, f] @ winograd.G.T, rtol=1e-14)


def test_one_tile_by_hand():
    # One 4x4 input, one 3x3 filter: Y = A^T [(G g G^T) * (B^T d B)] A is the 2x2 output.
    rng = np.random.default_rng(2)
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    y = winograd.A_T @ ((winograd.G @ g @ winograd.G.T) * (winograd.B_T @ d @ winograd.B_T.T)) @ winograd.A_T.T
    direct = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(y, direct, rtol=1e-12)


@pytest.mark.parametrize("kernel, strides", [((3, 3), (2, 2)), ((5, 5), (1, 1)), ((3, 2), (1, 1))])
def test_refuses_other_windows(kernel, strides):
    window = Window.over((9, 9), kernel, strides, "valid")
    x, weights = np.zeros((1, 9, 9, 1)), np.zeros((3, 3, 1, 1))
    for entry in (winograd.winograd_conv3x3_reference, winograd.winograd_conv3x3.fast):
        with pytest.raises(ValueError, match="3x3 window with stride 1"):
            entry(x, weights, None, window)
