"""Affine image warp with bilinear (or nearest) sampling: the engine behind rotation and zoom.

An affine warp builds each OUTPUT pixel by asking where it comes from in the INPUT.
For output pixel (r, c) (row, column; pixel centres at integer coordinates, row 0 on top)
the source point is

    [r_in]   [a00 a01] [r]   [a02]
    [c_in] = [a10 a11] [c] + [a12]          i.e.  matrix (2, 3) @ (r, c, 1)

The source point is rarely a pixel centre, so we interpolate:

* bilinear: with r0 = floor(r_in), fr = r_in - r0 (and c0, fc likewise; coordinates and
  weights computed in float64, the weighted sum in the images' dtype)

      out = (1-fr)(1-fc) x[r0, c0] + (1-fr) fc x[r0, c0+1]
          +    fr (1-fc) x[r0+1, c0] +    fr  fc x[r0+1, c0+1]

* nearest: out = x[round(r_in), round(c_in)] (round half up).

Going backwards (output -> input) is what makes one sample per output pixel possible
and leaves no holes; it is also why several transforms compose into ONE warp: multiply
their (output -> input) matrices and sample once, instead of blurring the image once per
transform.

Neighbours that fall outside the image are read from the image extended by ``fill_mode``
(Keras's names and pictures; for input ``a b c d``):

=========  =============================  ==========================
fill_mode  extension                      scipy.ndimage equivalent
=========  =============================  ==========================
reflect    ``d c b a | a b c d | d c b a``  ``mode="reflect"``
wrap       ``a b c d | a b c d | a b c d``  ``mode="grid-wrap"``
nearest    ``a a a a | a b c d | d d d d``  ``mode="nearest"``
constant   ``k k k k | a b c d | k k k k``  ``mode="grid-constant"``
=========  =============================  ==========================

(with ``k = fill_value``). The extension is of the pixel GRID and interpolation then
runs on the extended grid, so a sample half a pixel outside the image under
``constant`` is half image, half ``fill_value``: the same as scipy's ``grid-*`` modes.

Two implementations, which the tests prove equal:
``affine_warp_reference`` (NumPy, vectorised over the pixels of one image, easy to read)
and ``_affine_warp_numba`` (loops, parallel over images, for speed).
``affine_warp`` checks its arguments and runs one of them, as ``minicnn.kernels.backend``
chooses.
"""

import math

import numba
import numpy as np

from .backend import fast_version_of

__all__ = ["FILL_MODES", "INTERPOLATIONS", "affine_warp", "affine_warp_reference"]

FILL_MODES = ("reflect", "wrap", "nearest", "constant")
INTERPOLATIONS = ("bilinear", "nearest")

# Integer codes for the kernel (Numba compiles one version for all modes; a branch on
# an int costs nothing next to the memory traffic).
_MODE_CODE = {"reflect": 0, "wrap": 1, "nearest": 2, "constant": 3}
_ORDER_CODE = {"nearest": 0, "bilinear": 1}


# --------------------------------------------------------------------------------------
# The NumPy reference: read this one.
# --------------------------------------------------------------------------------------
def map_index_reference(index, size, fill_mode):
    """Map integer pixel indices (any array) into ``[0, size)`` by ``fill_mode``.

    Returns ``(mapped, valid)``: ``valid`` is False where ``constant`` mode must use
    ``fill_value`` instead (``mapped`` is then clipped, only to keep the read legal).
    """
    index = np.asarray(index, dtype=np.int64)
    valid = np.ones(index.shape, dtype=bool)
    if fill_mode == "reflect":
        # The reflected image repeats with period 2*size: a b c d d c b a | a b c d ...
        mapped = np.mod(index, 2 * size)
        mapped = np.where(mapped >= size, 2 * size - 1 - mapped, mapped)
    elif fill_mode == "wrap":
        mapped = np.mod(index, size)
    elif fill_mode == "nearest":
        mapped = np.clip(index, 0, size - 1)
    else:  # constant
        valid = (index >= 0) & (index < size)
        mapped = np.clip(index, 0, size - 1)
    return mapped, valid


