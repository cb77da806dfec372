"""Calibration: do the probabilities mean what they say?

A model is calibrated when, of the examples it gives probability p, a fraction p are
positive. ``brier_score`` measures it in one number (the mean squared error of the
probabilities); ``reliability_curve`` shows it bin by bin (a calibrated model lies on
the diagonal). Both need probabilities in [0, 1], not logits.
"""

import numpy as np

from .checks import as_labels, as_probabilities, check_pair

__all__ = ["brier_score", "reliability_curve"]


def brier_score(y_true, y_prob):
    """Mean squared error of the probabilities, mean((p - y)^2); 0 is perfect, 0.25 is a coin."""
    y = as_labels(y_true, "y_true")
    p = as_probabilities(y_prob)
    check_pair(y, p, "y_true", "y_prob")
    return float(np.mean((p - y) ** 2))


def reliability_curve(y_true, y_prob, n_bins=10):
    """Observed frequency of positives against predicted probability, per bin.

    [0, 1] is cut into ``n_bins`` equal bins, as scikit-learn's
    ``calibration_curve(strategy="uniform")`` does: bin edges ``k / n_bins``,
    each bin closed on the right, (a, b], the first also holding 0. Empty bins
    are left out. A calibrated model lies on the diagonal.

    Returns
    -------
    mean_predicted : ndarray (B,) mean probability in each non-empty bin
    fraction_positive : ndarray (B,) fraction of label 1 in each
    counts : ndarray (B,) int64, examples in each
    """
    y = as_labels(y_true, "y_true")
    p = as_probabilities(y_prob)
    check_pair(y, p, "y_true", "y_prob")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    bins = np.searchsorted(edges[1:-1], p, side="left")
    counts = np.bincount(bins, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    keep = counts > 0
    return sum_p[keep] / counts[keep], sum_y[keep] / counts[keep], counts[keep].astype(np.int64)
