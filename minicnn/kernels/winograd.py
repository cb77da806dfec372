"""Winograd's F(2x2, 3x3): a 3x3, stride-1 convolution with 2.25 times fewer multiplications.

Cut the output into 2x2 tiles. Tile ``(ty, tx)`` needs the 4x4 input patch ``d`` (per
channel) starting at padded pixel ``(2ty, 2tx)``, and for one channel and one filter
``g`` (3x3) it is (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks")

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, 4x4; Y is 2x2)

with the constant matrices below. Summed over input channels ``c`` the element-wise
products become, for each of the 16 positions ``(a, b)`` of the 4x4 transform, ONE
matrix product over all tiles:

    V[ab, tile, c] = (B^T d_c B)[a, b]            input transform     (16, tiles, C)
    U[ab, c, f]    = (G g_cf G^T)[a, b]           kernel transform    (16, C, F)
    M[ab]          = V[ab] @ U[ab]                16 GEMMs            (16, tiles, F)
    y[tile]        = A^T M[:, tile, f] A + b[f]   output transform    (2, 2) per tile, filter

Per output pixel that is 16/4 = 4 multiply-adds per (c, f) instead of 9. The
transforms are additions only, and the GEMMs have a short inner axis (C), so the
gain shows only where C is large enough for BLAS to run near its peak
(``benchmarks/profile_layers.py``). The result equals the direct convolution up to
float rounding (the transforms add and subtract inputs before the products).

``winograd_conv3x3_reference`` is the plain NumPy version (read it). The Numba loops
work on a band of tile rows of one image at a time, in cache; :mod:`minicnn.kernels.fused`
uses them, with the bias, ReLU and a 2x2 max-pool folded into the output transform
(a 2x2 output tile is exactly one 2x2 pooling window).
"""

import numba
import numpy as np

from . import lanes, workspace
from .backend import fast_version_of

__all__ = ["B_T", "G", "A_T", "winograd_applies", "kernel_transform",
           "winograd_conv3x3", "winograd_conv3x3_reference", "input_transform_numba",
           "output_tiles_numba", "output_transform_numba", "output_transform_pool_numba"]

B_T = np.array([[1, 0, -1, 0],
                [0, 1, 1, 0],
                [0, -1, 1, 0],
                [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0],
                [0, 1, -1, -1]], dtype=np.float64)


def winograd_applies(window):
    """True for a 3x3 window with stride 1 (any padding): what F(2x2, 3x3) computes."""
    return (window.kh, window.kw, window.sh, window.sw) == (3, 3, 1, 1)


def kernel_transform(weights):
    """``U[a*4 + b, c, f] = (G g G^T)[a, b]`` for ``weights`` (3, 3, C, F); shape (16, C, F)."""
    g = G.astype(weights.dtype)
    u = np.einsum("ai,ijcf,bj->abcf", g, weights, g, optimize=True)
    return np.ascontiguousarray(u.reshape(16, *weights.shape[2:]))


