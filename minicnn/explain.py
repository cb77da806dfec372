"""Grad-CAM: where in the image did the model look?

Grad-CAM (Selvaraju et al., 2017) explains one output of a CNN with the
activations ``A`` of a convolutional layer, shape (h, w, K) for one image in
NHWC. For the logit ``y`` (the value before the sigmoid):

    w_k  = mean over (i, j) of dy / dA[i, j, k]        how much channel k matters
    cam  = ReLU( sum_k w_k * A[:, :, k] )              where the important channels fire

``cam`` has the layer's spatial size (h, w); it is upsampled bilinearly to the
image size and scaled to [0, 1] per image. A positive logit means "positive
class" (pneumonia), so bright regions are the evidence *for* that class.

Everything here runs on the layers' own ``forward`` and ``backward``: no
separate autograd, the same code that trains the model explains it.
"""

import numpy as np

__all__ = ["overlay", "upsample_bilinear"]


def upsample_bilinear(maps, size):
    """Resize maps (N, h, w) to (N, H, W) by bilinear interpolation, corners aligned to pixel centres.

    Output pixel ``Y`` takes the input coordinate ``(Y + 0.5) * h / H - 0.5`` (the
    convention of PIL and OpenCV, ``align_corners=False`` in PyTorch), clamped to
    the edge, and mixes the two nearest rows (then columns) by distance.
    """
    maps = np.asarray(maps, dtype=np.float64)
    H, W = int(size[0]), int(size[1])
    _, h, w = maps.shape

    def coords(out_len, in_len):
        x = (np.arange(out_len) + 0.5) * (in_len / out_len) - 0.5
        x = np.clip(x, 0, in_len - 1)
        lo = np.floor(x).astype(np.int64)
        hi = np.minimum(lo + 1, in_len - 1)
        return lo, hi, x - lo

    r0, r1, fr = coords(H, h)
    c0, c1, fc = coords(W, w)
    rows = maps[:, r0, :] * (1 - fr)[None, :, None] + maps[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc)[None, None, :] + rows[:, :, c1] * fc[None, None, :]


def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    """Blend a heat map over an image, as RGB uint8.

    Parameters
    ----------
    image : array (H, W), (H, W, 1) or (H, W, 3), uint8 or float (read as in
        ``minicnn.plots.to_display``)
    heatmap : array (H, W) in [0, 1]
    alpha : float in [0, 1], weight of the coloured heat map
    cmap : name of a matplotlib colormap

    Returns
    -------
    ndarray (H, W, 3) uint8 = round(255 * ((1 - alpha) * image + alpha * cmap(heatmap)))
    """
    from matplotlib import colormaps

    from .plots import to_display

    img = to_display(image)
    hm = np.asarray(heatmap, dtype=np.float64)
    if hm.shape != img.shape[:2]:
        raise ValueError(f"heatmap: shape {hm.shape} does not match the image's {img.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    colored = colormaps[cmap](np.clip(hm, 0.0, 1.0))[..., :3]
    out = (1.0 - alpha) * img + alpha * colored
    return np.round(255.0 * out).astype(np.uint8)
