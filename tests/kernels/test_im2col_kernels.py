"""im2col / col2im: the Numba kernels equal the NumPy references; TF padding; adjointness."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels.im2col import (
    col2im,
    col2im_reference,
    conv_output_size,
    im2col,
    im2col_reference,
)

ROOT = Path(__file__).resolve().parents[2]


@st.composite
def conv_cases(draw):
    """A drawn (x, geometry) with a valid output grid; dtype float32 or float64."""
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    out_h, pad_top, _ = conv_output_size(h, kh, sh, padding)
    out_w, pad_left, _ = conv_output_size(w, kw, sw, padding)
    assume(out_h > 0 and out_w > 0)
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(dtype)
    return x, (kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_im2col_kernel_equals_reference(case):
    x, geom = case
    expected = im2col_reference(x, *geom)
    got = im2col(x, *geom)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, expected)  # a pure copy: bit-identical


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_col2im_kernel_equals_reference_and_is_the_adjoint(case):
    x, geom = case
    kh, kw, sh, sw, pad_top, pad_left, out_h, out_w = geom
    k = kh * kw * x.shape[3]
    rng = np.random.default_rng(0)
    g = rng.standard_normal((x.shape[0] * out_h * out_w, k)).astype(x.dtype)
    expected = col2im_reference(g, x.shape, *geom)
    got = col2im(g, x.shape, *geom)
    assert got.dtype == x.dtype and got.shape == x.shape
    tol = 1e-5 if x.dtype == np.float32 else 1e-12  # same sums, another order
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    # Adjoint: <im2col(x), g> == <x, col2im(g)> (what makes dx = col2im(dcols) right).
    lhs = float(np.sum(im2col(x, *geom).astype(np.float64) * g))
    rhs = float(np.sum(x.astype(np.float64) * got))
    assert lhs == pytest.approx(rhs, rel=1e-4 if x.dtype == np.float32 else 1e-10, abs=1e-6)


def test_im2col_writes_into_given_buffer_and_overwrites_old_values():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    geom = (3, 3, 1, 1, 1, 1, 4, 4)  # "same" padding: border windows read zeros
    buf = np.full((2 * 4 * 4, 27), 7.0, dtype=np.float32)  # stale values must vanish
    out = im2col(x, *geom, out=buf)
    assert out is buf
    np.testing.assert_array_equal(buf, im2col_reference(x, *geom))
    assert (buf[0, :9] == 0).all()  # top-left window: its whole first row is padding


def test_col2im_adds_where_windows_overlap():
    # Regression: col2im must ADD. With a 3x3 kernel, stride 1, on a 5x5 image,
    # the centre pixel lies in all 9 windows, a corner in 1, an edge-middle in 3.
    shape = (1, 5, 5, 1)
    geom = (3, 3, 1, 1, 0, 0, 3, 3)
    dx = col2im(np.ones((9, 9)), shape, *geom)
    counts = dx[0, :, :, 0]
    assert counts[2, 2] == 9 and counts[0, 0] == 1 and counts[0, 2] == 3
    np.testing.assert_array_equal(dx, col2im_reference(np.ones((9, 9)), shape, *geom))


def test_col2im_overwrites_its_output_buffer():
    shape = (2, 4, 4, 1)
    geom = (2, 2, 2, 2, 0, 0, 2, 2)
    buf = np.full(shape, 5.0)
    col2im(np.ones((8, 4)), shape, *geom, out=buf)
    np.testing.assert_array_equal(buf, np.ones(shape))


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


def test_kernels_are_correct_with_numba_jit_disabled():
    """The pure-Python path (how a learner steps through a kernel) gives the same results."""
    script = textwrap.dedent(
        """
        import numpy as np
        import numba
        assert numba.config.DISABLE_JIT
        import importlib
        # (the package re-exports a function named im2col, so import the module by path)
        k = importlib.import_module("minicnn.kernels.im2col")
        p = importlib.import_module("minicnn.kernels.pooling")
        assert not hasattr(k.im2col_numba, "signatures")  # really the Python function
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((2, 5, 4, 2)).astype(dtype)
            for geom in [(3, 3, 1, 1, 1, 1, 5, 4), (2, 3, 2, 1, 0, 1, 3, 4), (4, 2, 3, 2, 1, 0, 2, 2)]:
                cols = k.im2col(x, *geom)
                assert cols.dtype == dtype
                np.testing.assert_array_equal(cols, k.im2col_reference(x, *geom))
                np.testing.assert_allclose(k.col2im(cols, x.shape, *geom),
                                           k.col2im_reference(cols, x.shape, *geom), rtol=1e-6)
            xi = rng.integers(0, 3, (2, 5, 4, 2)).astype(dtype)  # many ties
            for geom in [(2, 2, 2, 2, 0, 0, 3, 2), (3, 3, 1, 1, 1, 1, 5, 4)]:
                y, a = p.maxpool_forward(xi, *geom)
                yr, ar = p.maxpool_forward_reference(xi, *geom)
                np.testing.assert_array_equal(y, yr)
                np.testing.assert_array_equal(a, ar)
                g = rng.standard_normal(y.shape).astype(dtype)
                np.testing.assert_allclose(p.maxpool_backward(g, a, xi.shape, *geom[:6]),
                                           p.maxpool_backward_reference(g, ar, xi.shape, *geom[:6]),
                                           rtol=1e-6)
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