def affine_warp_reference(images, matrices, fill_mode="reflect", interpolation="bilinear",
                          fill_value=0.0):
    """Warp each image by its own affine map; NumPy reference of :func:`affine_warp`.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float32 or float64
    matrices : ndarray, shape (N, 2, 3)
        Row i maps output pixel (r, c, 1) of image i to its source point (r_in, c_in).
    fill_mode, interpolation, fill_value
        See the module docstring.

    Returns
    -------
    ndarray, shape (N, H, W, C), the dtype of ``images``.
    """
    n, h, w, channels = images.shape
    out = np.empty_like(images)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    for i in range(n):
        a = matrices[i].astype(np.float64)
        # (a00 r + a02) + a01 c: the same order of additions as the kernel, so both round alike.
        src_r = (a[0, 0] * rows + a[0, 2]) + a[0, 1] * cols          # (H, W)
        src_c = (a[1, 0] * rows + a[1, 2]) + a[1, 1] * cols
        if interpolation == "nearest":
            # Round half up, as floor(x + 0.5); the kernel does the same.
            r, r_ok = map_index_reference(np.floor(src_r + 0.5), h, fill_mode)
            c, c_ok = map_index_reference(np.floor(src_c + 0.5), w, fill_mode)
            value = images[i][r, c]                                # (H, W, C), a copy
            value[~(r_ok & c_ok)] = fill_value
        else:
            r0f, c0f = np.floor(src_r), np.floor(src_c)
            fr, fc = (src_r - r0f)[..., None], (src_c - c0f)[..., None]   # (H, W, 1)
            r0, r0_ok = map_index_reference(r0f, h, fill_mode)
            r1, r1_ok = map_index_reference(r0f + 1, h, fill_mode)
            c0, c0_ok = map_index_reference(c0f, w, fill_mode)
            c1, c1_ok = map_index_reference(c0f + 1, w, fill_mode)

            def read(r, r_ok, c, c_ok):
                """The four-neighbour gather: x[r, c] of this image, fill_value outside."""
                v = images[i][r, c]                              # (H, W, C), a copy
                v[~(r_ok & c_ok)] = fill_value
                return v

            # Weights in float64, then the weighted sum in the images' dtype (float32 for
            # training: half the memory traffic and no conversions; the kernel does the same).
            dtype = images.dtype
            w00 = ((1 - fr) * (1 - fc)).astype(dtype)
            w01 = ((1 - fr) * fc).astype(dtype)
            w10 = (fr * (1 - fc)).astype(dtype)
            w11 = (fr * fc).astype(dtype)
            value = (w00 * read(r0, r0_ok, c0, c0_ok) + w01 * read(r0, r0_ok, c1, c1_ok)
                     + w10 * read(r1, r1_ok, c0, c0_ok) + w11 * read(r1, r1_ok, c1, c1_ok))
        out[i] = value
    return out


# --------------------------------------------------------------------------------------
# The Numba kernel: the same arithmetic, one pixel at a time, parallel over images.
# --------------------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def _map_index(index, size, mode):
    """One index into [0, size) by fill mode; -1 means "use fill_value" (constant).

    Warps sample just past the border far more often than far away, so the first
    reflection / wrap is done with a subtraction; the slow integer modulo only runs for
    points more than one image away.
    """
    if 0 <= index < size:
        return index
    if mode == 0:  # reflect: ... b a | a b c d | d c ..., period 2*size
        if index < -size or index >= 2 * size:
            index = index % (2 * size)        # Python's %: never negative
        if index < 0:
            return -1 - index
        if index >= size:
            return 2 * size - 1 - index
        return index
    if mode == 1:  # wrap
        if -size <= index < 0:
            return index + size
        if size <= index < 2 * size:
            return index - size
        return index % size
    if mode == 2:  # nearest
        return 0 if index < 0 else size - 1
    return -1      # constant


