"""im2col_matmul / im2col_t_matmul / col2im_matmul: the banded fast versions equal the references."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels import conv, lanes
from minicnn.kernels.im2col import col2im_reference, im2col_reference
from minicnn.kernels.window import Window

from kernel_cases import conv_inputs


@st.composite
def conv_cases(draw):
    """A drawn (x, window, filters) with a valid output grid; float32 or float64."""
    x, window = draw(conv_inputs(max_channels=5, max_kernel=4))
    return x, window, draw(st.integers(1, 6))


def _tol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-12  # the same sums in another order


@settings(max_examples=80, deadline=None)
@given(conv_cases(), st.booleans())
def test_im2col_matmul_equals_the_product_of_cols(case, with_bias):
    x, window, filters = case
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((window.size * x.shape[3], filters)).astype(x.dtype)
    bias = rng.standard_normal(filters).astype(x.dtype) if with_bias else None
    expected = conv.im2col_matmul_reference(x, weights, bias, window)
    np.testing.assert_allclose(expected, im2col_reference(x, window) @ weights
                               + (0 if bias is None else bias), rtol=1e-15)
    for band in (1 << 18, 1):  # the whole batch in one band, and one image row per band
        with mock.patch.object(conv, "BAND_ELEMENTS", band):
            got = conv.im2col_matmul.fast(x, weights, bias, window)
        assert got.dtype == x.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=_tol(x.dtype), atol=_tol(x.dtype))


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_im2col_t_matmul_equals_cols_transposed_times_dy(case):
    x, window, filters = case
    rng = np.random.default_rng(2)
    dy = rng.standard_normal((x.shape[0] * window.out_h * window.out_w, filters)).astype(x.dtype)
    expected = conv.im2col_t_matmul_reference(x, dy, window)
    np.testing.assert_allclose(expected, im2col_reference(x, window).T @ dy, rtol=1e-15)
    for band in (1 << 18, 1):
        with mock.patch.object(conv, "BAND_ELEMENTS", band):
            got = conv.im2col_t_matmul.fast(x, dy, window)
        assert got.dtype == x.dtype and got.shape == (window.size * x.shape[3], filters)
        np.testing.assert_allclose(got, expected, rtol=_tol(x.dtype), atol=_tol(x.dtype))


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_col2im_matmul_equals_col2im_of_the_product(case):
    x, window, filters = case
    rng = np.random.default_rng(3)
    k = window.size * x.shape[3]
    dy = rng.standard_normal((x.shape[0] * window.out_h * window.out_w, filters)).astype(x.dtype)
    weights_t = rng.standard_normal((filters, k)).astype(x.dtype)
    expected = conv.col2im_matmul_reference(dy, weights_t, window)
    np.testing.assert_allclose(expected, col2im_reference(dy @ weights_t, window), rtol=1e-15)
    for band in (1 << 18, 1):  # overlapping windows across band edges must still add up
        with mock.patch.object(conv, "BAND_ELEMENTS", band):
            got = conv.col2im_matmul.fast(dy, weights_t, window)
        assert got.dtype == x.dtype and got.shape == x.shape
        np.testing.assert_allclose(got, expected, rtol=_tol(x.dtype), atol=_tol(x.dtype))


def test_two_lanes_give_the_results_of_one(monkeypatch):
    # Real threads (whatever NUMBA_NUM_THREADS says): bands handed out from a shared
    # counter, per-lane buffers and per-lane weight-gradient sums.
    rng = np.random.default_rng(4)
    window = Window.over((20, 17), (3, 3), (1, 2), "same")
    x = rng.standard_normal((5, 20, 17, 6))
    weights = rng.standard_normal((54, 7))
    dy = rng.standard_normal((5 * window.out_h * window.out_w, 7))
    monkeypatch.setattr(conv, "BAND_ELEMENTS", 200)  # many bands
    one = [conv.im2col_matmul.fast(x, weights, None, window).copy(),
           conv.im2col_t_matmul.fast(x, dy, window).copy(),
           conv.col2im_matmul.fast(dy, weights.T, window).copy()]
    seen = []
    real_run = lanes.run
    monkeypatch.setattr(lanes, "lanes", lambda count: min(2, count))
    monkeypatch.setattr(lanes, "run", lambda work, count, **kw: seen.append(count) or real_run(work, count, **kw))
    two = [conv.im2col_matmul.fast(x, weights, None, window),
           conv.im2col_t_matmul.fast(x, dy, window),
           conv.col2im_matmul.fast(dy, weights.T, window)]
    assert len(seen) == 3 and min(seen) > 2
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
