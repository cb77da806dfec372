"""One image as something a screen can show: float RGB in [0, 1].

Images may be grayscale ``(H, W)`` / ``(H, W, 1)`` or RGB ``(H, W, 3)``, as uint8 or
float. How float images are read, so each shows as it should: values in [0, 1] are
taken as [0, 1]; otherwise values in [0, 255] are taken as [0, 255]; anything else
(standardised images with negative values) is stretched from its own min to max.
Used by ``minicnn.plots`` (figures) and ``minicnn.explain`` (Grad-CAM overlays).
"""

import numpy as np

__all__ = ["to_display"]


def to_display(image):
    """One image as float RGB in [0, 1], shape (H, W, 3), ready for ``imshow``.

    Accepts (H, W), (H, W, 1) or (H, W, 3); uint8 or float (see the module docstring
    for how float ranges are read).
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[-1] == 3)):
        raise ValueError(f"image: expected shape (H, W), (H, W, 1) or (H, W, 3), got {np.shape(image)}")
    if img.dtype == np.uint8:
        img = img.astype(np.float64) / 255.0
    else:
        img = img.astype(np.float64)
        if not np.isfinite(img).all():
            raise ValueError("image: contains NaN or infinite values")
        lo, hi = (img.min(), img.max()) if img.size else (0.0, 1.0)
        if lo >= 0.0 and hi <= 1.0:
            pass
        elif lo >= 0.0 and hi <= 255.0:
            img = img / 255.0
        else:                               # standardised: stretch to show the contrast
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return img