@numba.njit(cache=True, parallel=True)
def _affine_warp_numba(images, matrices, mode, order, fill_value, out):
    n, h, w, channels = images.shape
    for i in numba.prange(n):
        # Four weights and the fill in the images' dtype: float32 images are interpolated
        # in float32 (coordinates stay float64, where their precision matters).
        wt = np.empty(5, dtype=images.dtype)
        wt[4] = fill_value
        fill = wt[4]
        a00, a01, a02 = matrices[i, 0, 0], matrices[i, 0, 1], matrices[i, 0, 2]
        a10, a11, a12 = matrices[i, 1, 0], matrices[i, 1, 1], matrices[i, 1, 2]
        for r in range(h):
            # The source point moves by (a01, a11) per output column: start the row here.
            src_r = a00 * r + a02
            src_c = a10 * r + a12
            for c in range(w):
                sr = src_r + a01 * c
                sc = src_c + a11 * c
                if order == 0:  # nearest
                    rr = _map_index(int(math.floor(sr + 0.5)), h, mode)
                    cc = _map_index(int(math.floor(sc + 0.5)), w, mode)
                    if rr < 0 or cc < 0:
                        for k in range(channels):
                            out[i, r, c, k] = fill
                    else:
                        for k in range(channels):
                            out[i, r, c, k] = images[i, rr, cc, k]
                    continue
                r0f = math.floor(sr)
                c0f = math.floor(sc)
                fr = sr - r0f
                fc = sc - c0f
                r0 = int(r0f)
                c0 = int(c0f)
                wt[0] = (1.0 - fr) * (1.0 - fc)
                wt[1] = (1.0 - fr) * fc
                wt[2] = fr * (1.0 - fc)
                wt[3] = fr * fc
                w00, w01, w10, w11 = wt[0], wt[1], wt[2], wt[3]
                if 0 <= r0 and r0 + 1 < h and 0 <= c0 and c0 + 1 < w:
                    # Fast path, most pixels: all four neighbours inside the image.
                    for k in range(channels):
                        out[i, r, c, k] = (w00 * images[i, r0, c0, k] + w01 * images[i, r0, c0 + 1, k]
                                           + w10 * images[i, r0 + 1, c0, k]
                                           + w11 * images[i, r0 + 1, c0 + 1, k])
                    continue
                # Border path: map each neighbour by the fill mode.
                ra = _map_index(r0, h, mode)
                rb = _map_index(r0 + 1, h, mode)
                ca = _map_index(c0, w, mode)
                cb = _map_index(c0 + 1, w, mode)
                for k in range(channels):
                    v00 = images[i, ra, ca, k] if ra >= 0 and ca >= 0 else fill
                    v01 = images[i, ra, cb, k] if ra >= 0 and cb >= 0 else fill
                    v10 = images[i, rb, ca, k] if rb >= 0 and ca >= 0 else fill
                    v11 = images[i, rb, cb, k] if rb >= 0 and cb >= 0 else fill
                    out[i, r, c, k] = w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11
    return out


def _check(images, matrices, fill_mode, interpolation):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"affine_warp: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"affine_warp: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}"
        )
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"affine_warp: images must be (N, H, W, C), got shape {images.shape}")
    if images.dtype not in (np.float32, np.float64):
        raise ValueError(f"affine_warp: images must be float32 or float64, got {images.dtype}")
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.shape != (images.shape[0], 2, 3):
        raise ValueError(
            f"affine_warp: matrices must have shape (N, 2, 3) = ({images.shape[0]}, 2, 3), "
            f"got {matrices.shape}"
        )
    if not np.all(np.isfinite(matrices)):
        raise ValueError("affine_warp: matrices contain NaN or infinity")
    return images, matrices


def affine_warp(images, matrices, fill_mode="reflect", interpolation="bilinear", fill_value=0.0,
                out=None):
    """Warp each image of a batch by its own affine map, sampling each output pixel once.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float32 or float64
    matrices : array_like, shape (N, 2, 3)
        Output -> input maps in (row, column) pixel coordinates (see the module docstring).
        A (3, 3) homogeneous matrix ``M`` is passed as ``M[:2]``.
    fill_mode : {"reflect", "wrap", "nearest", "constant"}
    interpolation : {"bilinear", "nearest"}
    fill_value : float
        The value outside the image for ``fill_mode="constant"``.
    out : ndarray, optional
        Where to write the result (same shape and dtype as ``images``, not ``images`` itself).

    Returns
    -------
    ndarray, shape (N, H, W, C), the dtype of ``images``.
    """
    images, matrices = _check(images, matrices, fill_mode, interpolation)
    images = np.ascontiguousarray(images)
    if out is None:
        out = np.empty_like(images)
    elif out.shape != images.shape or out.dtype != images.dtype or np.shares_memory(out, images):
        raise ValueError("affine_warp: out must match images in shape and dtype and not overlap it")
    return _warp_into(images, matrices, fill_mode, interpolation, float(fill_value), out)


def _warp_into_reference(images, matrices, fill_mode, interpolation, fill_value, out):
    out[...] = affine_warp_reference(images, matrices, fill_mode, interpolation, fill_value)
    return out


@fast_version_of(_warp_into_reference)
def _warp_into(images, matrices, fill_mode, interpolation, fill_value, out):
    return _affine_warp_numba(images, matrices, _MODE_CODE[fill_mode], _ORDER_CODE[interpolation],
                              fill_value, out)
