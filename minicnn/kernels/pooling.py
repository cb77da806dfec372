"""Max pooling, forward with argmax and backward, in NumPy and in Numba.

Forward: each output cell is the largest input in its ``(ph, pw)`` window, per channel,

    y[n, oh, ow, c] = max_{i, j} x[n, oh*sh - pad_top + i, ow*sw - pad_left + j, c]

over the window cells that lie inside the image (padded cells never win: they are
skipped, which is the same as padding with -inf). We also keep WHERE the maximum
was, ``argmax[n, oh, ow, c] = i * pw + j`` (position inside the window), so the
backward pass needs neither the input nor a mask the size of the input.

Backward: the max is locally "pick one input", so its gradient goes to that one
input and nowhere else:

    dx[n, ih, iw, c] += dy[n, oh, ow, c]   where (ih, iw) is the argmax of window (oh, ow)

With ties, exactly ONE input gets the gradient: the first maximum in row-major order
(``i`` then ``j``). Sending it to every tied input would multiply the gradient.
Where windows overlap (stride < pool) an input can be the max of several windows and
receives the SUM of their gradients.

``maxpool_forward`` / ``maxpool_backward`` are the entry points; the ``*_reference``
functions are the readable versions, the ``*_numba`` loops the fast ones, and
``minicnn.kernels.backend`` chooses between them; the tests prove they agree. The
geometry is a :class:`~minicnn.kernels.window.Window`.
"""

import numba
import numpy as np

from . import workspace
from .backend import fast_version_of, threads_for

__all__ = [
    "ARGMAX_DTYPE",
    "maxpool_forward", "maxpool_forward_reference", "maxpool_forward_numba",
    "maxpool_backward", "maxpool_backward_reference", "maxpool_backward_numba",
]

# Window positions fit in int16 for any pool up to 181x181; half the memory of int32.
ARGMAX_DTYPE = np.int16


# --------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------
def maxpool_forward_reference(x, window):
    """Max over each window, and the window position of the (first) maximum.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    window : Window
        Padded cells never win.

    Returns
    -------
    y : array, shape (N, out_h, out_w, C), dtype of ``x``
    argmax : int16 array, shape (N, out_h, out_w, C)
        ``i * pw + j``: row-major position of the maximum inside its window.
    """
    w = window
    n, _, _, c = x.shape
    xp = np.pad(
        x,
        ((0, 0), (w.pad_top, w.pad_bottom), (w.pad_left, w.pad_right), (0, 0)),
        constant_values=-np.inf,  # a padded cell loses against any real value
    )
    windows = np.empty((n, w.out_h, w.out_w, c, w.size), dtype=x.dtype)
    for i in range(w.kh):
        for j in range(w.kw):
            windows[..., i * w.kw + j] = xp[:, i : i + w.sh * w.out_h : w.sh,
                                            j : j + w.sw * w.out_w : w.sw, :]
    argmax = windows.argmax(axis=-1)  # np.argmax returns the FIRST maximum on ties
    y = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return y, argmax.astype(ARGMAX_DTYPE)


def maxpool_backward_reference(dy, argmax, window):
    """Send each window's gradient to its argmax; add where windows share an input.

    Parameters
    ----------
    dy : array, shape (N, out_h, out_w, C)
    argmax : int array, shape (N, out_h, out_w, C), from the forward pass
    window : Window

    Returns
    -------
    dx : array, shape (N, in_h, in_w, C), dtype of ``dy``
    """
    w = window
    n, out_h, out_w, c = dy.shape
    nn, oh, ow, cc = np.meshgrid(
        np.arange(n), np.arange(out_h), np.arange(out_w), np.arange(c), indexing="ij"
    )
    ih = oh * w.sh - w.pad_top + argmax // w.kw  # input row of each window's maximum
    iw = ow * w.sw - w.pad_left + argmax % w.kw
    dx = np.zeros((n, w.in_h, w.in_w, c), dtype=dy.dtype)
    np.add.at(dx, (nn, ih, iw, cc), dy)  # add.at: repeated indices accumulate
    return dx


