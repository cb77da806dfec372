"""conv_relu_maxpool: the fused inference pass equals the three layers' kernels in turn."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels import activations, conv, fused, pooling
from minicnn.kernels.window import Window, conv_output_size


@st.composite
def fused_cases(draw):
    """(x, weights, bias, conv window, pool window): any convolution, a 2x2/2 pool over it."""
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    c = draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    conv_padding = draw(st.sampled_from(["valid", "same"]))
    pool_padding = draw(st.sampled_from(["valid", "same"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    out_h = conv_output_size(h, kh, sh, conv_padding)[0]
    out_w = conv_output_size(w, kw, sw, conv_padding)[0]
    assume(out_h > 0 and out_w > 0)
    assume(pool_padding == "same" or (out_h >= 2 and out_w >= 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    filters = draw(st.integers(1, 7))
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    weights = rng.standard_normal((kh * kw * c, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if draw(st.booleans()) else None
    conv_window = Window.over((h, w), (kh, kw), (sh, sw), conv_padding)
    pool_window = Window.over((out_h, out_w), (2, 2), (2, 2), pool_padding)
    return x, weights, bias, conv_window, pool_window


def _unfused_fast(x, weights, bias, conv_window, pool_window):
    """The fast kernels the three layers call one by one."""
    z = conv.im2col_matmul.fast(x, weights, bias, conv_window)
    z = z.reshape(x.shape[0], conv_window.out_h, conv_window.out_w, weights.shape[1])
    a, _ = activations.relu.fast(z)
    return pooling.maxpool_forward.fast(a, pool_window)[0].copy()


def _tol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12  # the same sums in another order


@settings(max_examples=120, deadline=None)
@given(fused_cases(), st.sampled_from([None, 1]))
def test_fused_equals_reference_and_unfused_kernels(case, winograd_from):
    # winograd_from=1: every 3x3 stride-1 case goes through F(2x2, 3x3); None: never.
    x, weights, bias, conv_window, pool_window = case
    expected = fused.conv_relu_maxpool_reference(x, weights, bias, conv_window, pool_window)
    assert expected.shape == (x.shape[0], pool_window.out_h, pool_window.out_w, weights.shape[1])
    unfused = _unfused_fast(x, weights, bias, conv_window, pool_window)
    np.testing.assert_allclose(unfused, expected, rtol=_tol(x.dtype), atol=_tol(x.dtype))
    for band in (1 << 18, 1):  # whole images per band, and one pooled row per band
        with mock.patch.multiple(fused, BAND_ELEMENTS=band, WINOGRAD_MIN_CHANNELS=winograd_from):
            got = fused.conv_relu_maxpool.fast(x, weights, bias, conv_window, pool_window)
        assert got.dtype == x.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=_tol(x.dtype), atol=_tol(x.dtype))
        np.testing.assert_allclose(got, unfused, rtol=_tol(x.dtype), atol=_tol(x.dtype))


def test_reference_is_the_three_forwards_in_turn():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 7, 3))
    weights, bias = rng.standard_normal((27, 4)), rng.standard_normal(4)
    cw = Window.over((9, 7), (3, 3), (1, 1), "valid")                 # 7x5 output: odd sizes
    pw = Window.over((7, 5), (2, 2), (2, 2), "valid")
    z = (conv.im2col_matmul_reference(x, weights, bias, cw)).reshape(2, 7, 5, 4)
    by_hand = np.maximum(z, 0)[:, :6, :4].reshape(2, 3, 2, 2, 2, 4).max(axis=(2, 4))
    np.testing.assert_allclose(fused.conv_relu_maxpool_reference(x, weights, bias, cw, pw),
                               by_hand, rtol=1e-15)


def test_nan_in_a_window_gives_nan_as_the_reference():
    x = np.ones((1, 4, 4, 1), np.float32)
    x[0, 1, 2, 0] = np.nan
    weights, cw = np.ones((1, 1), np.float32), Window.over((4, 4), (1, 1), (1, 1), "valid")
    pw = Window.over((4, 4), (2, 2), (2, 2), "valid")
    expected = fused.conv_relu_maxpool_reference(x, weights, None, cw, pw)
    got = fused.conv_relu_maxpool.fast(x, weights, None, cw, pw)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(got[0, 0, 1, 0]) and np.isfinite(got).sum() == 3


@pytest.mark.parametrize("pool, strides, padding", [((3, 3), (3, 3), "valid"),
                                                    ((2, 2), (1, 1), "valid"),
                                                    ((2, 3), (2, 3), "valid")])
def test_refuses_a_pool_other_than_2x2_stride_2(pool, strides, padding):
    x = np.zeros((1, 8, 8, 1), np.float32)
    cw = Window.over((8, 8), (3, 3), (1, 1), "valid")
    pw = Window.over((6, 6), pool, strides, padding)
    assert not fused.pool_is_2x2(pw)
    with pytest.raises(ValueError, match="2x2 with stride 2"):
        fused.conv_relu_maxpool.fast(x, np.zeros((9, 2), np.float32), None, cw, pw)


def test_two_lanes_give_the_results_of_one(monkeypatch):
    # Real threads (whatever NUMBA_NUM_THREADS says): bands of pooled rows from a shared
    # counter into one output, each lane with its own cols and z buffers.
    from minicnn.kernels import lanes
    rng = np.random.default_rng(4)
    cw = Window.over((21, 17), (3, 3), (1, 1), "same")
    pw = Window.over((21, 17), (2, 2), (2, 2), "same")
    x = rng.standard_normal((5, 21, 17, 6))
    weights, bias = rng.standard_normal((54, 7)), rng.standard_normal(7)
    monkeypatch.setattr(fused, "BAND_ELEMENTS", 2000)  # a few pooled rows per band
    one = fused.conv_relu_maxpool.fast(x, weights, bias, cw, pw).copy()
    seen = []
    real_run = lanes.run
    monkeypatch.setattr(lanes, "lanes", lambda count: min(2, count))
    monkeypatch.setattr(lanes, "run", lambda work, count, **kw: seen.append(count) or real_run(work, count, **kw))
    two = fused.conv_relu_maxpool.fast(x, weights, bias, cw, pw)
    assert seen and seen[0] > 2 * x.shape[0]  # several bands per image
    np.testing.assert_array_equal(two, one)
    np.testing.assert_allclose(two, fused.conv_relu_maxpool_reference(x, weights, bias, cw, pw),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("h, w, conv_padding, pool_padding", [
    (12, 12, "valid", "valid"), (13, 11, "valid", "valid"), (13, 11, "valid", "same"),
    (9, 14, "same", "same"), (9, 14, "same", "valid"), (4, 4, "valid", "same")])
def test_winograd_pass_equals_the_reference_in_float32(monkeypatch, h, w, conv_padding, pool_padding):
    # The pass the original CNN's second and third blocks take at inference (C >= 32).
    rng = np.random.default_rng(5)
    c, f = 32, 9
    x = rng.uniform(0, 1, (3, h, w, c)).astype(np.float32)
    weights = (rng.standard_normal((9 * c, f)) * 0.1).astype(np.float32)
    bias = (rng.standard_normal(f) * 0.1).astype(np.float32)
    cw = Window.over((h, w), (3, 3), (1, 1), conv_padding)
    pw = Window.over((cw.out_h, cw.out_w), (2, 2), (2, 2), pool_padding)
    assert fused.uses_winograd(cw, c)
    expected = fused.conv_relu_maxpool_reference(x, weights, bias, cw, pw)
    calls = []
    real = fused.winograd.output_transform_pool_numba
    monkeypatch.setattr(fused.winograd, "output_transform_pool_numba",
                        lambda *args: calls.append(1) or real(*args))
    for band_tiles in (128, 1):
        monkeypatch.setattr(fused.winograd, "BAND_TILES", band_tiles)
        got = fused.conv_relu_maxpool.fast(x, weights, bias, cw, pw)
        # float32: the transforms add and subtract inputs before the products.
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert calls  # the Winograd pass ran


def test_few_input_channels_or_other_windows_stay_on_im2col():
    assert not fused.uses_winograd(Window.over((8, 8), (3, 3), (1, 1), "valid"), 3)
    assert not fused.uses_winograd(Window.over((8, 8), (3, 3), (2, 2), "valid"), 64)
    assert not fused.uses_winograd(Window.over((8, 8), (5, 5), (1, 1), "valid"), 64)
    assert fused.uses_winograd(Window.over((8, 8), (3, 3), (1, 1), "same"), 64)
