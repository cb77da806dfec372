"""im2col / col2im: the fast versions equal the NumPy references; adjointness."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from minicnn.kernels.im2col import (
    col2im,
    col2im_reference,
    im2col,
    im2col_reference,
)
from kernel_cases import conv_inputs

ROOT = Path(__file__).resolve().parents[2]


def conv_cases():
    """A drawn (x, geometry) with a valid output grid; dtype float32 or float64."""
    return conv_inputs(max_channels=4, max_kernel=5)


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_im2col_kernel_equals_reference(case):
    x, window = case
    expected = im2col_reference(x, window)
    got = im2col.fast(x, window)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, expected)  # a pure copy: bit-identical


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_col2im_kernel_equals_reference_and_is_the_adjoint(case):
    x, window = case
    k = window.size * x.shape[3]
    rng = np.random.default_rng(0)
    g = rng.standard_normal((x.shape[0] * window.out_h * window.out_w, k)).astype(x.dtype)
    expected = col2im_reference(g, window)
    got = col2im.fast(g, window)
    assert got.dtype == x.dtype and got.shape == x.shape
    tol = 1e-5 if x.dtype == np.float32 else 1e-12  # same sums, another order
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    # Adjoint: <im2col(x), g> == <x, col2im(g)> (what makes dx = col2im(dcols) right).
    lhs = float(np.sum(im2col(x, window).astype(np.float64) * g))
    rhs = float(np.sum(x.astype(np.float64) * got))
    assert lhs == pytest.approx(rhs, rel=1e-4 if x.dtype == np.float32 else 1e-10, abs=1e-6)


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
        c = importlib.import_module("minicnn.kernels.conv")
        assert not hasattr(c.im2col_rows_numba, "signatures")
        assert not hasattr(k.im2col_numba, "signatures")  # really the Python function
        rng = np.random.default_rng(0)
        from minicnn.kernels.window import Window
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((2, 5, 4, 2)).astype(dtype)
            for kernel, strides, padding in [((3, 3), (1, 1), "same"), ((2, 3), (2, 1), "valid"),
                                             ((4, 2), (3, 2), "same")]:
                window = Window.over((5, 4), kernel, strides, padding)
                cols = k.im2col.fast(x, window)
                assert cols.dtype == dtype
                np.testing.assert_array_equal(cols, k.im2col_reference(x, window))
                np.testing.assert_allclose(k.col2im.fast(cols, window),
                                           k.col2im_reference(cols, window), rtol=1e-6)
                wt = rng.standard_normal((3, cols.shape[1])).astype(dtype)
                dy = rng.standard_normal((cols.shape[0], 3)).astype(dtype)
                np.testing.assert_allclose(c.col2im_matmul.fast(dy, wt, window),
                                           c.col2im_matmul_reference(dy, wt, window), rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(c.im2col_matmul.fast(x, wt.T, dy[0], window),
                                           c.im2col_matmul_reference(x, wt.T, dy[0], window),
                                           rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(c.im2col_t_matmul.fast(x, dy, window),
                                           c.im2col_t_matmul_reference(x, dy, window),
                                           rtol=1e-4, atol=1e-5)
            xi = rng.integers(0, 3, (2, 5, 4, 2)).astype(dtype)  # many ties
            for pool, strides, padding in [((2, 2), (2, 2), "valid"), ((3, 3), (1, 1), "same")]:
                window = Window.over((5, 4), pool, strides, padding)
                y, a = p.maxpool_forward.fast(xi, window)
                yr, ar = p.maxpool_forward_reference(xi, window)
                np.testing.assert_array_equal(y, yr)
                np.testing.assert_array_equal(a, ar)
                g = rng.standard_normal(y.shape).astype(dtype)
                np.testing.assert_allclose(p.maxpool_backward.fast(g, a, window),
                                           p.maxpool_backward_reference(g, ar, window), rtol=1e-6)
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