# --------------------------------------------------------------------------------------
# Numba loops
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, parallel=True)
def maxpool_forward_numba(x, bounds, y, argmax):
    """Fill ``y`` and ``argmax`` (both (N, out_h, out_w, C)) in one pass over ``x``.

    ``bounds`` is ``Window.loop_bounds()``. One parallel task per output row
    ``(n, oh)``. Cells outside the image are skipped by the loop bounds. Two details
    make this much faster than the obvious loop:

    * the channel loop is innermost, so reads of ``x`` are contiguous (NHWC) and
      the compiler can use SIMD over channels;
    * the update is branch-free (``max`` and a select) into small local arrays: with
      an ``if v > best`` branch, random data mispredicts half the time.

    Strict ``>`` keeps the first maximum in row-major order on ties.
    """
    ph, pw, sh, sw, pad_top, pad_left, out_h, out_w = bounds
    n_img, h, w, c = x.shape
    for task in numba.prange(n_img * out_h):
        n = task // out_h
        oh = task % out_h
        ih0 = oh * sh - pad_top
        i_lo = max(0, -ih0)
        i_hi = min(ph, h - ih0)
        best = np.empty(c, dtype=x.dtype)
        arg = np.empty(c, dtype=np.int32)
        for ow in range(out_w):
            iw0 = ow * sw - pad_left
            j_lo = max(0, -iw0)
            j_hi = min(pw, w - iw0)
            # Start from the first real cell of the window.
            first = x[n, ih0 + i_lo, iw0 + j_lo]
            pos0 = i_lo * pw + j_lo
            for ch in range(c):
                best[ch] = first[ch]
                arg[ch] = pos0
            for i in range(i_lo, i_hi):
                for j in range(j_lo, j_hi):
                    pos = np.int32(i * pw + j)
                    cell = x[n, ih0 + i, iw0 + j]
                    for ch in range(c):
                        v = cell[ch]
                        b = best[ch]
                        arg[ch] = pos if v > b else arg[ch]
                        best[ch] = v if v > b else b
            y_out = y[n, oh, ow]
            a_out = argmax[n, oh, ow]
            for ch in range(c):
                y_out[ch] = best[ch]
                a_out[ch] = arg[ch]
    return y, argmax


@numba.njit(cache=True, parallel=True)
def maxpool_backward_numba(dy, argmax, bounds, dx):
    """Fill ``dx`` (N, H, W, C) with each ``dy`` routed to its window's argmax.

    One parallel task per image, so overlapping windows (which only overlap inside
    one image) never race. Rather than decoding each argmax into (row, column) with
    two integer divisions, we visit each window cell once and write ``dy`` where the
    argmax names that cell, 0 elsewhere: branch-free and SIMD-friendly over channels.

    When the windows tile the image (stride == pool, the usual case) every input cell
    belongs to at most one window, so we write each cell once and only zero the
    rows/columns no window covers. Otherwise we zero ``dx`` and ADD, because a cell
    can win several overlapping windows.
    """
    ph, pw, sh, sw, pad_top, pad_left, _, _ = bounds
    n_img, out_h, out_w, c = dy.shape
    _, h, w, _ = dx.shape
    tiled = sh == ph and sw == pw
    for n in numba.prange(n_img):
        if tiled:
            # Cells beyond the last window (e.g. the last row when H is odd, "valid").
            dx[n, max(0, out_h * sh - pad_top) :] = 0
            dx[n, :, max(0, out_w * sw - pad_left) :] = 0
        else:
            dx[n] = 0
        for oh in range(out_h):
            ih0 = oh * sh - pad_top
            for ow in range(out_w):
                iw0 = ow * sw - pad_left
                g = dy[n, oh, ow]
                a = argmax[n, oh, ow]
                for i in range(max(0, -ih0), min(ph, h - ih0)):
                    for j in range(max(0, -iw0), min(pw, w - iw0)):
                        pos = i * pw + j
                        cell = dx[n, ih0 + i, iw0 + j]
                        if tiled:
                            for ch in range(c):
                                cell[ch] = g[ch] if a[ch] == pos else 0
                        else:
                            for ch in range(c):
                                cell[ch] += g[ch] if a[ch] == pos else 0
    return dx


# --------------------------------------------------------------------------------------
# The fast entries: the Numba loops on reused buffers (``minicnn.kernels.workspace``).
# --------------------------------------------------------------------------------------
@fast_version_of(maxpool_forward_reference)
def maxpool_forward(x, window):
    """``(y, argmax)`` in arrays from the workspace pool (see the reference)."""
    x = np.ascontiguousarray(x)
    shape = (x.shape[0], window.out_h, window.out_w, x.shape[3])
    y = workspace.output(shape, x.dtype)
    argmax = workspace.output(shape, ARGMAX_DTYPE)
    with threads_for(x.size):
        return maxpool_forward_numba(x, window.loop_bounds(), y, argmax)


@fast_version_of(maxpool_backward_reference)
def maxpool_backward(dy, argmax, window):
    """``dx`` in an array from the workspace pool (see the reference)."""
    dy = np.ascontiguousarray(dy)
    dx = workspace.output((dy.shape[0], window.in_h, window.in_w, dy.shape[3]), dy.dtype)
    with threads_for(dx.size):
        return maxpool_backward_numba(dy, np.ascontiguousarray(argmax), window.loop_bounds(), dx)
