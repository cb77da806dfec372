"""Max-pool kernels: Numba equals the NumPy reference (ties included); one winner per window."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels.window import Window, conv_output_size
from minicnn.kernels.pooling import (
    maxpool_backward,
    maxpool_backward_reference,
    maxpool_forward,
    maxpool_forward_reference,
)


@st.composite
def pool_cases(draw):
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c = draw(st.integers(1, 4))
    ph, pw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    assume(conv_output_size(h, ph, sh, padding)[0] > 0)
    assume(conv_output_size(w, pw, sw, padding)[0] > 0)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.integers(-2, 2, (n, h, w, c)).astype(dtype)  # small integers: many ties
    else:
        x = rng.standard_normal((n, h, w, c)).astype(dtype)
    return x, Window.over((h, w), (ph, pw), (sh, sw), padding)


@settings(max_examples=200, deadline=None)
@given(pool_cases())
def test_kernels_equal_reference(case):
    x, window = case
    y_ref, arg_ref = maxpool_forward_reference(x, window)
    y, arg = maxpool_forward.fast(x, window)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)  # same winner, ties included
    g = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    dx_ref = maxpool_backward_reference(g, arg_ref, window)
    dx = maxpool_backward.fast(g, arg, window)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    tol = 1e-6 if x.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)
    # Every window passes on its whole gradient, no more, no less.
    assert float(dx.sum()) == pytest.approx(float(g.sum()), rel=1e-4, abs=1e-4)


def test_ties_send_gradient_to_exactly_one_element():
    # Regression: a window of equal values passes its gradient to ONE of them,
    # the first in row-major order, not to each.
    x = np.ones((1, 4, 4, 2), dtype=np.float32)
    window = Window.over((4, 4), (2, 2), (2, 2), "valid")
    y, arg = maxpool_forward.fast(x, window)
    assert (arg == 0).all()
    dx = maxpool_backward.fast(np.ones_like(y), arg, window)
    assert dx.sum() == y.size
    expected = np.zeros_like(x)
    expected[:, ::2, ::2, :] = 1  # the top-left cell of each window
    np.testing.assert_array_equal(dx, expected)


def test_padded_cells_never_win():
    # All inputs negative: a zero-padded max-pool would return 0 at the border.
    x = -1.0 - np.arange(25, dtype=np.float64).reshape(1, 5, 5, 1)
    window = Window.over((5, 5), (2, 2), (2, 2), "same")  # 3, pad 0 top / 1 bottom
    y, arg = maxpool_forward.fast(x, window)
    assert y.shape == (1, 3, 3, 1)
    assert (y < 0).all()
    assert y[0, 2, 2, 0] == x[0, 4, 4, 0]  # bottom-right window: its only real cell
    window3 = Window.over((5, 5), (3, 3), (1, 1), "same")  # pad 1 on each side
    y3, _ = maxpool_forward.fast(x, window3)
    y3_ref, _ = maxpool_forward_reference(x, window3)
    np.testing.assert_array_equal(y3, y3_ref)
    assert y3[0, 0, 0, 0] == -1.0


def test_overlapping_windows_add():
    # 3x3 windows, stride 1: the global maximum wins all 9 windows around it.
    x = np.zeros((1, 5, 5, 1))
    x[0, 2, 2, 0] = 10.0
    window = Window.over((5, 5), (3, 3), (1, 1), "valid")
    y, arg = maxpool_forward.fast(x, window)
    dx = maxpool_backward.fast(np.ones_like(y), arg, window)
    assert dx[0, 2, 2, 0] == 9.0 and dx.sum() == 9.0


def test_backward_overwrites_a_reused_buffer():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    window = Window.over((4, 4), (2, 2), (2, 2), "valid")
    y, arg = maxpool_forward.fast(x, window)
    for _ in range(2):  # the second call gets the first one's memory back from the pool
        assert maxpool_backward.fast(np.ones_like(y), arg, window).sum() == 4.0


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_entries_follow_the_switch(kernels, monkeypatch):
    from minicnn.kernels import backend

    monkeypatch.setattr(backend, "KERNELS", kernels)
    ran = []
    for entry in (maxpool_forward, maxpool_backward):
        for name in ("fast", "reference"):
            real = getattr(entry, name)
            monkeypatch.setattr(entry, name,
                                lambda *a, real=real, name=name: ran.append(name) or real(*a))
    window = Window.over((4, 4), (2, 2), (2, 2), "valid")
    y, arg = maxpool_forward(np.ones((1, 4, 4, 1)), window)
    maxpool_backward(y, arg, window)
    assert ran == ["reference" if kernels == "numpy" else "fast"] * 2
