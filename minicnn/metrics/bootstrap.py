"""Uncertainty: percentile bootstrap intervals, repeatable from a seed.

A metric measured on one test set of N examples is an estimate. Resampling the N
examples with replacement many times, and computing the metric on each resample,
shows how much it would vary from test set to test set; the ``alpha/2`` and
``1 - alpha/2`` percentiles of those values are the interval (95% for alpha = 0.05).
"""

import numpy as np

from .auc import roc_auc
from .calibration import brier_score
from .checks import labels_and_scores
from .curves import average_precision
from .thresholded import accuracy, f1_score, precision, recall, specificity

__all__ = ["bootstrap_ci", "bootstrap_values"]

_THRESHOLDED = {"accuracy": accuracy, "precision": precision, "recall": recall,
                "sensitivity": recall, "specificity": specificity, "f1": f1_score}


def _resolve_metric(metric, threshold):
    """A function (y_true, y_score) -> float from a callable or a name."""
    if callable(metric):
        return metric
    if metric in ("auc", "roc_auc"):
        return roc_auc
    if metric == "average_precision":
        return average_precision
    if metric == "brier":
        return brier_score
    if metric in _THRESHOLDED:
        fn = _THRESHOLDED[metric]
        return lambda y, s: fn(y, (s >= threshold).astype(np.int64))
    raise ValueError(f"metric {metric!r} is not callable nor one of "
                     f"{sorted(['auc', 'average_precision', 'brier', *_THRESHOLDED])}")


def bootstrap_ci(metric, y_true, y_score, n=1000, seed=0, alpha=0.05, threshold=0.5):
    """Percentile bootstrap interval of a metric, repeatable from ``seed``.

    Draws ``n`` resamples of the N examples with replacement (from
    ``numpy.random.default_rng(seed)``), computes the metric on each and returns
    the ``alpha/2`` and ``1 - alpha/2`` percentiles (95% for the default alpha).
    Resamples that hold only one class are skipped, because AUC (and the
    curves) are undefined on them; with a test set of realistic size they
    practically never occur. If more than half are skipped, ValueError.

    Parameters
    ----------
    metric : callable (y_true, y_score) -> float, or a name: "auc",
        "average_precision", "brier", or a thresholded one ("accuracy",
        "precision", "recall", "sensitivity", "specificity", "f1") applied to
        ``y_score >= threshold``.
    y_true : array (N,) of 0/1
    y_score : array (N,) of scores
    n : int, number of resamples
    seed : int or None
    alpha : float in (0, 1)
    threshold : float, used only by thresholded metric names

    Returns
    -------
    (lo, hi) : tuple of float
    """
    y, s = labels_and_scores(y_true, y_score)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if int(n) < 1:
        raise ValueError(f"n (the number of resamples) must be at least 1, got {n!r}")
    fn = _resolve_metric(metric, threshold)
    values = bootstrap_values(lambda yb, sb: [fn(yb, sb)], y, s, int(n), seed)[:, 0]
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def bootstrap_values(fn, y, s, n, seed):
    """Apply ``fn(y_b, s_b) -> list of floats`` to ``n`` resamples; rows of the results.

    ``y`` (N,) are checked 0/1 labels and ``s`` (N,) their scores. Resample indices
    come from ``numpy.random.default_rng(seed)``; a resample holding one class only is
    skipped (ValueError when more than half are). Returns float64 (kept resamples, M)
    for M values per call: ``summarize`` gets all its intervals from one set of draws.
    """
    rng = np.random.default_rng(seed)
    size = y.shape[0]
    rows, skipped = [], 0
    for _ in range(n):
        idx = rng.integers(0, size, size=size)
        yb = y[idx]
        n_pos = int(yb.sum())
        if n_pos == 0 or n_pos == size:
            skipped += 1
            continue
        rows.append(fn(yb, s[idx]))
    if skipped > n // 2:
        raise ValueError(f"bootstrap: {skipped} of {n} resamples held only one class; "
                         "the data has too few examples of one class for an interval")
    return np.asarray(rows, dtype=np.float64)
