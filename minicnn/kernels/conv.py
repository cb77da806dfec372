"""A convolution's two products with ``cols = im2col(x)``, without keeping ``cols``.

Conv2D's forward is ``Y = cols @ Wm + b`` and its weight gradient ``dWm = cols^T @ dY``.
Both only ever read ``cols`` one row (one output pixel) at a time, so neither needs all
of it at once. The entries here take ``x`` and the :class:`~minicnn.kernels.window.Window`
instead of ``cols``:

    im2col_matmul(x, Wm, b, window)     = im2col(x) @ Wm + b       (N*out_h*out_w, F)
    im2col_t_matmul(x, dY, window)      = im2col(x)^T @ dY         (kh*kw*C, F)
    col2im_matmul(dY, Wm^T, window)     = col2im(dY @ Wm^T)        (N, H, W, C)

(the last one, the input gradient, never needs ``cols``; it moved here from
``minicnn.kernels.im2col`` to run in lanes like the other two).
The references say exactly that (read them). The fast versions build ``cols`` one band
of output rows at a time into a small buffer that stays in the core's cache, multiply
it, and move on: the layer then keeps its input ``x`` for backward (``cols`` is
``kh*kw`` times larger) and backward rebuilds each band, a copy that costs far less
than the product that reads it. The bands are shared out over the cores by
:mod:`minicnn.kernels.lanes`.
"""

import numba
import numpy as np

from . import lanes, workspace
from .backend import fast_version_of
from .im2col import col2im_image_rows, col2im_reference, im2col_image_rows, im2col_reference

__all__ = [
    "im2col_matmul", "im2col_matmul_reference",
    "im2col_t_matmul", "im2col_t_matmul_reference",
    "col2im_matmul", "col2im_matmul_reference",
    "im2col_rows_numba", "col2im_rows_numba",
]


# --------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------
def im2col_matmul_reference(x, weights, bias, window):
    """``im2col(x) @ weights (+ bias)``: a convolution's output as a matrix.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    weights : array, shape (kh*kw*C, F)
    bias : array, shape (F,), or None
    window : Window

    Returns
    -------
    array, shape (N * out_h * out_w, F): row ``(n, oh, ow)`` is output pixel ``(oh, ow)``
    of image ``n`` (so it reshapes to NHWC with no transpose).
    """
    y = im2col_reference(x, window) @ weights
    return y if bias is None else y + bias


def im2col_t_matmul_reference(x, dy, window):
    """``im2col(x)^T @ dy``: a convolution's weight gradient as a matrix.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    dy : array, shape (N * out_h * out_w, F)
    window : Window

    Returns
    -------
    array, shape (kh*kw*C, F)
    """
    return im2col_reference(x, window).T @ dy


def col2im_matmul_reference(dy, weights_t, window):
    """``col2im(dy @ weights_t, window)``: a convolution's input gradient.

    ``dy`` (N*out_h*out_w, F) and ``weights_t`` (F, kh*kw*C) give ``dcols``, the
    gradient for every copied window value; col2im adds it back onto the image.
    """
    return col2im_reference(dy @ weights_t, window)


