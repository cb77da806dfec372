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

Padding is described by ``pad_top``/``pad_left`` (what lies before the first real
row/column); the bottom/right padding is implied by the output size. Padded cells
read as 0 and their gradient is dropped.

Each function exists twice:

* ``im2col_reference`` / ``col2im_reference``: plain NumPy a learner can read;
* ``im2col_numba`` / ``col2im_numba``: Numba kernels that write straight into a
  preallocated buffer, handle padding by bounds checks (no padded copy of ``x``)
  and run over images/rows in parallel.

``im2col`` and ``col2im`` are the entry points the layers call: the Numba path, or
the references when ``MINICNN_KERNELS=numpy`` (``minicnn.kernels.backend``).
Tests prove the two paths agree.
"""

import numba
import numpy as np

from . import backend

__all__ = [
    "conv_output_size",
    "im2col_reference",
    "col2im_reference",
    "im2col_numba",
    "col2im_numba",
    "im2col",
    "col2im",
]


def conv_output_size(size, kernel, stride, padding):
    """Output length and padding along one axis, the TensorFlow/Keras way.

    Parameters
    ----------
    size, kernel, stride : int
        Input length, window length, step.
    padding : {"valid", "same"}
        ``"valid"``: only windows that fit, ``out = (size - kernel) // stride + 1``.
        ``"same"``: ``out = ceil(size / stride)``; the zeros needed,
        ``max((out - 1) * stride + kernel - size, 0)``, are split with the smaller half
        before (top/left) and the extra one after (bottom/right).

    Returns
    -------
    out, pad_before, pad_after : int
        ``out`` is 0 or negative when a "valid" window does not fit; callers check.
    """
    if padding == "valid":
        return (size - kernel) // stride + 1, 0, 0
    if padding == "same":
        out = -(-size // stride)  # ceil division
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


# --------------------------------------------------------------------------------------
# NumPy references: short, readable, allocate freely.
# --------------------------------------------------------------------------------------
def _pad(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w):
    """Zero-pad ``x`` so every window of the output grid lies inside."""
    n, h, w, c = x.shape
    pad_bottom = max((out_h - 1) * sh + kh - h - pad_top, 0)
    pad_right = max((out_w - 1) * sw + kw - w - pad_left, 0)
    return np.pad(x, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))


def im2col_reference(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w):
    """Copy every ``(kh, kw, C)`` window of ``x`` into one row.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    kh, kw : int
        Window height and width.
    sh, sw : int
        Strides.
    pad_top, pad_left : int
        Zeros before the first row / column.
    out_h, out_w : int
        Output grid size (fixes the bottom/right padding).

    Returns
    -------
    cols : array, shape (N * out_h * out_w, kh * kw * C), dtype of ``x``
        Row ``(n, oh, ow)`` holds ``x_padded[n, oh*sh : oh*sh+kh, ow*sw : ow*sw+kw, :]``
        flattened in ``(i, j, c)`` order.
    """
    n, _, _, c = x.shape
    xp = _pad(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)
    cols = np.empty((n, out_h, out_w, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # All windows' (i, j) element at once: a strided slice of the padded image.
            cols[:, :, :, i, j, :] = xp[:, i : i + sh * out_h : sh, j : j + sw * out_w : sw, :]
    return cols.reshape(n * out_h * out_w, kh * kw * c)


def col2im_reference(cols, x_shape, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w):
    """Adjoint of :func:`im2col_reference`: scatter-ADD rows back onto the image.

    Parameters
    ----------
    cols : array, shape (N * out_h * out_w, kh * kw * C)
    x_shape : tuple (N, H, W, C)
        Shape of the image to rebuild.
    (the rest as in :func:`im2col_reference`)

    Returns
    -------
    dx : array, shape ``x_shape``, dtype of ``cols``
        ``dx[n, h, w, c]`` is the sum of every ``cols`` entry copied from ``x[n, h, w, c]``.
    """
    n, h, w, c = x_shape
    pad_bottom = max((out_h - 1) * sh + kh - h - pad_top, 0)
    pad_right = max((out_w - 1) * sw + kw - w - pad_left, 0)
    dxp = np.zeros((n, h + pad_top + pad_bottom, w + pad_left + pad_right, c), dtype=cols.dtype)
    cols = cols.reshape(n, out_h, out_w, kh, kw, c)
    for i in range(kh):
        for j in range(kw):
            # += , not = : with stride < kernel the same pixel appears at several (i, j).
            dxp[:, i : i + sh * out_h : sh, j : j + sw * out_w : sw, :] += cols[:, :, :, i, j, :]
    return dxp[:, pad_top : pad_top + h, pad_left : pad_left + w, :]


# --------------------------------------------------------------------------------------
# Numba kernels: same results, no padded copy, no temporaries, parallel.
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, parallel=True)
def im2col_numba(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, cols):
    """Fill ``cols`` (shape ``(N*out_h*out_w, kh*kw*C)``) from ``x`` (N, H, W, C).

    One parallel task per output row ``(n, oh)``: rows of ``cols`` are independent.
    For fixed ``(n, oh, ow, i)`` the ``kw * C`` values of the window row are contiguous
    in ``x`` (NHWC), so each is a short contiguous copy; cells outside the image are
    written as zeros instead of being read from a padded copy.
    """
    n_img, h, w, c = x.shape
    row_len = kw * c
    flat = x.reshape(n_img * h * w * c)  # x is C-contiguous: a view, not a copy
    for task in numba.prange(n_img * out_h):
        n = task // out_h
        oh = task % out_h
        ih0 = oh * sh - pad_top
        for ow in range(out_w):
            r = task * out_w + ow
            iw0 = ow * sw - pad_left
            for i in range(kh):
                ih = ih0 + i
                base = i * row_len
                if ih < 0 or ih >= h:
                    for k in range(row_len):
                        cols[r, base + k] = 0
                    continue
                if iw0 >= 0 and iw0 + kw <= w:
                    # Whole window row inside: one contiguous copy of kw*C values.
                    src = ((n * h + ih) * w + iw0) * c
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


@numba.njit(cache=True, parallel=True)
def col2im_numba(cols, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, dx):
    """Fill ``dx`` (N, H, W, C) with the scatter-add of ``cols`` (adjoint of im2col).

    One parallel task per image: windows of different images never touch the same
    pixel, so there is no write race; inside an image, overlapping windows add up.
    Gradient that lands on padding is dropped.
    """
    n_img, h, w, c = dx.shape
    for n in numba.prange(n_img):
        dx[n] = 0
        for oh in range(out_h):
            ih0 = oh * sh - pad_top
            for ow in range(out_w):
                r = (n * out_h + oh) * out_w + ow
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


# --------------------------------------------------------------------------------------
# Entry points used by the layers.
# --------------------------------------------------------------------------------------
def im2col(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, out=None):
    """im2col (Numba, or the reference under ``MINICNN_KERNELS=numpy``); into ``out`` if given."""
    x = np.ascontiguousarray(x)
    shape = (x.shape[0] * out_h * out_w, kh * kw * x.shape[3])
    if backend.use_reference():
        cols = im2col_reference(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)
        if out is None:
            return cols
        out[...] = cols
        return out
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    with backend.threads_for(out.size):
        return im2col_numba(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, out)


def col2im(cols, x_shape, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, out=None):
    """col2im (Numba, or the reference under ``MINICNN_KERNELS=numpy``); into ``out`` if given."""
    cols = np.ascontiguousarray(cols)
    if backend.use_reference():
        dx = col2im_reference(cols, x_shape, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)
        if out is None:
            return dx
        out[...] = dx
        return out
    if out is None:
        out = np.empty(x_shape, dtype=cols.dtype)
    with backend.threads_for(cols.size):
        return col2im_numba(cols, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, out)
