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

``maxpool_forward`` / ``maxpool_backward`` are the entry points (Numba, or the
references when ``MINICNN_KERNELS=numpy``); the ``*_reference`` functions are the
readable versions; tests prove they agree.
"""

import numba
import numpy as np

from . import backend

__all__ = [
    "maxpool_forward_reference",
    "maxpool_backward_reference",
    "maxpool_forward_numba",
    "maxpool_backward_numba",
    "maxpool_forward",
    "maxpool_backward",
]

# Window positions fit in int16 for any pool up to 181x181; half the memory of int32.
ARGMAX_DTYPE = np.int16


# --------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------
def maxpool_forward_reference(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w):
    """Max over each window, and the window position of the (first) maximum.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    ph, pw : int
        Pool (window) height and width.
    sh, sw : int
        Strides.
    pad_top, pad_left : int
        Padded cells before the first row / column (they never win).
    out_h, out_w : int
        Output grid size.

    Returns
    -------
    y : array, shape (N, out_h, out_w, C), dtype of ``x``
    argmax : int16 array, shape (N, out_h, out_w, C)
        ``i * pw + j``: row-major position of the maximum inside its window.
    """
    n, h, w, c = x.shape
    pad_bottom = max((out_h - 1) * sh + ph - h - pad_top, 0)
    pad_right = max((out_w - 1) * sw + pw - w - pad_left, 0)
    xp = np.pad(
        x,
        ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)),
        constant_values=-np.inf,  # a padded cell loses against any real value
    )
    windows = np.empty((n, out_h, out_w, c, ph * pw), dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            windows[..., i * pw + j] = xp[:, i : i + sh * out_h : sh, j : j + sw * out_w : sw, :]
    argmax = windows.argmax(axis=-1)  # np.argmax returns the FIRST maximum on ties
    y = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return y, argmax.astype(ARGMAX_DTYPE)


def maxpool_backward_reference(dy, argmax, x_shape, ph, pw, sh, sw, pad_top, pad_left):
    """Send each window's gradient to its argmax; add where windows share an input.

    Parameters
    ----------
    dy : array, shape (N, out_h, out_w, C)
    argmax : int array, shape (N, out_h, out_w, C), from the forward pass
    x_shape : tuple (N, H, W, C)
    (the rest as in :func:`maxpool_forward_reference`)

    Returns
    -------
    dx : array, shape ``x_shape``, dtype of ``dy``
    """
    n, out_h, out_w, c = dy.shape
    nn, oh, ow, cc = np.meshgrid(
        np.arange(n), np.arange(out_h), np.arange(out_w), np.arange(c), indexing="ij"
    )
    ih = oh * sh - pad_top + argmax // pw  # input row of each window's maximum
    iw = ow * sw - pad_left + argmax % pw
    dx = np.zeros(x_shape, dtype=dy.dtype)
    np.add.at(dx, (nn, ih, iw, cc), dy)  # add.at: repeated indices accumulate
    return dx


# --------------------------------------------------------------------------------------
# Numba kernels
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, parallel=True)
def maxpool_forward_numba(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w, y, argmax):
    """Fill ``y`` and ``argmax`` (both (N, out_h, out_w, C)) in one pass over ``x``.

    One parallel task per output row ``(n, oh)``. Cells outside the image are skipped
    by the loop bounds. Two details make this ~10x faster than the obvious loop:

    * the channel loop is innermost, so reads of ``x`` are contiguous (NHWC) and
      the compiler can use SIMD over channels;
    * the update is branch-free (``max`` and a select) into small local arrays: with
      an ``if v > best`` branch, random data mispredicts half the time.

    Strict ``>`` keeps the first maximum in row-major order on ties.
    """
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
def maxpool_backward_numba(dy, argmax, ph, pw, sh, sw, pad_top, pad_left, dx):
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
# Entry points used by the layers
# --------------------------------------------------------------------------------------
def maxpool_forward(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w, out=None, argmax=None):
    """Numba max-pool forward: returns ``(y, argmax)``, written into ``out`` / ``argmax`` if given."""
    x = np.ascontiguousarray(x)
    shape = (x.shape[0], out_h, out_w, x.shape[3])
    y = np.empty(shape, dtype=x.dtype) if out is None else out
    argmax = np.empty(shape, dtype=ARGMAX_DTYPE) if argmax is None else argmax
    if backend.use_reference():  # MINICNN_KERNELS=numpy
        y[...], argmax[...] = maxpool_forward_reference(x, ph, pw, sh, sw, pad_top, pad_left,
                                                        out_h, out_w)
        return y, argmax
    with backend.threads_for(x.size):
        return maxpool_forward_numba(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w, y, argmax)


def maxpool_backward(dy, argmax, x_shape, ph, pw, sh, sw, pad_top, pad_left, out=None):
    """Max-pool backward (Numba, or the reference under ``MINICNN_KERNELS=numpy``)."""
    dy = np.ascontiguousarray(dy)
    if out is None:
        out = np.empty(x_shape, dtype=dy.dtype)
    if backend.use_reference():
        out[...] = maxpool_backward_reference(dy, argmax, x_shape, ph, pw, sh, sw, pad_top, pad_left)
        return out
    with backend.threads_for(out.size):
        return maxpool_backward_numba(dy, argmax, ph, pw, sh, sw, pad_top, pad_left, out)
