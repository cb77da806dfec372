"""Position, scale and brightness jitter: Keras's RandomTranslation and RandomBrightness,
torchvision's RandomResizedCrop.

The two geometric ones are affine maps, like :mod:`minicnn.data.augment`'s rotation and zoom:
an OUTPUT -> INPUT matrix per image in homogeneous (row, col, 1) pixel coordinates, so an
:class:`~minicnn.data.augment.Augmenter` fuses them with the others into one warp::

    translation by (dy, dx) pixels           resized crop of the box (top, left, h, w)
    [[1, 0, -dy],                            [[h/H, 0,   top  + (h/H - 1) / 2],
     [0, 1, -dx],                             [0,   w/W, left + (w/W - 1) / 2],
     [0, 0,  1 ]]                             [0,   0,   1                    ]]

The crop's offsets put output pixel centres on input pixel centres: output pixel ``r`` covers
``[r, r + 1)`` of H cells, which is ``[top + r h/H, top + (r + 1) h/H)`` of the input, whose
centre ``top + (r + 1/2) h/H - 1/2`` is the matrix times ``r``.
"""

import math

import numpy as np

from .augment import Augmentation, GeometricAugmentation, check_value_range, is_number, symmetric_range

__all__ = ["RandomBrightness", "RandomResizedCrop", "RandomTranslation", "crop_matrices",
           "translation_matrices"]


def translation_matrices(dy, dx):
    """Output -> input maps shifting each picture DOWN by ``dy`` and RIGHT by ``dx`` pixels, (N, 3, 3).

    Output pixel ``(r, c)`` shows input pixel ``(r - dy, c - dx)``.
    """
    dy, dx = np.asarray(dy, dtype=np.float64), np.asarray(dx, dtype=np.float64)
    m = np.tile(np.eye(3), (dy.shape[0], 1, 1))
    m[:, 0, 2] = -dy
    m[:, 1, 2] = -dx
    return m


def crop_matrices(top, left, crop_height, crop_width, height, width):
    """Output -> input maps that resize the box ``(top, left, crop_height, crop_width)`` to (H, W).

    All arguments but ``height``/``width`` are (N,) arrays in input pixels (the box's
    top-left corner and its size); the map samples the box's pixel centres (module docstring).
    """
    sy = np.asarray(crop_height, dtype=np.float64) / height
    sx = np.asarray(crop_width, dtype=np.float64) / width
    m = np.zeros((sy.shape[0], 3, 3))
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = sy, sx, 1.0
    m[:, 0, 2] = np.asarray(top, dtype=np.float64) + (sy - 1.0) / 2.0
    m[:, 1, 2] = np.asarray(left, dtype=np.float64) + (sx - 1.0) / 2.0
    return m


