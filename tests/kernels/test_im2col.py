"""im2col / col2im / col2im_matmul: the fast versions equal the NumPy references; adjointness."""

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels import backend
from minicnn.kernels.im2col import (
    col2im,
    col2im_matmul,
    col2im_matmul_reference,
    col2im_reference,
    im2col,
    im2col_reference,
)
from minicnn.kernels.window import Window, conv_output_size

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
    assume(conv_output_size(h, kh, sh, padding)[0] > 0)
    assume(conv_output_size(w, kw, sw, padding)[0] > 0)
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(dtype)
    return x, Window.over((h, w), (kh, kw), (sh, sw), padding)


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


@settings(max_examples=60, deadline=None)
@given(conv_cases(), st.integers(1, 5))
def test_col2im_matmul_equals_col2im_of_the_product(case, filters):
    x, window = case
    rng = np.random.default_rng(1)
    k = window.size * x.shape[3]
    dy = rng.standard_normal((x.shape[0] * window.out_h * window.out_w, filters)).astype(x.dtype)
    weights_t = rng.standard_normal((filters, k)).astype(x.dtype)
    expected = col2im_matmul_reference(dy, weights_t, window)
    tol = 1e-4 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(col2im_matmul.fast(dy, weights_t, window), expected,
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(expected, col2im_reference(dy @ weights_t, window), rtol=1e-15)


def test_col2im_matmul_in_image_chunks_equals_one_chunk(monkeypatch):
    # dcols is built a few images at a time; chunks of 1-2 images (and an odd batch,
    # so the last chunk is short) must give the same dx as one chunk.
    module = importlib.import_module("minicnn.kernels.im2col")  # the package has an im2col function
    rng = np.random.default_rng(3)
    window = Window.over((9, 8), (3, 3), (2, 2), "same")
    dy = rng.standard_normal((5 * window.out_h * window.out_w, 3))
    weights_t = rng.standard_normal((3, 9 * 2))
    whole = col2im_matmul.fast(dy, weights_t, window).copy()
    monkeypatch.setattr(module, "_DCOLS_CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(module, "num_threads", lambda: 1)
    calls = []
    real = module.col2im_numba
    monkeypatch.setattr(module, "col2im_numba",
                        lambda cols, *a: calls.append(cols.shape[0]) or real(cols, *a))
    chunked = col2im_matmul.fast(dy, weights_t, window)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-14)
    rows_per_image = window.out_h * window.out_w
    assert len(calls) == 5 and max(calls) == rows_per_image  # one image per chunk
    assert sum(calls) == 5 * rows_per_image                  # every image once


def test_im2col_overwrites_old_values_in_a_reused_buffer():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    window = Window.over((4, 4), (3, 3), (1, 1), "same")  # border windows read zeros
    stale = im2col.fast(x + 7, window)
    del stale  # back in the pool, full of other values
    out = im2col.fast(x, window)
    np.testing.assert_array_equal(out, im2col_reference(x, window))
    assert (out[0, :9] == 0).all()  # top-left window: its whole first row is padding


def test_col2im_adds_where_windows_overlap():
    # Regression: col2im must ADD. With a 3x3 kernel, stride 1, on a 5x5 image,
    # the centre pixel lies in all 9 windows, a corner in 1, an edge-middle in 3.
    window = Window.over((5, 5), (3, 3), (1, 1), "valid")
    for implementation in (col2im.fast, col2im.reference):
        counts = implementation(np.ones((9, 9)), window)[0, :, :, 0]
        assert counts[2, 2] == 9 and counts[0, 0] == 1 and counts[0, 2] == 3


def test_col2im_overwrites_its_output_buffer():
    window = Window.over((4, 4), (2, 2), (2, 2), "valid")
    for _ in range(2):  # the second call gets the first one's memory back from the pool
        np.testing.assert_array_equal(col2im.fast(np.ones((8, 4)), window), np.ones((2, 4, 4, 1)))


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_entries_follow_the_switch(kernels, monkeypatch):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    ran = []
    for entry in (im2col, col2im):
        for name in ("fast", "reference"):
            real = getattr(entry, name)
            monkeypatch.setattr(entry, name,
                                lambda *a, real=real, name=name: ran.append(name) or real(*a))
    window = Window.over((4, 4), (2, 2), (1, 1), "valid")
    col2im(im2col(np.ones((1, 4, 4, 1)), window), window)
    assert ran == ["reference" if kernels == "numpy" else "fast"] * 2


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
                np.testing.assert_allclose(k.col2im_matmul.fast(dy, wt, window),
                                           k.col2im_matmul_reference(dy, wt, window), rtol=1e-4, atol=1e-5)
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