# --------------------------------------------------------------------------------------
# Numba loops (serial, nogil: each lane runs its own band)
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def im2col_rows_numba(x, bounds, first_row, cols):
    """im2col of the image rows ``first_row ...`` (``cols.shape[0] // out_w`` of them).

    An image row is one ``(n, oh)``; ``first_row`` counts them over the whole batch
    (``n * out_h + oh``). The loop is the whole-batch one's,
    :func:`minicnn.kernels.im2col.im2col_image_rows`, run on one band.
    """
    return im2col_image_rows(x, bounds, first_row, cols.shape[0] // bounds[7], cols, 0)


@numba.njit(cache=True, nogil=True)
def col2im_rows_numba(dcols, bounds, first_row, dx):
    """Scatter-ADD ``dcols`` (image rows ``first_row ...``) onto ``dx`` (N, H, W, C).

    The adjoint of :func:`im2col_rows_numba` (the loop of
    :func:`minicnn.kernels.im2col.col2im_image_rows`); ``dx`` must hold zeros (or earlier
    bands' sums) where these windows land. Padding's share is dropped.
    """
    return col2im_image_rows(dcols, 0, bounds, first_row, dcols.shape[0] // bounds[7], dx)


# --------------------------------------------------------------------------------------
# The fast entries
# --------------------------------------------------------------------------------------
# A band is as many image rows as keep its cols near this many
# elements: small enough to stay in a core's cache, large enough for an efficient product.
BAND_ELEMENTS = 1 << 18


def _bands(window, n_images, row_elements):
    """``(rows per band, number of bands)`` for ``n_images * out_h`` image rows."""
    total = n_images * window.out_h
    per_band = max(1, min(total, BAND_ELEMENTS // max(1, row_elements)))
    return per_band, -(-total // per_band)


_BUFFERS = {}  # per-lane cols bands, kept between calls


@fast_version_of(im2col_matmul_reference)
def im2col_matmul(x, weights, bias, window):
    """``im2col(x) @ weights + bias``, band by band (see the module docstring)."""
    x = np.ascontiguousarray(x)
    weights = np.ascontiguousarray(weights)
    n, _, _, c = x.shape
    k, f_out = weights.shape
    dtype = np.result_type(x.dtype, weights.dtype)
    out_w = window.out_w
    y = workspace.output((n * window.out_h * out_w, f_out), dtype)
    bounds = window.loop_bounds()
    per_band, count = _bands(window, n, out_w * k)

    def band(lane, piece):
        first = piece * per_band
        rows = min(per_band, n * window.out_h - first)
        y_band = y[first * out_w : (first + rows) * out_w]
        cols = workspace.scratch(_BUFFERS, ("cols", lane), (rows * out_w, k), x.dtype)
        im2col_rows_numba(x, bounds, first, cols)
        np.matmul(cols, weights, out=y_band)
        if bias is not None:
            y_band += bias

    lanes.run(band, count)
    return y


@fast_version_of(im2col_t_matmul_reference)
def im2col_t_matmul(x, dy, window):
    """``im2col(x)^T @ dy``: each lane adds up its bands' ``cols_band^T @ dy_band``."""
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy)
    n, _, _, c = x.shape
    k, f_out = window.size * c, dy.shape[1]
    dtype = np.result_type(x.dtype, dy.dtype)
    out_w = window.out_w
    bounds = window.loop_bounds()
    per_band, count = _bands(window, n, out_w * k)
    sums = np.zeros((lanes.lanes(count), k, f_out), dtype)

    def band(lane, piece):
        first = piece * per_band
        rows = min(per_band, n * window.out_h - first)
        cols = workspace.scratch(_BUFFERS, ("cols", lane), (rows * out_w, k), x.dtype)
        im2col_rows_numba(x, bounds, first, cols)
        product = workspace.scratch(_BUFFERS, ("dw", lane), (k, f_out), dtype)
        np.matmul(cols.T, dy[first * out_w : (first + rows) * out_w], out=product)
        sums[lane] += product

    lanes.run(band, count, fixed=True)  # a fixed share per lane: the float sum is repeatable
    return sums.sum(axis=0) if len(sums) > 1 else sums[0]


@fast_version_of(col2im_matmul_reference)
def col2im_matmul(dy, weights_t, window):
    """``col2im(dy @ weights_t, window)``: one image per piece, band by band inside it.

    An image's windows overlap only each other, so lanes working on different images
    never add into the same pixel; inside an image the bands run in order.
    """
    dy = np.ascontiguousarray(dy)
    k = weights_t.shape[1]
    out_h, out_w = window.out_h, window.out_w
    n = dy.shape[0] // (out_h * out_w)
    dtype = np.result_type(dy.dtype, weights_t.dtype)
    dx = workspace.output((n, window.in_h, window.in_w, k // window.size), dtype)
    bounds = window.loop_bounds()
    per_band = _bands(window, 1, out_w * k)[0]

    def image(lane, piece):
        dx[piece] = 0
        for first in range(piece * out_h, (piece + 1) * out_h, per_band):
            rows = min(per_band, (piece + 1) * out_h - first)
            dcols = workspace.scratch(_BUFFERS, ("cols", lane), (rows * out_w, k), dtype)
            np.matmul(dy[first * out_w : (first + rows) * out_w], weights_t, out=dcols)
            col2im_rows_numba(dcols, bounds, first, dx)

    lanes.run(image, n)
    return dx
