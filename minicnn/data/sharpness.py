"""Random sharpness: blur or sharpen each image by a random amount.

Why a model might need it: how sharp an image looks after resizing depends on how it was
stored (its compression, its original resolution), not only on what it shows. If one class
was stored smaller or more compressed than the other, softness itself hints at the class,
and a model that learned it would call any blurred image of the other class that class.
Drawing a new sharpness for every training image is meant to make that clue useless.
Whether it does is an empirical question: the example's stress test measures it
(docs/experiments.md).

The operation is an unsharp mask with a random amount ``s`` per image::

    blurred = gaussian_blur(x, sigma)
    out     = clip(blurred + s * (x - blurred), *value_range)

``s = 0`` is the blurred image, ``s = 1`` the original, ``s = 2`` the original plus its
detail again (sharpened). This is the meaning of PIL's ``ImageEnhance.Sharpness`` and
torchvision's ``adjust_sharpness`` (degree 0 / 1 / 2), with a Gaussian of width ``sigma``
instead of their fixed 3x3 smoothing kernel, so the strength of the blur can be chosen.
(Keras's ``RandomSharpness`` maps the same range to factor 0 / 0.5 / 1.)
"""

import numpy as np

from .augment import Augmentation, check_value_range, factor_around_one, is_number

__all__ = ["RandomSharpness", "adjust_sharpness", "gaussian_blur", "gaussian_kernel"]


def gaussian_kernel(sigma, truncate=3.0):
    """The 1-D Gaussian weights ``exp(-k^2 / (2 sigma^2))`` for k in [-r, r], summing to 1.

    ``r = int(truncate * sigma + 0.5)``, the radius ``scipy.ndimage.gaussian_filter`` uses, so
    the two agree. Returns float64 of shape (2r + 1,).
    """
    radius = int(truncate * sigma + 0.5)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (k / sigma) ** 2)
    return weights / weights.sum()


def gaussian_blur(x, sigma, truncate=3.0):
    """Blur each image of an (N, H, W, C) batch with a 2-D Gaussian of std ``sigma`` pixels.

    A 2-D Gaussian is the product of two 1-D ones, so it is applied as two 1-D passes (down
    the rows, then along the columns): ``2 (2r + 1)`` multiply-adds per pixel instead of
    ``(2r + 1)^2``. The border is mirrored (``... c b a | a b c ...``; scipy's "reflect"),
    so the blurred image stays as bright at its edges as inside. Keeps the dtype of ``x``.
    """
    weights = gaussian_kernel(sigma, truncate).astype(x.dtype)
    radius = len(weights) // 2
    out = x
    for axis in (1, 2):                          # rows (H), then columns (W)
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        size = out.shape[axis]
        out = np.zeros_like(x)
        for k, w in enumerate(weights):          # out[i] = sum_k w_k * in[i + k - r]
            out += w * padded.take(np.arange(k, k + size), axis=axis)
    return out


def adjust_sharpness(x, amount, sigma=1.0, value_range=(0, 255)):
    """``clip(blur(x) + amount * (x - blur(x)), *value_range)`` for an (N, H, W, C) batch.

    ``amount``: one number for the batch or one per image, shape (N,); 0 blurs, 1 keeps,
    2 sharpens. ``blur`` is :func:`gaussian_blur` with std ``sigma``. Keeps the dtype of ``x``.
    """
    blurred = gaussian_blur(x, sigma)
    amount = np.asarray(amount, dtype=x.dtype).reshape(-1, 1, 1, 1)  # one per image, or one
    return np.clip(blurred + amount * (x - blurred), *value_range).astype(x.dtype)


class RandomSharpness(Augmentation):
    """Blur or sharpen each image by a random amount ``s`` in [1 - lower, 1 + upper].

    ``out = clip(blur(x) + s * (x - blur(x)), *value_range)`` with ``blur`` a Gaussian of
    std ``sigma`` pixels (see the module docstring for why and for the Keras / PIL names).

    Parameters
    ----------
    factor : float or (float, float)
        ``f`` means lower = upper = f, so s in [1-f, 1+f]; a pair (lower, upper) means
        s in [1-lower, 1+upper]. Needs 0 <= lower <= 1 (s < 0 would invert the detail) and
        upper >= 0. ``factor=1`` ranges from fully blurred to sharpened once.
    sigma : float
        Width of the Gaussian blur, in pixels, > 0.
    seed : int or None
    value_range : (float, float)
        Pixel range of the pipeline; sharpening overshoots at edges, so outputs are clipped
        to it. (0, 255), as minicnn's datasets yield.

    ``last_params``: ``{"sharpness": (N,)}``.
    """

    def __init__(self, factor, sigma=1.0, seed=None, value_range=(0, 255)):
        super().__init__(seed)
        self.factor, self.sigma = factor, sigma
        self.lower, self.upper = factor_around_one(factor, "RandomSharpness", "sharpness")
        if not is_number(sigma) or sigma <= 0:
            raise ValueError(f"RandomSharpness: sigma must be a number > 0 (pixels), got {sigma!r}")
        self.value_range = check_value_range(value_range, "RandomSharpness")

    def apply(self, x):
        s = 1.0 + self.rng.uniform(-self.lower, self.upper, size=x.shape[0])
        self.last_params = {"sharpness": s}
        return adjust_sharpness(x, s, self.sigma, self.value_range)
