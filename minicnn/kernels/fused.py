"""Conv2D -> ReLU -> MaxPool2D(2) at inference, in one pass over the convolution's output.

The three layers' forward maths, one after the other (read the reference)::

    z = im2col(x) @ Wm + b                     (N*Ho*Wo, F), reshaped to (N, Ho, Wo, F)
    a = max(z, 0)
    y[n, p, q, f] = max of a[n, 2p : 2p+2, 2q : 2q+2, f]     (N, Ho/2, Wo/2, F)

The fast version never holds ``z`` or ``a`` whole. It works through one image's band of
pooled rows at a time (``2 * rows`` convolution rows), inside one lane
(:mod:`minicnn.kernels.lanes`): im2col of the band, its matrix product into a small
buffer that stays in the core's cache, then one loop that pools, adds the bias and
applies the ReLU while writing the pooled rows. Nothing is kept for a backward pass,
so this is for inference only.

Pooling first and adding ``b`` and the ReLU after gives the same numbers:
``max_i(z_i + b) == max_i(z_i) + b`` and ``max_i(max(z_i, 0)) == max(max_i z_i, 0)``
hold exactly in floating point, because rounded addition and ``max(., 0)`` never
reverse an order. It does four times fewer additions.

A 3x3 stride-1 convolution with at least ``WINOGRAD_MIN_CHANNELS`` input channels is
computed by Winograd's F(2x2, 3x3) instead (:mod:`minicnn.kernels.winograd`): 2.25 times
fewer multiplications, and its 2x2 output tiles are exactly the pooling windows, so the
pool, bias and ReLU fold into its output transform. It equals the direct convolution up
to float rounding (the tests allow float32's 1e-5). With few input channels its
transforms cost more than the multiplications they save, so those layers stay on
im2col (``benchmarks/profile_layers.py`` and ``docs/performance.md`` have the figures).

The pool must be 2x2 with stride 2 and no padding before the image (``"valid"``, or
``"same"``, whose only padding is one row/column after an odd size):
:func:`pool_is_2x2` says whether a pool window qualifies. ``minicnn.fusion`` decides
where the pattern applies.
"""

import numba
import numpy as np

from . import conv, lanes, winograd, workspace
from .activations import relu_reference
from .backend import fast_version_of
from .conv import im2col_matmul_reference, im2col_rows_numba
from .pooling import maxpool_forward_reference

__all__ = ["conv_relu_maxpool", "conv_relu_maxpool_reference", "pool_is_2x2",
           "bias_relu_maxpool2x2_numba"]


def pool_is_2x2(pool_window):
    """True when ``pool_window`` is a 2x2 pool with stride 2 and nothing padded before."""
    w = pool_window
    return (w.kh, w.kw, w.sh, w.sw, w.pad_top, w.pad_left) == (2, 2, 2, 2, 0, 0)


def conv_relu_maxpool_reference(x, weights, bias, conv_window, pool_window):
    """``maxpool(relu(im2col(x) @ weights + bias))``: the three layers' forwards in turn.

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    weights : array, shape (kh*kw*C, F), the convolution's kernel as a matrix
    bias : array, shape (F,), or None
    conv_window : Window of the convolution over (H, W)
    pool_window : Window of the pool over the convolution's (out_h, out_w)

    Returns
    -------
    array, shape (N, pool_window.out_h, pool_window.out_w, F)
    """
    n = x.shape[0]
    z = im2col_matmul_reference(x, weights, bias, conv_window)
    z = z.reshape(n, conv_window.out_h, conv_window.out_w, weights.shape[1])
    a, _ = relu_reference(z)
    y, _ = maxpool_forward_reference(a, pool_window)
    return y