class RandomTranslation(GeometricAugmentation):
    """Shift each image by a random fraction of its height and width (Keras's RandomTranslation).

    Parameters
    ----------
    height_factor : float or (float, float)
        ``f`` draws the vertical shift in [-f, f] image heights; a pair ``(lo, hi)`` in
        [lo, hi]. Positive shifts move the picture DOWN (Keras's convention).
    width_factor : float or (float, float)
        The same for the horizontal shift; positive moves the picture RIGHT.
    fill_mode, interpolation, seed, fill_value
        As :class:`~minicnn.data.augment.RandomRotation` (Keras's default fill is "reflect").

    ``last_params``: ``{"dy": (N,), "dx": (N,)}`` in pixels.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.height_range = symmetric_range(height_factor, "height_factor", "RandomTranslation")
        self.width_range = symmetric_range(width_factor, "width_factor", "RandomTranslation")
        for name, (lo, hi) in (("height_factor", self.height_range),
                               ("width_factor", self.width_range)):
            if lo < -1.0 or hi > 1.0:
                raise ValueError(f"RandomTranslation: {name} must lie in [-1, 1] (a fraction of "
                                 f"the image), got the range {(lo, hi)}")

    def draw_matrices(self, n, height, width):
        dy = self.rng.uniform(*self.height_range, size=n) * height
        dx = self.rng.uniform(*self.width_range, size=n) * width
        self.last_params = {"dy": dy, "dx": dx}
        return translation_matrices(dy, dx)


class RandomResizedCrop(GeometricAugmentation):
    """Crop a random box of random area and aspect ratio, resized back to the image's size.

    torchvision's ``RandomResizedCrop`` (the output keeps the input's size here): for each
    image, up to 10 attempts draw an area fraction ``s`` uniform in ``scale`` and an aspect
    ratio ``r`` (width / height) log-uniform in ``ratio``; the box is
    ``w = sqrt(s r H W)``, ``h = sqrt(s H W / r)``, placed uniformly where it fits. If no
    attempt fits, the whole image is used with its ratio clamped into ``ratio`` (torchvision's
    fallback). Box sizes are not rounded to whole pixels: the warp samples between pixels.

    It jitters scale, position and aspect ratio at once, always zooming IN (no border to
    fill). The default ``scale=(0.08, 1.0)`` is torchvision's, meant for natural photographs
    where any part of the picture still shows the object; on a chest film, where the finding
    may be in either lung, a narrower range such as ``(0.6, 1.0)`` keeps both lungs in view.

    Parameters
    ----------
    scale : (float, float)
        Range of the box's area as a fraction of the image's, 0 < lo <= hi <= 1.
    ratio : (float, float)
        Range of the box's width / height (before it is resized to the image's shape).
    interpolation, seed
        As :class:`~minicnn.data.augment.RandomRotation`. The fill mode only matters for
        the sub-pixel rim and is "nearest".

    ``last_params``: ``{"top", "left", "height", "width"}``, each (N,) in input pixels.
    """

    ATTEMPTS = 10

    def __init__(self, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation="bilinear",
                 seed=None):
        super().__init__("nearest", interpolation, seed, 0.0)
        for name, pair in (("scale", scale), ("ratio", ratio)):
            if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                    or not all(is_number(v) for v in pair) or not 0 < pair[0] <= pair[1]):
                raise ValueError(f"RandomResizedCrop: {name} must be a pair (low, high) with "
                                 f"0 < low <= high, got {pair!r}")
        if scale[1] > 1.0:
            raise ValueError(f"RandomResizedCrop: scale is a fraction of the image's area and "
                             f"must not exceed 1, got {scale!r}")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)

    @property
    def warp_settings(self):
        return None   # it never samples outside the image: agrees with any fill mode

    def draw_boxes(self, n, height, width):
        """``(top, left, h, w)`` arrays (N,) of the drawn boxes, in input pixels."""
        area = float(height * width)
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        boxes = np.empty((n, 4))
        for i in range(n):
            for _ in range(self.ATTEMPTS):
                target = area * self.rng.uniform(*self.scale)
                r = math.exp(self.rng.uniform(*log_ratio))
                w, h = math.sqrt(target * r), math.sqrt(target / r)
                if 0 < w <= width and 0 < h <= height:
                    top = self.rng.uniform(0.0, height - h)
                    left = self.rng.uniform(0.0, width - w)
                    boxes[i] = top, left, h, w
                    break
            else:  # torchvision's fallback: the whole image, its ratio clamped into range
                r = min(max(width / height, self.ratio[0]), self.ratio[1])
                w, h = (height * r, float(height)) if width / height > r else (float(width), width / r)
                boxes[i] = (height - h) / 2.0, (width - w) / 2.0, h, w
        return boxes.T

    def draw_matrices(self, n, height, width):
        top, left, h, w = self.draw_boxes(n, height, width)
        self.last_params = {"top": top, "left": left, "height": h, "width": w}
        return crop_matrices(top, left, h, w, height, width)


class RandomBrightness(Augmentation):
    """Add a random offset to each image (Keras's RandomBrightness).

    For image i, one offset ``delta_i`` drawn uniformly in ``[lo, hi] * (high - low)`` of the
    value range, the same for every pixel and channel::

        out = clip(x + delta_i, low, high)

    Note: a per-image standardization after it (``PerImageStandardization``) removes any
    offset again (only the clipping survives), so pair it with a fixed rescaling.

    Parameters
    ----------
    factor : float or (float, float)
        ``f`` in [0, 1] means [-f, f]; a pair ``(lo, hi)`` with -1 <= lo <= hi <= 1.
    value_range : (float, float)
        The pixel range of the pipeline (minicnn's datasets yield [0, 255]); outputs are clipped to it.
    seed : int or None

    ``last_params``: ``{"delta": (N,)}`` in pixel units.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None):
        super().__init__(seed)
        self.factor = factor
        self.lower, self.upper = symmetric_range(factor, "factor", "RandomBrightness")
        if self.lower < -1.0 or self.upper > 1.0:
            raise ValueError(f"RandomBrightness: factor must lie in [-1, 1], got {factor!r}")
        self.value_range = check_value_range(value_range, "RandomBrightness")

    def apply(self, x):
        low, high = self.value_range
        delta = self.rng.uniform(self.lower, self.upper, size=x.shape[0]) * (high - low)
        self.last_params = {"delta": delta}
        shifted = x + delta.reshape(-1, 1, 1, 1).astype(x.dtype)
        return np.clip(shifted, low, high, out=shifted)
