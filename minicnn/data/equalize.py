"""Histogram equalization, global and tile-based (CLAHE): contrast drawn from the image's own histogram.

Why a chest X-ray pipeline might want it: films from different machines and exposures differ
in brightness and contrast for reasons that have nothing to do with the lungs. Equalization
maps every film onto (nearly) the same distribution of grey values, so those differences
shrink before the model sees them. Whether it helps a given model is an experiment, not a
promise.

Both functions work on each (H, W) plane of an NHWC batch (every image, every channel) on
its own, and follow scikit-image's definitions closely enough that the tests compare the
two pixel by pixel.

Global equalization (:func:`equalize_histogram`, as ``skimage.exposure.equalize_hist``)
for one plane ``x`` of H W pixels::

    edges_j   = linspace(min x, max x, nbins + 1)          (NumPy's histogram bins)
    count_j   = #{pixels with edges_j <= x < edges_j+1}    (the last bin also holds max x)
    cdf_j     = (count_0 + ... + count_j) / (H W)          fraction of pixels up to bin j
    centre_j  = (edges_j + edges_j+1) / 2
    e(x)      = cdf interpolated linearly at x between the centres
                (cdf_0 below centre_0, 1 above the last centre)
    out       = low + (high - low) e(x)

A constant plane has no range; NumPy then uses [x - 0.5, x + 0.5] and every pixel gets
e = 0.5 (with an even ``nbins``).

CLAHE (:func:`clahe`, as ``skimage.exposure.equalize_adapthist`` on one grey plane) does
the same per tile, with two changes: a tile's histogram is CLIPPED before it is summed, so
no grey value can take more than a ``clip_limit`` share of the output range (which limits
how much noise in flat regions is amplified), and each pixel BLENDS the mappings of the
four tiles around it, so there are no seams. Step by step:

1. Grey levels. ``u = clip((x - low) / (high - low), 0, 1)``; ``q = rint(65535 u)`` (the
   16-bit image scikit-image makes first); the plane's own range of q is stretched to
   2^14 levels, ``g = round(16383 (q - min q) / (max q - min q))``; ``g`` falls in bin
   ``b = g // (1 + 16384 // nbins)`` (so with nbins=256 only bins 0..252 occur: scikit-image's
   arithmetic, kept).
2. Tiles of ``kernel_size = (kh, kw)`` pixels from the top-left corner, ceil(H/kh) by
   ceil(W/kw) of them; tiles that reach past the image read its mirror image (NumPy's
   "reflect": ``... c b | a b c ... x y z | y x ...``).
3. Per tile: histogram ``h`` of the bins; clip at ``L = max(1, int(clip_limit kh kw))``
   (``clip_limit = 0``: no clipping) and hand the clipped-off counts back to the bins below
   ``L`` (:func:`clip_histogram_reference`); mapping
   ``map_b = min(16383, floor(16383 / (kh kw) * (h_0 + ... + h_b)))``.
4. Blending. Tile t is "anchored" at row ``A_t = t kh + ceil(kh/2)`` (scikit-image's
   convention, half a pixel to one pixel past the tile's centre); a row r between two
   anchors, ``A_t <= r < A_t+1``, is ``fr = (r - A_t) / kh`` of the way from tile t to
   tile t + 1; rows before the first anchor or after the last use the first or last tile
   alone. Columns likewise (``fc``). The level is the bilinear blend of the four maps,
   summed in float32 and truncated to an integer::

       level = trunc((1-fr)(1-fc) map[t, u][b] + (1-fr) fc map[t, u+1][b]
                     +    fr (1-fc) map[t+1, u][b] +  fr  fc map[t+1, u+1][b])

5. ``out = low + (high - low) (level - min level) / (max level - min level)``: the result
   spans the whole value range (a constant result becomes ``low + (high - low) clip(level, 0, 1)``).

Where this differs from scikit-image: it works on every channel independently, where
``equalize_adapthist`` equalizes an RGB image's HSV value instead; integer images become
float32 first (scikit-image's ``equalize_hist`` gives each integer its own bin instead of
``nbins`` bins); the input is clipped to ``value_range`` first (scikit-image takes [0, 1]).
For grey float images the tests find no difference at all.

Each hot loop is written twice: ``*_reference`` in NumPy (read these) and a Numba kernel
(``*_numba``, loops, parallel over planes) that the tests prove equal.
``MINICNN_KERNELS=numpy`` makes the public functions use the references
(:mod:`minicnn.kernels.backend`).
"""

