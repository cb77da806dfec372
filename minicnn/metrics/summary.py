"""Everything at one threshold, for a report: ``summarize``.

The numbers a clinician reads about a screen (AUC, average precision, accuracy,
precision, sensitivity, specificity, F1, Brier score, the confusion matrix), each with
a bootstrap interval, in one dict of plain Python types ready for ``json.dump``.
"""

import numpy as np

from .auc import roc_auc
from .bootstrap import bootstrap_values
from .calibration import brier_score
from .checks import as_labels, as_probabilities, check_pair, require_both_classes
from .curves import average_precision
from .thresholded import confusion_matrix, ratio

__all__ = ["summarize"]


def summarize(y_true, y_prob, threshold=0.5, n_bootstrap=1000, seed=0, alpha=0.05):
    """All the numbers a clinician reads, at one threshold, with bootstrap intervals.

    Predictions are ``y_prob >= threshold``. Each interval comes from the same
    ``n_bootstrap`` resamples (see ``bootstrap_ci``); ``n_bootstrap=0`` skips them.

    Returns
    -------
    dict with "threshold", "n", "n_positive", "auc", "average_precision",
    "accuracy", "precision", "recall", "specificity", "f1", "brier",
    "confusion_matrix" ([[tn, fp], [fn, tp]] as lists), and "<name>_ci" = [lo, hi]
    for auc, average_precision, accuracy, precision, recall, specificity, f1.
    Plain Python types throughout, ready for ``json.dump``.
    """
    y = as_labels(y_true, "y_true")
    p = as_probabilities(y_prob)
    check_pair(y, p, "y_true", "y_prob")
    require_both_classes(y, "a summary with AUC")
    threshold = float(threshold)
    names = ["auc", "average_precision", "accuracy", "precision", "recall", "specificity", "f1"]

    def all_metrics(yb, pb):
        (tn, fp), (fn, tp) = confusion_matrix(yb, (pb >= threshold).astype(np.int64))
        return [roc_auc(yb, pb), average_precision(yb, pb), ratio(tp + tn, yb.shape[0]),
                ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(tn, tn + fp),
                ratio(2 * tp, 2 * tp + fp + fn)]

    out = {"threshold": threshold, "n": int(y.shape[0]), "n_positive": int(y.sum())}
    out.update(zip(names, (float(v) for v in all_metrics(y, p))))
    out["brier"] = brier_score(y, p)
    out["confusion_matrix"] = confusion_matrix(y, (p >= threshold).astype(np.int64)).tolist()
    if n_bootstrap:
        values = bootstrap_values(all_metrics, y, p, int(n_bootstrap), seed)
        lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
        for name, a, b in zip(names, lo, hi):
            out[f"{name}_ci"] = [float(a), float(b)]
    return out
