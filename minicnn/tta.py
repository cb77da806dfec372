"""Test-time augmentation: average the model's answer over a few fixed views of each image.

A model trained on augmented images has seen each film slightly zoomed, stretched or
squeezed; at test time its answer for one film still moves a little with such changes.
Averaging the predicted probabilities over the image itself and a few FIXED views,

    p(x) = (1 / (V + 1)) * (f(x) + sum_v f(view_v(x)))

smooths that wobble out. The views are deterministic (the same for every image and every
run), so the averaged model is still one fixed function of the image: a threshold chosen on
validation with it holds for test as for any model. It costs one forward pass per view.

Views act on the raw batch (before any preprocessing such as standardization), as the
training augmentation does, so the preprocessing sees what it saw in training.
"""

import numpy as np

from .data.augment import zoom_matrices
from .kernels.warp import FILL_MODES, affine_warp

__all__ = ["FixedZoom", "predict_averaged"]


class FixedZoom:
    """The same zoom about the centre for every image: a view for :func:`predict_averaged`.

    ``height_zoom`` / ``width_zoom`` have :class:`~minicnn.data.RandomZoom`'s meaning (the
    size of the sampled region in image heights / widths): below 1 zooms in, above 1 zooms out
    (the uncovered border filled by ``fill_mode``). ``FixedZoom(1.0, 0.9)`` stretches the
    picture sideways by 1/0.9, ``FixedZoom(0.9)`` magnifies it by 1/0.9 both ways.
    """

    def __init__(self, height_zoom, width_zoom=None, fill_mode="constant", fill_value=0.0):
        width_zoom = height_zoom if width_zoom is None else width_zoom
        for name, z in (("height_zoom", height_zoom), ("width_zoom", width_zoom)):
            if isinstance(z, bool) or not isinstance(z, (int, float)) or not 0 < z < 10:
                raise ValueError(f"FixedZoom: {name} must be a number in (0, 10), got {z!r}")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"FixedZoom: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        self.height_zoom, self.width_zoom = float(height_zoom), float(width_zoom)
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)

    def __call__(self, images):
        x = np.asarray(images)
        if x.ndim != 4:
            raise ValueError(f"FixedZoom: expected a batch (N, H, W, C), got shape {x.shape}")
        x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)
        n, h, w, _ = x.shape
        m = zoom_matrices(np.full(n, self.height_zoom), np.full(n, self.width_zoom), h, w)
        return affine_warp(x, m[:, :2], self.fill_mode, "bilinear", self.fill_value)

    def __repr__(self):
        return (f"FixedZoom({self.height_zoom}, {self.width_zoom}, fill_mode={self.fill_mode!r})")


def predict_averaged(model, x, views, preprocess=None):
    """``model.predict`` averaged over ``x`` itself and each view of it.

    Parameters
    ----------
    model : Sequential (anything with ``predict``)
    x : ndarray (N, H, W, C) or a minicnn Dataset (anything with ``map``) of raw batches
    views : list of callables ``view(batch) -> batch`` (e.g. :class:`FixedZoom`); empty means
        plain prediction
    preprocess : callable or None
        Applied after each view, before the model (e.g. ``PerImageStandardization()``).

    Returns
    -------
    ndarray, the shape ``model.predict`` returns: the mean of the ``len(views) + 1`` predictions.
    """
    prepare = preprocess or (lambda batch: batch)

    def predict(view):
        see = view or (lambda batch: batch)
        if hasattr(x, "map"):
            return model.predict(x.map(lambda images, labels: (prepare(see(images)), labels)))
        return model.predict(prepare(see(np.asarray(x))))

    total = predict(None).astype(np.float64)
    for view in views:
        total += predict(view)
    return (total / (len(views) + 1)).astype(model.dtype)
