"""im2col and col2im: turning a convolution into one matrix multiply, and back.

A convolution slides a ``(kh, kw, C)`` window over the image and takes, at each
output position, the dot product of the window with each of the ``F`` filters.
If we copy every window into one row of a matrix ("image to columns"),

    cols[(n, oh, ow), (i, j, c)] = x_padded[n, oh*sh + i, ow*sw + j, c]

then the whole convolution is one GEMM, ``cols @ W.reshape(kh*kw*C, F)``, whose
``(N*Ho*Wo, F)`` result IS the NHWC output (reshape, no transpose), because rows are
ordered ``(n, oh, ow)`` and each row's columns ``(i, j, c)`` match ``W``'s leading axes.

col2im is the adjoint (the transpose) of im2col: it sends every entry of a
``cols``-shaped gradient back to the input pixel it was copied from, ADDING where
windows overlap (a pixel that sat in several windows received gradient from each).
Padded cells read as 0 and their gradient is dropped. The geometry (window, strides,
pads, output grid) is a :class:`~minicnn.kernels.window.Window`.

Each entry has a plain NumPy reference (``im2col_reference``, ``col2im_reference``:
read these) and a fast version built on the Numba loops
``im2col_numba`` / ``col2im_numba``, which write straight into reused buffers, handle
padding by bounds checks (no padded copy of ``x``) and run over images/rows in
parallel. ``minicnn.kernels.backend`` chooses; the tests prove both agree.
"""

import numba
import numpy as np

from . import workspace
from .backend import fast_version_of, threads_for
from .window import Window, conv_output_size

__all__ = [
    "Window", "conv_output_size",
    "im2col", "im2col_reference", "im2col_numba", "im2col_image_rows",
    "col2im", "col2im_reference", "col2im_numba", "col2im_image_rows",
]


# --------------------------------------------------------------------------------------
# NumPy references: short, readable, allocate freely.
# --------------------------------------------------------------------------------------
def _padded_shape(n, c, window):
    return (n, window.pad_top + window.in_h + window.pad_bottom,
            window.pad_left + window.in_w + window.pad_right, c)


def _images_of(cols, window):
    """``(N, C)`` of the image whose im2col is ``cols``, from its shape."""
    return cols.shape[0] // (window.out_h * window.out_w), cols.shape[1] // window.size


def im2col_reference(x, window):
    """Copy every ``(kh, kw, C)`` window of ``x`` into one row.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    window : Window

    Returns
    -------
    cols : array, shape (N * out_h * out_w, kh * kw * C), dtype of ``x``
        Row ``(n, oh, ow)`` holds ``x_padded[n, oh*sh : oh*sh+kh, ow*sw : ow*sw+kw, :]``
        flattened in ``(i, j, c)`` order.
    """
    w = window
    n, _, _, c = x.shape
    xp = np.pad(x, ((0, 0), (w.pad_top, w.pad_bottom), (w.pad_left, w.pad_right), (0, 0)))
    cols = np.empty((n, w.out_h, w.out_w, w.kh, w.kw, c), dtype=x.dtype)
    for i in range(w.kh):
        for j in range(w.kw):
            # All windows' (i, j) element at once: a strided slice of the padded image.
            cols[:, :, :, i, j, :] = xp[:, i : i + w.sh * w.out_h : w.sh,
                                        j : j + w.sw * w.out_w : w.sw, :]
    return cols.reshape(n * w.out_h * w.out_w, w.kh * w.kw * c)


def col2im_reference(cols, window):
    """Adjoint of :func:`im2col_reference`: scatter-ADD rows back onto the image.

    Parameters
    ----------
    cols : array, shape (N * out_h * out_w, kh * kw * C)
    window : Window

    Returns
    -------
    dx : array, shape (N, in_h, in_w, C), dtype of ``cols``
        ``dx[n, h, w, c]`` is the sum of every ``cols`` entry copied from ``x[n, h, w, c]``.
    """
    w = window
    n, c = _images_of(cols, w)
    dxp = np.zeros(_padded_shape(n, c, w), dtype=cols.dtype)
    cols = cols.reshape(n, w.out_h, w.out_w, w.kh, w.kw, c)
    for i in range(w.kh):
        for j in range(w.kw):
            # += , not = : with stride < kernel the same pixel appears at several (i, j).
            dxp[:, i : i + w.sh * w.out_h : w.sh, j : j + w.sw * w.out_w : w.sw, :] += \
                cols[:, :, :, i, j, :]
    return dxp[:, w.pad_top : w.pad_top + w.in_h, w.pad_left : w.pad_left + w.in_w, :]