def winograd_conv3x3_reference(x, weights, bias, window):
    """A 3x3 stride-1 convolution by F(2x2, 3x3), in NumPy: (N, out_h, out_w, F).

    Parameters
    ----------
    x : array, shape (N, H, W, C)
    weights : array, shape (3, 3, C, F)
    bias : array (F,) or None
    window : Window, 3x3 with stride 1 (``winograd_applies``)
    """
    if not winograd_applies(window):
        raise ValueError(f"Winograd F(2x2, 3x3) needs a 3x3 window with stride 1, got {window}")
    w = window
    n, _, _, c = x.shape
    tiles_h, tiles_w = -(-w.out_h // 2), -(-w.out_w // 2)
    # Pad so that every tile's 4x4 patch exists: the window's own padding, then zeros
    # after the image up to 2 * tiles + 2 rows/columns (cropped off the output below).
    xp = np.pad(x, ((0, 0), (w.pad_top, 2 * tiles_h + 2 - w.pad_top - w.in_h),
                    (w.pad_left, 2 * tiles_w + 2 - w.pad_left - w.in_w), (0, 0)))
    d = np.empty((n, tiles_h, tiles_w, 4, 4, c), dtype=x.dtype)
    for i in range(4):
        for j in range(4):
            d[:, :, :, i, j, :] = xp[:, i : i + 2 * tiles_h : 2, j : j + 2 * tiles_w : 2, :]
    b_t, a_t = B_T.astype(x.dtype), A_T.astype(x.dtype)
    v = np.einsum("ai,nyxijc,bj->abnyxc", b_t, d, b_t).reshape(16, -1, c)    # (16, tiles, C)
    m = v @ kernel_transform(weights)                                        # (16, tiles, F)
    m = m.reshape(4, 4, n, tiles_h, tiles_w, -1)
    y = np.einsum("ia,abnyxf,jb->nyixjf", a_t, m, a_t)                       # 2x2 per tile
    y = y.reshape(n, 2 * tiles_h, 2 * tiles_w, -1)[:, : w.out_h, : w.out_w]
    return y if bias is None else y + bias


# --------------------------------------------------------------------------------------
# Numba loops (serial, nogil: one lane runs one band of tile rows of one image)
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def input_transform_numba(x, image, pad_top, pad_left, first_tile_row, tiles_w, v):
    """``v[ab, t, c] = (B^T d B)[a, b]`` for the tiles of rows ``first_tile_row ...`` of ``image``.

    ``v`` is (16, rows * tiles_w, C). Each 4x4 patch is gathered into a small buffer
    (zeros outside the image), then transformed: rows, then columns, of
    ``B^T = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]]``.
    """
    _, h, w, c = x.shape
    d = np.empty((16, c), dtype=x.dtype)
    t4 = np.empty((16, c), dtype=x.dtype)
    for t in range(v.shape[1]):
        ty, tx = first_tile_row + t // tiles_w, t % tiles_w
        ih0, iw0 = 2 * ty - pad_top, 2 * tx - pad_left
        for i in range(4):
            for j in range(4):
                ih, iw = ih0 + i, iw0 + j
                if 0 <= ih < h and 0 <= iw < w:
                    d[4 * i + j] = x[image, ih, iw]
                else:
                    d[4 * i + j] = 0
        for j in range(4):  # B^T d: combine rows
            for ch in range(c):
                d0, d1, d2, d3 = d[j, ch], d[4 + j, ch], d[8 + j, ch], d[12 + j, ch]
                t4[j, ch] = d0 - d2
                t4[4 + j, ch] = d1 + d2
                t4[8 + j, ch] = d2 - d1
                t4[12 + j, ch] = d1 - d3
        for i in range(4):  # (B^T d) B: combine columns
            for ch in range(c):
                s0, s1, s2, s3 = t4[4 * i, ch], t4[4 * i + 1, ch], t4[4 * i + 2, ch], t4[4 * i + 3, ch]
                v[4 * i, t, ch] = s0 - s2
                v[4 * i + 1, t, ch] = s1 + s2
                v[4 * i + 2, t, ch] = s2 - s1
                v[4 * i + 3, t, ch] = s1 - s3
    return v


@numba.njit(cache=True, nogil=True)
def output_tiles_numba(m, first, out):
    """``out[k, i, j, f] = (A^T M A)[i, j]`` of tile ``first + k`` of ``m``, for every ``k``.

    ``m`` is (16, T, F), ``out`` (len(tiles), 2, 2, F). ``A^T = [[1,1,1,0], [0,1,-1,-1]]``:
    first each row of M is combined into 2 values, then the rows. Written out so the
    loop over filters, innermost and contiguous, runs in SIMD.
    """
    for k in range(out.shape[0]):
        t = first + k
        for f in range(m.shape[2]):
            r00 = m[0, t, f] + m[1, t, f] + m[2, t, f]
            r01 = m[1, t, f] - m[2, t, f] - m[3, t, f]
            r10 = m[4, t, f] + m[5, t, f] + m[6, t, f]
            r11 = m[5, t, f] - m[6, t, f] - m[7, t, f]
            r20 = m[8, t, f] + m[9, t, f] + m[10, t, f]
            r21 = m[9, t, f] - m[10, t, f] - m[11, t, f]
            r30 = m[12, t, f] + m[13, t, f] + m[14, t, f]
            r31 = m[13, t, f] - m[14, t, f] - m[15, t, f]
            out[k, 0, 0, f] = r00 + r10 + r20
            out[k, 0, 1, f] = r01 + r11 + r21
            out[k, 1, 0, f] = r10 - r20 - r30
            out[k, 1, 1, f] = r11 - r21 - r31
    return out


@numba.njit(cache=True, nogil=True)
def output_transform_numba(m, bias, first_tile_row, tiles_w, y):
    """Write the convolution's output tiles (plus ``bias``) into ``y`` (out_h, out_w, F) of one image.

    ``m`` is (16, rows * tiles_w, F) for the tile rows ``first_tile_row ...``; cells past
    the last output row/column (odd sizes) are dropped.
    """
    out_h, out_w, f_out = y.shape
    out = np.empty((tiles_w, 2, 2, f_out), dtype=m.dtype)
    for row in range(m.shape[1] // tiles_w):
        output_tiles_numba(m, row * tiles_w, out)
        oh = 2 * (first_tile_row + row)
        for i in range(min(2, out_h - oh)):
            for ow in range(out_w):
                tile = out[ow // 2, i, ow % 2]
                target = y[oh + i, ow]
                for f in range(f_out):
                    target[f] = tile[f] + bias[f]
    return y


@numba.njit(cache=True, nogil=True)
def output_transform_pool_numba(m, bias, first_tile_row, tiles_w, out_h, out_w, y):
    """``y[p, q, f] = max(max of tile (p, q) + bias[f], 0)``: conv, bias, ReLU, 2x2 pool at once.

    A 2x2 output tile IS a 2x2 pooling window. ``y`` is (rows, pool_w, F): the pooled rows
    of this band; a tile cut by the last output row/column (``"same"`` pooling of an
    odd size) pools the cells it has; a NaN in a tile gives NaN.
    """
    pool_w, f_out = y.shape[1], y.shape[2]
    out = np.empty((tiles_w, 2, 2, f_out), dtype=m.dtype)
    for p in range(y.shape[0]):
        output_tiles_numba(m, p * tiles_w, out)
        rows = min(2, out_h - 2 * (first_tile_row + p))
        for q in range(pool_w):
            cols = min(2, out_w - 2 * q)
            best = y[p, q]
            tile = out[q]
            for f in range(f_out):
                best[f] = tile[0, 0, f]
            for i in range(rows):
                for j in range(cols):
                    for f in range(f_out):
                        v, b = tile[i, j, f], best[f]
                        best[f] = v if (v > b or v != v) else b  # NaN sticks once seen
            for f in range(f_out):
                v = best[f] + bias[f]
                best[f] = v if (v > 0 or v != v) else 0
    return y


# --------------------------------------------------------------------------------------
# The fast entry: bands of tile rows, one image at a time, over the lanes
# --------------------------------------------------------------------------------------
# Tiles per band: V and M of a band stay in a core's cache.
BAND_TILES = 128
_BUFFERS = {}  # per-lane V and M bands, kept between calls


def tile_bands(window, c, f):
    """``(tiles_h, tiles_w, tile rows per band, bands per image)``."""
    tiles_h, tiles_w = -(-window.out_h // 2), -(-window.out_w // 2)
    per_band = max(1, min(tiles_h, BAND_TILES // tiles_w))
    return tiles_h, tiles_w, per_band, -(-tiles_h // per_band)


def band_products(x, u, window, lane, image, first, rows, tiles_w):
    """``M`` (16, rows * tiles_w, F) of tile rows ``first ... first + rows`` of ``image``."""
    c, f = u.shape[1], u.shape[2]
    v = workspace.scratch(_BUFFERS, ("v", lane), (16, rows * tiles_w, c), x.dtype)
    input_transform_numba(x, image, window.pad_top, window.pad_left, first, tiles_w, v)
    m = workspace.scratch(_BUFFERS, ("m", lane), (16, rows * tiles_w, f), x.dtype)
    return np.matmul(v, u, out=m)  # the 16 GEMMs (tiles, C) @ (C, F)


@fast_version_of(winograd_conv3x3_reference)
def winograd_conv3x3(x, weights, bias, window):
    """F(2x2, 3x3) band by band (see the module docstring); same arguments as the reference."""
    if not winograd_applies(window):
        raise ValueError(f"Winograd F(2x2, 3x3) needs a 3x3 window with stride 1, got {window}")
    x = np.ascontiguousarray(x)
    n, _, _, c = x.shape
    f = weights.shape[3]
    u = kernel_transform(weights)
    bias = np.zeros(f, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    y = workspace.output((n, window.out_h, window.out_w, f), x.dtype)
    _, tiles_w, per_band, bands = tile_bands(window, c, f)
    tiles_h = -(-window.out_h // 2)

    def band(lane, piece):
        image, first = piece // bands, (piece % bands) * per_band
        rows = min(per_band, tiles_h - first)
        m = band_products(x, u, window, lane, image, first, rows, tiles_w)
        output_transform_numba(m, bias, first, tiles_w, y[image])

    lanes.run(band, n * bands)
    return y
