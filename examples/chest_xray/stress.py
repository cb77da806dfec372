"""The stress test: validation scored again with every film distorted. Does the answer move?

Two things about a film may hint at the class in this dataset without being pneumonia,
and a model that reads the lungs should hardly move when either changes:

* its shape: the pneumonia originals are wider (median width:height 1.49 against 1.2 in a
  sample of 160 training films), so after the square resize their chests look narrower.
  A width zoom ``zw`` shows ``zw`` times the width in the same pixels: 1.25 squeezes a
  chest (pneumonia-like), 0.8 stretches it;
* its sharpness: the pneumonia originals are small, heavily compressed JPEGs (median
  55-84 KB against 520-560 KB in the same sample), so after the resize they look softer.
  A Gaussian blur (std ``SHARPNESS_SIGMA`` px) softens every film, an unsharp mask
  (amount 2) sharpens it. (Pneumonia itself is a haze, so some response to blur is
  expected of any model.)

A model that learned a film's shape or softness instead of its lungs calls the squeezed
or blurred normal films pneumonia (specificity falls) and misses the stretched or
sharpened pneumonia films (sensitivity falls).

A third clue sits at the film's edge: the side marker ("R" / "L"), text, and the machine's
collimation. Grad-CAM of the most confident normal films lights up the "R" marker and the
chest wall. The marker stress test blacks out a band of :data:`BORDER_BAND` of each side
(which covers the corners, where the markers sit), as the black fill of training's borders
would: a model that reads the lungs loses little; one that reads the edge collapses.
"""

import numpy as np

from minicnn import data, metrics

from .training import SHARPNESS_SIGMA, predict_probabilities

BORDER_BAND = 0.12  # of each side: the marker stress test's black band


def mask_border(x, band=BORDER_BAND):
    """A copy of the (N, H, W, C) batch ``x`` with a band of ``band`` of each side set to 0."""
    x = np.array(x, copy=True)
    h, w = x.shape[1:3]
    bh, bw = int(round(band * h)), int(round(band * w))
    x[:, :bh], x[:, h - bh:], x[:, :, :bw], x[:, :, w - bw:] = 0, 0, 0, 0
    return x


def distortions(fill_mode):
    """The stress test's distortions: ``{name: (what it does, f(raw batch) -> raw batch)}``."""
    def width_zoom(zw):
        return data.RandomZoom((0.0, 0.0), (zw - 1.0, zw - 1.0), fill_mode=fill_mode)
    return {
        "width_zoom_0.8": ("stretched sideways (width x0.8)", width_zoom(0.8)),
        "width_zoom_1.25": ("squeezed sideways (width x1.25)", width_zoom(1.25)),
        "blur_1px": ("blurred (Gaussian, 1 px)", lambda x: data.gaussian_blur(x, SHARPNESS_SIGMA)),
        "sharpen_2": ("sharpened (unsharp mask x2)",
                      lambda x: data.adjust_sharpness(x, 2.0, sigma=SHARPNESS_SIGMA)),
        "border_masked": (f"edges masked (a black band of {BORDER_BAND:.0%} of each side)",
                          mask_border),
    }


def stress_test(model, ds, args, threshold):
    """``ds`` under each of :func:`distortions`, at ``threshold``.

    Returns ``{name: {"what", "auc", "sensitivity", "specificity"}}``; empty when ``ds``
    holds one class only (AUC is undefined then).
    """
    y, results = np.asarray(ds.labels), {}
    if len(np.unique(y)) < 2:
        return results
    for name, (what, distort) in distortions(args.fill_mode).items():
        p = predict_probabilities(model, ds, args, distort=distort)
        predicted = (p >= threshold).astype(np.int64)
        results[name] = {
            "what": what, "auc": round(metrics.roc_auc(y, p), 4),
            "sensitivity": round(metrics.sensitivity(y, predicted), 4),
            "specificity": round(metrics.specificity(y, predicted), 4)}
    return results


def describe(stress):
    """One line per distortion of :func:`stress_test`'s result (console and report)."""
    return [f"{r['what']}: AUC {r['auc']:.3f}, sensitivity {r['sensitivity']:.3f}, "
            f"specificity {r['specificity']:.3f}" for r in stress.values()]