import math
import numbers

import numba
import numpy as np

from minicnn.kernels import backend

from .augment import Augmentation, as_batch, check_value_range, is_number

__all__ = ["CLAHE", "HistogramEqualization", "clahe", "clahe_reference", "clip_histogram_reference",
           "equalize_histogram", "equalize_histogram_reference"]

GREY_LEVELS = 2**14   # CLAHE's internal grey levels, scikit-image's NR_OF_GRAY
TOP_LEVEL = GREY_LEVELS - 1
UINT16_MAX = 65535    # the 16-bit image CLAHE quantizes to first (skimage's img_as_uint)


# --------------------------------------------------------------------------------------
# Arguments.
# --------------------------------------------------------------------------------------
def _positive_int(value, name, owner):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def _kernel_size(kernel_size, height, width, owner):
    """``(kh, kw)``: None means 1/8 of each side (at least 1), an int means a square tile."""
    if kernel_size is None:
        return max(height // 8, 1), max(width // 8, 1)
    if isinstance(kernel_size, (tuple, list)) and len(kernel_size) == 2:
        return (_positive_int(kernel_size[0], "kernel_size[0]", owner),
                _positive_int(kernel_size[1], "kernel_size[1]", owner))
    if isinstance(kernel_size, numbers.Integral) and not isinstance(kernel_size, bool):
        k = _positive_int(kernel_size, "kernel_size", owner)
        return k, k
    raise ValueError(
        f"{owner}: kernel_size must be None, an integer >= 1 or a pair (height, width) of them, "
        f"got {kernel_size!r}"
    )


def _clip_limit(clip_limit, owner):
    if not is_number(clip_limit) or clip_limit < 0:
        raise ValueError(
            f"{owner}: clip_limit must be a finite number >= 0 (a fraction of a tile's pixels; "
            f"0 means no clipping), got {clip_limit!r}"
        )
    return float(clip_limit)


def _checked_batch(images, owner):
    """(N, H, W, C) float batch, refusing empty planes and non-finite values."""
    x, single = as_batch(images, owner)
    if x.shape[0] and (x.shape[1] == 0 or x.shape[2] == 0):
        raise ValueError(f"{owner}: images must be at least 1x1 pixels, got shape {np.shape(images)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{owner}: images contain NaN or infinite values; equalization needs "
                         "finite pixels")
    return x, single


def _dispatch(reference, kernel, x, *args):
    """The one place that asks :mod:`minicnn.kernels.backend` which implementation runs."""
    if backend.use_reference():
        return reference(x, *args)
    with backend.threads_for(x.size):
        return kernel(x, *args)


# --------------------------------------------------------------------------------------
# Global histogram equalization.
# --------------------------------------------------------------------------------------
def equalize_histogram(images, value_range=(0, 255), nbins=256):
    """Equalize the histogram of every image and channel on its own (``skimage.exposure.equalize_hist``).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C) or (H, W, C)
        float32 or float64 keep their dtype; integer images become float32.
    value_range : (float, float)
        ``(low, high)`` of the OUTPUT. The histogram spans each plane's own [min, max].
    nbins : int
        Number of histogram bins, >= 1.

    Returns
    -------
    ndarray, the shape and dtype of ``images`` (float32 for integers):
    ``low + (high - low) e(x)`` with ``e`` the interpolated cumulative histogram (module
    docstring). ``e`` of the darkest pixel is the fraction of pixels in the first bin, so
    the output reaches ``high`` but usually not ``low``.
    """
    owner = "equalize_histogram"
    x, single = _checked_batch(images, owner)
    low, high = (float(v) for v in check_value_range(value_range, owner))
    nbins = _positive_int(nbins, "nbins", owner)
    out = _dispatch(equalize_histogram_reference, equalize_histogram_numba, x, low, high, nbins)
    return out[0] if single else out


def equalize_histogram_reference(x, low, high, nbins):
    """NumPy reference: the steps of the module docstring for each (H, W) plane of ``x`` (N, H, W, C).

    Computed in the dtype of ``x`` where scikit-image does (bin edges and centres, the cdf
    rounded to it) and in float64 where it does (``np.interp``).
    """
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            plane = x[i, :, :, k]
            counts, edges = np.histogram(plane, bins=nbins)        # range: the plane's [min, max]
            centres = (edges[:-1] + edges[1:]) / 2
            cdf = (np.cumsum(counts) / plane.size).astype(x.dtype)
            e = np.interp(plane, centres, cdf).astype(x.dtype)
            out[i, :, :, k] = e * (high - low) + low
    return out


def equalize_histogram_numba(x, low, high, nbins):
    """The Numba kernel behind :func:`equalize_histogram`; same arguments as the reference."""
    x = np.ascontiguousarray(x)
    consts = np.array([low, high - low, 0.5, 2.0, nbins], dtype=x.dtype)  # in x's dtype, as NumPy computes
    out = np.empty_like(x)
    _equalize_numba(x, consts, nbins, out)
    return out


@numba.njit(cache=True)
def _bin_of(v, edges, first, scale, nbins):
    """The bin of value ``v`` by NumPy's rule: ``edges[j] <= v < edges[j+1]``; the last bin is closed.

    ``(v - first) * scale`` is only a guess; comparing with the edges makes it exact.
    """
    guess = (float(v) - float(first)) * scale
    j = int(guess) if guess > 0.0 else 0
    j = min(j, nbins - 1)
    while j > 0 and v < edges[j]:
        j -= 1
    while j < nbins - 1 and v >= edges[j + 1]:
        j += 1
    return j


@numba.njit(cache=True)
def _equalize_plane_numba(plane, consts, nbins, out):
    """One (H, W) plane: range, bin edges as ``np.linspace`` makes them, counts, cdf, ``np.interp``."""
    low, span, half, two, bins_as_float = consts[0], consts[1], consts[2], consts[3], consts[4]
    h, w = plane.shape
    first, last = plane[0, 0], plane[0, 0]
    for r in range(h):
        for c in range(w):
            first = min(first, plane[r, c])
            last = max(last, plane[r, c])
    if first == last:                       # NumPy widens an empty range by 1/2 each way
        first = first - half
        last = last + half
    # np.linspace(first, last, nbins + 1) in the plane's dtype: j * step + first, exact last edge.
    edges = np.empty(nbins + 1, plane.dtype)
    step = (last - first) / bins_as_float
    for j in range(nbins + 1):
        edges[j] = j
        if step == 0:                       # linspace's branch for a step that underflows
            edges[j] = edges[j] / bins_as_float * (last - first) + first
        else:
            edges[j] = edges[j] * step + first
    edges[nbins] = last
    scale = nbins / (float(last) - float(first)) if last > first else 0.0

    counts = np.zeros(nbins, np.int64)
    for r in range(h):
        for c in range(w):
            counts[_bin_of(plane[r, c], edges, first, scale, nbins)] += 1
    centres = np.empty(nbins, plane.dtype)
    cdf = np.empty(nbins, plane.dtype)      # rounded to the plane's dtype, as scikit-image does
    total = 0
    for j in range(nbins):
        centres[j] = (edges[j] + edges[j + 1]) / two
        total += counts[j]
        cdf[j] = total / float(h * w)
    # np.interp works in float64. Taking the float64 values from arrays (not float(centres[j])
    # inline) matters: LLVM narrows a float64 division of two widened float32 values to a
    # float32 division, which differs from NumPy in the last digits.
    centres64, cdf64 = centres.astype(np.float64), cdf.astype(np.float64)

    for r in range(h):
        for c in range(w):
            v = plane[r, c]
            j = _bin_of(v, edges, first, scale, nbins)
            # np.interp's interval: the last centre <= v (-1 if v is below them all)
            while j + 1 < nbins and centres[j + 1] <= v:
                j += 1
            while j >= 0 and centres[j] > v:
                j -= 1
            xv = float(v)
            if j < 0:
                e = cdf64[0]
            elif j == nbins - 1 or centres64[j] == xv:
                e = cdf64[j]
            else:
                x0, x1 = centres64[j], centres64[j + 1]
                y0, y1 = cdf64[j], cdf64[j + 1]
                slope = (y1 - y0) / (x1 - x0)
                e = slope * (xv - x0) + y0
                if math.isnan(e):           # np.interp then tries from the other end
                    e = slope * (xv - x1) + y1
                    if math.isnan(e) and y0 == y1:
                        e = y0
            out[r, c] = e                   # rounded to the dtype, then scaled in it
            out[r, c] = out[r, c] * span + low


@numba.njit(cache=True, parallel=True)
def _equalize_numba(x, consts, nbins, out):
    n, _, _, channels = x.shape
    for p in numba.prange(n * channels):
        i, k = p // channels, p % channels
        _equalize_plane_numba(x[i, :, :, k], consts, nbins, out[i, :, :, k])
    return out


# --------------------------------------------------------------------------------------
# CLAHE: contrast-limited adaptive histogram equalization.
# --------------------------------------------------------------------------------------
def clahe(images, clip_limit=0.01, kernel_size=None, nbins=256, value_range=(0, 255)):
    """Contrast-limited adaptive histogram equalization of every image and channel (``equalize_adapthist``).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C) or (H, W, C)
        float32 or float64 keep their dtype; integer images become float32. Values are
        clipped to ``value_range`` first.
    clip_limit : float
        The most a tile's histogram bin may hold, as a fraction of the tile's pixels
        (``L = max(1, int(clip_limit kh kw))``); higher gives more contrast. 0 (or >= 1)
        means no clipping: plain adaptive equalization.
    kernel_size : None, int or (int, int)
        Tile size ``(kh, kw)`` in pixels. None: 1/8 of the image's height and width (at
        least 1), as scikit-image.
    nbins : int
        Histogram bins per tile, >= 1.
    value_range : (float, float)
        ``(low, high)`` of the input and of the output.

    Returns
    -------
    ndarray, the shape and dtype of ``images`` (float32 for integers), each plane
    stretched to span ``[low, high]`` (module docstring, steps 1-5).
    """
    owner = "clahe"
    x, single = _checked_batch(images, owner)
    limit = _clip_limit(clip_limit, owner)
    kh, kw = _kernel_size(kernel_size, x.shape[1], x.shape[2], owner)
    nbins = _positive_int(nbins, "nbins", owner)
    low, high = (float(v) for v in check_value_range(value_range, owner))
    tile_pixels = kh * kw
    count_limit = max(int(limit * tile_pixels), 1) if limit > 0 else tile_pixels
    out = _dispatch(clahe_reference, clahe_numba, x, kh, kw, count_limit, nbins, low, high)
    return out[0] if single else out


def clip_histogram_reference(hist, limit):
    """Clip one tile's histogram at ``limit`` counts and give the clipped-off counts back.

    ``hist``: (nbins,) integer counts; returns a new array. scikit-image's procedure
    (after Zuiderveld, Graphics Gems IV):

    1. ``excess = sum(max(h - limit, 0))``; every bin is cut to at most ``limit``.
    2. Every bin gets ``share = excess // nbins`` more, but none beyond ``limit``: bins
       below ``limit - share`` get ``share``, then bins at or above it are filled up to ``limit``.
    3. What is left goes out one count at a time, in sweeps: for start = 0, 1, 2, ...,
       every ``step``-th bin from ``start`` that is still below ``limit`` gets one, with
       ``step = max(1, (bins below limit) // excess)``; until nothing is left or a whole
       round of sweeps changes nothing. (A sweep may hand out a few counts more than were
       left; the map's cap at 16383 absorbs them.)
    """
    h = np.array(hist, dtype=np.int64)
    over = h > limit
    excess = int(np.sum(h[over] - limit))
    h[over] = limit

    share = excess // h.size
    below = h < limit - share
    h[below] += share
    excess -= share * int(np.count_nonzero(below))
    topped = (h >= limit - share) & (h < limit)
    excess -= int(np.sum(limit - h[topped]))
    h[topped] = limit

    while excess > 0:
        before = excess
        for start in range(h.size):
            step = max(1, int(np.count_nonzero(h < limit)) // excess)
            chosen = np.zeros(h.size, dtype=bool)
            chosen[start::step] = h[start::step] < limit
            h[chosen] += 1
            excess -= int(np.count_nonzero(chosen))
            if excess <= 0:
                break
        if excess == before:
            break
    return h


def _grey_bins_reference(plane, low, high, nbins):
    """Step 1: (H, W) float plane -> (H, W) int bin of each pixel's 2^14-level grey value."""
    u = np.clip((plane - low) / (high - low), 0, 1)            # in the plane's dtype
    q = np.rint(u * plane.dtype.type(UINT16_MAX)).astype(np.int64)
    q_min, q_max = int(q.min()), int(q.max())
    if q_max > q_min:
        grey = np.rint((q - q_min) / (q_max - q_min) * float(TOP_LEVEL)).astype(np.int64)
    else:
        grey = np.minimum(q, TOP_LEVEL)
    return grey // (1 + GREY_LEVELS // nbins)


def _tile_maps_reference(bins, kh, kw, count_limit, nbins):
    """Steps 2-3: (H, W) bins -> (tiles down, tiles across, nbins) int grey-level maps."""
    h, w = bins.shape
    rows, cols = -(-h // kh), -(-w // kw)                       # ceil(H / kh), ceil(W / kw)
    padded = np.pad(bins, ((0, rows * kh - h), (0, cols * kw - w)), mode="reflect")
    tiles = padded.reshape(rows, kh, cols, kw).transpose(0, 2, 1, 3).reshape(rows * cols, kh * kw)
    maps = np.empty((rows * cols, nbins), dtype=np.int64)
    for t, tile in enumerate(tiles):
        hist = clip_histogram_reference(np.bincount(tile, minlength=nbins), count_limit)
        mapped = np.cumsum(hist) * (TOP_LEVEL / (kh * kw))
        maps[t] = np.minimum(mapped, TOP_LEVEL).astype(np.int64)   # floor: values are >= 0
    return maps.reshape(rows, cols, nbins)


def _neighbours(size, k, tiles):
    """Step 4 along one axis: for each pixel, its two tiles (t0, t1) and the weight f of t1."""
    p = np.arange(size) + k // 2
    f = (p % k) / k
    t1 = np.minimum(p // k, tiles - 1)
    t0 = np.clip(p // k - 1, 0, tiles - 1)
    return t0, t1, f


def _blend_reference(bins, maps, kh, kw):
    """Step 4: the bilinear blend of the four surrounding tiles' maps, float32 sum, truncated."""
    h, w = bins.shape
    r0, r1, fr = _neighbours(h, kh, maps.shape[0])
    c0, c1, fc = _neighbours(w, kw, maps.shape[1])
    total = np.zeros((h, w), dtype=np.float32)
    for rows, row_weight in ((r0, 1 - fr), (r1, fr)):
        for cols, col_weight in ((c0, 1 - fc), (c1, fc)):
            mapped = maps[rows[:, None], cols[None, :], bins]       # (H, W) gather
            total += (mapped * (row_weight[:, None] * col_weight[None, :])).astype(np.float32)
    return total.astype(np.int64)


def _stretch_reference(levels, dtype, low, high):
    """Step 5: integer levels -> [low, high], the plane's own range stretched to the whole range."""
    level = levels.astype(dtype)
    l_min, l_max = level.min(), level.max()
    e = (level - l_min) / (l_max - l_min) if l_max > l_min else np.clip(level, 0, 1)
    return e * dtype.type(high - low) + dtype.type(low)


def clahe_reference(x, kh, kw, count_limit, nbins, low, high):
    """NumPy reference: steps 1-5 of the module docstring for each (H, W) plane of ``x`` (N, H, W, C).

    ``count_limit`` is the clip limit in counts (``max(1, int(clip_limit kh kw))``, or
    ``kh kw`` for no clipping).
    """
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            bins = _grey_bins_reference(x[i, :, :, k], low, high, nbins)
            maps = _tile_maps_reference(bins, kh, kw, count_limit, nbins)
            levels = _blend_reference(bins, maps, kh, kw)
            out[i, :, :, k] = _stretch_reference(levels, x.dtype, low, high)
    return out


def clahe_numba(x, kh, kw, count_limit, nbins, low, high):
    """The Numba kernel behind :func:`clahe`; same arguments as the reference."""
    x = np.ascontiguousarray(x)
    consts = np.array([low, high - low, 0.0, 1.0, UINT16_MAX], dtype=x.dtype)
    out = np.empty_like(x)
    _clahe_numba(x, consts, kh, kw, count_limit, nbins, out)
    return out


@numba.njit(cache=True)
def _reflect(index, size):
    """NumPy's "reflect" padding for an index >= 0: the image mirrored without repeating its edge."""
    if size == 1:
        return 0
    period = 2 * (size - 1)
    m = index % period
    return m if m < size else period - m


@numba.njit(cache=True)
def _grey_bins_numba(plane, consts, nbins, bins):
    """Step 1 into ``bins`` (H, W) int32; arithmetic in the plane's dtype, as the reference."""
    low, span, zero, one, q_top = consts[0], consts[1], consts[2], consts[3], consts[4]
    h, w = plane.shape
    q_min, q_max = UINT16_MAX, 0
    for r in range(h):
        for c in range(w):
            u = (plane[r, c] - low) / span
            if u < zero:
                u = zero
            elif u > one:
                u = one
            q = int(np.rint(u * q_top))
            bins[r, c] = q
            q_min, q_max = min(q_min, q), max(q_max, q)
    bin_size = 1 + GREY_LEVELS // nbins
    for r in range(h):
        for c in range(w):
            q = bins[r, c]
            if q_max > q_min:
                grey = int(np.rint((q - q_min) / (q_max - q_min) * float(TOP_LEVEL)))
            else:
                grey = min(q, TOP_LEVEL)
            bins[r, c] = grey // bin_size


@numba.njit(cache=True)
def _clip_histogram_numba(hist, limit):
    """:func:`clip_histogram_reference` in place, as loops (keeping count of the bins below the limit)."""
    nbins = hist.size
    excess = 0
    for j in range(nbins):
        if hist[j] > limit:
            excess += hist[j] - limit
            hist[j] = limit
    share = excess // nbins
    for j in range(nbins):
        if hist[j] < limit - share:
            hist[j] += share
            excess -= share
        if limit - share <= hist[j] < limit:
            excess -= limit - hist[j]
            hist[j] = limit
    under = 0
    for j in range(nbins):
        if hist[j] < limit:
            under += 1
    while excess > 0:
        before = excess
        for start in range(nbins):
            step = max(1, under // excess)
            for j in range(start, nbins, step):
                if hist[j] < limit:
                    hist[j] += 1
                    excess -= 1
                    if hist[j] == limit:
                        under -= 1
            if excess <= 0:
                break
        if excess == before:
            break


@numba.njit(cache=True)
def _tile_maps_numba(bins, kh, kw, count_limit, nbins):
    """Steps 2-3: (H, W) bins -> (tiles down, tiles across, nbins) int64 maps."""
    h, w = bins.shape
    rows, cols = -(-h // kh), -(-w // kw)
    row_of = np.empty(rows * kh, np.int64)            # padded index -> image index (reflect)
    col_of = np.empty(cols * kw, np.int64)
    for a in range(rows * kh):
        row_of[a] = _reflect(a, h)
    for b in range(cols * kw):
        col_of[b] = _reflect(b, w)
    maps = np.empty((rows, cols, nbins), np.int64)
    hist = np.empty(nbins, np.int64)
    scale = TOP_LEVEL / (kh * kw)
    for tr in range(rows):
        for tc in range(cols):
            hist[:] = 0
            for a in range(tr * kh, (tr + 1) * kh):
                for b in range(tc * kw, (tc + 1) * kw):
                    hist[bins[row_of[a], col_of[b]]] += 1
            _clip_histogram_numba(hist, count_limit)
            total = 0
            for j in range(nbins):
                total += hist[j]
                maps[tr, tc, j] = int(min(total * scale, float(TOP_LEVEL)))
    return maps


@numba.njit(cache=True)
def _blend_numba(bins, maps, kh, kw, levels):
    """Step 4 into ``levels`` (H, W): the same products, float32 sums and order as the reference."""
    h, w = bins.shape
    rows, cols = maps.shape[0], maps.shape[1]
    for r in range(h):
        p = r + kh // 2
        fr = (p % kh) / kh
        r1 = min(p // kh, rows - 1)
        r0 = min(max(p // kh - 1, 0), rows - 1)
        for c in range(w):
            q = c + kw // 2
            fc = (q % kw) / kw
            c1 = min(q // kw, cols - 1)
            c0 = min(max(q // kw - 1, 0), cols - 1)
            b = bins[r, c]
            total = np.float32(0.0)
            total += np.float32(maps[r0, c0, b] * ((1 - fr) * (1 - fc)))
            total += np.float32(maps[r0, c1, b] * ((1 - fr) * fc))
            total += np.float32(maps[r1, c0, b] * (fr * (1 - fc)))
            total += np.float32(maps[r1, c1, b] * (fr * fc))
            levels[r, c] = int(total)


@numba.njit(cache=True)
def _stretch_numba(levels, consts, out):
    """Step 5 into ``out`` (H, W) in its dtype."""
    low, span, one = consts[0], consts[1], consts[3]
    h, w = levels.shape
    l_min, l_max = levels[0, 0], levels[0, 0]
    for r in range(h):
        for c in range(w):
            l_min, l_max = min(l_min, levels[r, c]), max(l_max, levels[r, c])
    bounds = np.empty(2, out.dtype)
    bounds[0], bounds[1] = l_min, l_max - l_min
    for r in range(h):
        for c in range(w):
            out[r, c] = levels[r, c]
            if l_max > l_min:
                out[r, c] = (out[r, c] - bounds[0]) / bounds[1]
            elif out[r, c] > one:
                out[r, c] = one
            out[r, c] = out[r, c] * span + low


@numba.njit(cache=True, parallel=True)
def _clahe_numba(x, consts, kh, kw, count_limit, nbins, out):
    n, h, w, channels = x.shape
    for p in numba.prange(n * channels):
        i, k = p // channels, p % channels
        bins = np.empty((h, w), np.int32)
        _grey_bins_numba(x[i, :, :, k], consts, nbins, bins)
        maps = _tile_maps_numba(bins, kh, kw, count_limit, nbins)
        levels = np.empty((h, w), np.int32)
        _blend_numba(bins, maps, kh, kw, levels)
        _stretch_numba(levels, consts, out[i, :, :, k])
    return out


# --------------------------------------------------------------------------------------
# Pipeline layers.
# --------------------------------------------------------------------------------------
class HistogramEqualization(Augmentation):
    """:func:`equalize_histogram` as a preprocessing layer: not random, so it applies at inference too.

    Keras 3's ``keras.layers.Equalization(value_range=(0, 255), bins=256)`` is the same idea
    (per channel, output in ``value_range``); this layer follows scikit-image's
    ``equalize_hist`` arithmetic and is not checked against Keras's.

    Parameters
    ----------
    value_range : (float, float)
        ``(low, high)`` of the output.
    nbins : int
    """

    random = False

    def __init__(self, value_range=(0, 255), nbins=256):
        super().__init__(seed=None)
        owner = type(self).__name__
        self.value_range = check_value_range(value_range, owner)
        self.nbins = _positive_int(nbins, "nbins", owner)

    def apply(self, x):
        return equalize_histogram(x, self.value_range, self.nbins)


class CLAHE(Augmentation):
    """:func:`clahe` as a preprocessing layer: not random, so it applies at inference too.

    Parameters
    ----------
    clip_limit, kernel_size, nbins, value_range
        As :func:`clahe`. ``kernel_size=None`` is resolved for each batch's image size.
    """

    random = False

    def __init__(self, clip_limit=0.01, kernel_size=None, nbins=256, value_range=(0, 255)):
        super().__init__(seed=None)
        owner = type(self).__name__
        self.clip_limit = _clip_limit(clip_limit, owner)
        _kernel_size(kernel_size, 8, 8, owner)      # checks it; None needs the image's size
        self.kernel_size = kernel_size
        self.nbins = _positive_int(nbins, "nbins", owner)
        self.value_range = check_value_range(value_range, owner)

    def apply(self, x):
        return clahe(x, self.clip_limit, self.kernel_size, self.nbins, self.value_range)