# --------------------------------------------------------------------------------------
# Numba loops: same results, no padded copy, no temporaries. One loop body per direction
# (an image row's windows), called by the whole-batch kernels here (one parallel task per
# few image rows or per image) and by the banded ones of minicnn.kernels.conv (one band per lane).
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def im2col_image_rows(x, bounds, first_row, rows, cols, r0):
    """Fill ``cols[r0 :]`` with the windows of the ``rows`` image rows from ``first_row``.

    An image row is one ``(n, oh)``, counted over the batch as ``n * out_h + oh``; it
    gets ``out_w`` consecutive rows of ``cols``. For fixed ``(n, oh, ow, i)`` the ``kw * C`` values
    of the window row are contiguous in ``x`` (NHWC), so each is one contiguous copy;
    cells outside the image are written as zeros instead of being read from a padded copy.
    """
    kh, kw, sh, sw, pad_top, pad_left, out_h, out_w = bounds
    n_img, h, w, c = x.shape
    row_len = kw * c
    flat = x.reshape(n_img * h * w * c)  # x is C-contiguous: a view, not a copy
    for t in range(rows):
        n, oh = divmod(first_row + t, out_h)
        ih0 = oh * sh - pad_top
        for ow in range(out_w):
            r = r0 + t * out_w + ow
            iw0 = ow * sw - pad_left
            for i in range(kh):
                ih = ih0 + i
                base = i * row_len
                if ih < 0 or ih >= h:
                    for k in range(row_len):
                        cols[r, base + k] = 0
                elif iw0 >= 0 and iw0 + kw <= w:
                    # Whole window row inside: kw*C contiguous values of x.
                    src = ((n * h + ih) * w + iw0) * c
                    if row_len >= 32:  # long: a slice copy (memcpy)
                        cols[r, base : base + row_len] = flat[src : src + row_len]
                    else:  # short: a loop, cheaper than setting up a slice
                        for k in range(row_len):
                            cols[r, base + k] = flat[src + k]
                else:
                    for j in range(kw):
                        iw = iw0 + j
                        if iw < 0 or iw >= w:
                            for ch in range(c):
                                cols[r, base + j * c + ch] = 0
                        else:
                            for ch in range(c):
                                cols[r, base + j * c + ch] = x[n, ih, iw, ch]
    return cols


@numba.njit(cache=True, nogil=True)
def col2im_image_rows(cols, r0, bounds, first_row, rows, dx):
    """Scatter-ADD ``cols[r0 :]`` (the windows of ``rows`` image rows from ``first_row``) onto ``dx``.

    The adjoint of :func:`im2col_image_rows`: overlapping windows add up; gradient that
    lands on padding is dropped. ``dx`` must hold zeros (or earlier rows' sums) there.
    """
    kh, kw, sh, sw, pad_top, pad_left, out_h, out_w = bounds
    _, h, w, c = dx.shape
    for t in range(rows):
        n, oh = divmod(first_row + t, out_h)
        ih0 = oh * sh - pad_top
        for ow in range(out_w):
            r = r0 + t * out_w + ow
            iw0 = ow * sw - pad_left
            for i in range(kh):
                ih = ih0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = iw0 + j
                    if iw < 0 or iw >= w:
                        continue
                    base = (i * kw + j) * c
                    for ch in range(c):
                        dx[n, ih, iw, ch] += cols[r, base + ch]
    return dx


# Image rows per parallel task of the whole-batch im2col.
_ROWS_PER_TASK = 8


@numba.njit(cache=True, parallel=True)
def im2col_numba(x, bounds, cols):
    """Fill ``cols`` (shape ``(N*out_h*out_w, kh*kw*C)``) from ``x`` (N, H, W, C).

    ``bounds`` is ``Window.loop_bounds()``. Rows of ``cols`` are independent: each
    parallel task fills a few image rows with :func:`im2col_image_rows`.
    """
    out_h, out_w = bounds[6], bounds[7]
    rows = x.shape[0] * out_h
    for task in numba.prange((rows + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK):
        first = task * _ROWS_PER_TASK
        count = min(rows, first + _ROWS_PER_TASK) - first
        im2col_image_rows(x, bounds, first, count, cols, first * out_w)
    return cols


@numba.njit(cache=True, parallel=True)
def col2im_numba(cols, bounds, dx):
    """Fill ``dx`` (N, H, W, C) with the scatter-add of ``cols`` (adjoint of im2col).

    One parallel task per image: windows of different images never touch the same
    pixel, so there is no write race; inside an image, overlapping windows add up.
    """
    out_h, out_w = bounds[6], bounds[7]
    for n in numba.prange(dx.shape[0]):
        dx[n] = 0
        col2im_image_rows(cols, n * out_h * out_w, bounds, n * out_h, out_h, dx)
    return dx


# --------------------------------------------------------------------------------------
# The fast entries: the Numba loops on reused buffers (``minicnn.kernels.workspace``).
# --------------------------------------------------------------------------------------
@fast_version_of(im2col_reference)
def im2col(x, window):
    """im2col into an array from the workspace pool (see :func:`im2col_reference`)."""
    x = np.ascontiguousarray(x)
    n, _, _, c = x.shape
    cols = workspace.output((n * window.out_h * window.out_w, window.size * c), x.dtype)
    with threads_for(cols.size):
        return im2col_numba(x, window.loop_bounds(), cols)


@fast_version_of(col2im_reference)
def col2im(cols, window):
    """col2im into an array from the workspace pool (see :func:`col2im_reference`)."""
    cols = np.ascontiguousarray(cols)
    n, c = _images_of(cols, window)
    dx = workspace.output((n, window.in_h, window.in_w, c), cols.dtype)
    with threads_for(cols.size):
        return col2im_numba(cols, window.loop_bounds(), dx)