@numba.njit(cache=True, nogil=True)
def bias_relu_maxpool2x2_numba(z, bias, rows, out_w, y):
    """Pool ``z`` 2x2, add ``bias``, apply the ReLU, into ``y`` (P, Q, F).

    ``z`` (rows*out_w, F) holds ``rows`` consecutive convolution rows of one image, the
    first of them an even one; ``y`` the ``P`` pooled rows they make. A window that runs
    past the last row or column (``"same"`` on an odd size) uses the cells it has. A NaN
    anywhere in a window gives NaN, as the reference does.
    """
    f = z.shape[1]
    for p in range(y.shape[0]):
        i_end = min(2 * p + 2, rows)
        for q in range(y.shape[1]):
            j_end = min(2 * q + 2, out_w)
            best = y[p, q]
            first = z[2 * p * out_w + 2 * q]
            for ch in range(f):
                best[ch] = first[ch]
            for i in range(2 * p, i_end):
                for j in range(2 * q, j_end):
                    cell = z[i * out_w + j]
                    for ch in range(f):
                        v = cell[ch]
                        b = best[ch]
                        best[ch] = v if (v > b or v != v) else b  # NaN sticks once seen
            for ch in range(f):
                v = best[ch] + bias[ch]
                best[ch] = v if (v > 0 or v != v) else 0
    return y


_BUFFERS = {}  # per-lane cols and z bands, kept between calls
# The band size of minicnn.kernels.conv, here so that a test can change it for this kernel.
BAND_ELEMENTS = conv.BAND_ELEMENTS
# Input channels from which a 3x3 stride-1 convolution goes through Winograd (None: never).
WINOGRAD_MIN_CHANNELS = 32


def uses_winograd(conv_window, channels):
    """True when the fast pass computes this convolution by F(2x2, 3x3)."""
    return (WINOGRAD_MIN_CHANNELS is not None and channels >= WINOGRAD_MIN_CHANNELS
            and winograd.winograd_applies(conv_window))


@fast_version_of(conv_relu_maxpool_reference)
def conv_relu_maxpool(x, weights, bias, conv_window, pool_window):
    """The fused pass (see the module docstring); same arguments as the reference."""
    if not pool_is_2x2(pool_window):
        raise ValueError(f"conv_relu_maxpool: the pool must be 2x2 with stride 2, got {pool_window}; "
                         "run the three layers one by one instead")
    x = np.ascontiguousarray(x)
    weights = np.ascontiguousarray(weights)
    n = x.shape[0]
    k, f = weights.shape
    dtype = np.result_type(x.dtype, weights.dtype)
    bias = np.zeros(f, dtype) if bias is None else np.ascontiguousarray(bias, dtype)
    out_h, out_w = conv_window.out_h, conv_window.out_w
    pool_h = pool_window.out_h
    y = workspace.output((n, pool_h, pool_window.out_w, f), dtype)
    if uses_winograd(conv_window, x.shape[3]):
        return _winograd_pass(x, weights, bias, conv_window, y)
    bounds = conv_window.loop_bounds()
    per_band = max(1, min(pool_h, BAND_ELEMENTS // (2 * out_w * k)))  # pooled rows per band
    bands = -(-pool_h // per_band)                                     # bands per image

    def band(lane, piece):
        image, first = piece // bands, (piece % bands) * per_band
        last = min(pool_h, first + per_band)
        rows = min(out_h, 2 * last) - 2 * first                        # convolution rows
        cols = workspace.scratch(_BUFFERS, ("cols", lane), (rows * out_w, k), x.dtype)
        im2col_rows_numba(x, bounds, image * out_h + 2 * first, cols)
        z = workspace.scratch(_BUFFERS, ("z", lane), (rows * out_w, f), dtype)
        np.matmul(cols, weights, out=z)
        bias_relu_maxpool2x2_numba(z, bias, rows, out_w, y[image, first:last])

    lanes.run(band, n * bands)
    return y


def _winograd_pass(x, weights, bias, conv_window, y):
    """The fused pass with F(2x2, 3x3): tile row ``p`` of the output is pooled row ``p``."""
    c, f = x.shape[3], weights.shape[1]
    u = winograd.kernel_transform(weights.reshape(3, 3, c, f).astype(x.dtype, copy=False))
    _, tiles_w, per_band, _ = winograd.tile_bands(conv_window, c, f)
    pool_h = y.shape[1]
    bands = -(-pool_h // per_band)

    def band(lane, piece):
        image, first = piece // bands, (piece % bands) * per_band
        rows = min(per_band, pool_h - first)
        m = winograd.band_products(x, u, conv_window, lane, image, first, rows, tiles_w)
        winograd.output_transform_pool_numba(m, bias, first, tiles_w, conv_window.out_h,
                                             conv_window.out_w, y[image, first : first + rows])

    lanes.run(band, x.shape[0] * bands)
    return y
