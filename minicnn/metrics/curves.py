"""Curves over every threshold: ROC, precision-recall, and the average precision.

Predicting positive when ``y_score >= t``, every distinct score ``t`` is a threshold.
Sorting the scores from high to low and lowering ``t`` past each distinct value adds
every example holding that value at once, so one cumulative sum gives the true and
false positives at all thresholds (and tied scores move a curve diagonally):

    ROC:  fpr = fp / N_neg,  tpr = tp / N_pos
    PR:   precision = tp / (tp + fp),  recall = tp / N_pos
    AP  = sum_n (R_n - R_{n-1}) P_n

The orders and end points are scikit-learn's, so the arrays can be compared with its.
"""

import numpy as np

from .checks import labels_and_scores, require_both_classes

__all__ = ["roc_curve", "precision_recall_curve", "average_precision"]


def _cumulative_counts(y, s):
    """True and false positives when predicting ``s >= t`` for each distinct score ``t``.

    Returns ``(tps, fps, thresholds)`` with thresholds decreasing: sorting scores
    from high to low, lowering the threshold past each distinct value adds every
    example holding that value at once (so ties move the curve diagonally).
    """
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # Last position of each run of equal scores.
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s_sorted.shape[0] - 1]
    tps = np.cumsum(y_sorted)[last]
    fps = (last + 1) - tps
    return tps, fps, s_sorted[last]


def roc_curve(y_true, y_score):
    """ROC curve: false and true positive rates as the threshold falls.

    Predicting positive when ``y_score >= thresholds[i]`` gives rates
    ``fpr[i] = fp / N_neg`` and ``tpr[i] = tp / N_pos``. As in scikit-learn,
    thresholds are the distinct scores in decreasing order with ``inf`` in front
    (nothing predicted positive, the point (0, 0)); the last point is (1, 1).
    Unlike scikit-learn's default, no intermediate point is dropped
    (``drop_intermediate=False``). Both classes must be present.

    Returns
    -------
    fpr, tpr : ndarray (K + 1,) non-decreasing
    thresholds : ndarray (K + 1,) decreasing, ``thresholds[0] = inf``
    """
    y, s = labels_and_scores(y_true, y_score)
    n_pos = require_both_classes(y, "the ROC curve")
    tps, fps, thr = _cumulative_counts(y, s)
    tpr = np.r_[0, tps] / n_pos
    fpr = np.r_[0, fps] / (y.shape[0] - n_pos)
    return fpr, tpr, np.r_[np.inf, thr]


def precision_recall_curve(y_true, y_score):
    """Precision and recall at every threshold, in scikit-learn's order.

    Thresholds are the distinct scores in *increasing* order; ``precision[i]``
    and ``recall[i]`` belong to predicting ``y_score >= thresholds[i]``. A last
    point (precision 1, recall 0) with no threshold closes the curve, so
    ``precision`` and ``recall`` have one entry more than ``thresholds``.
    Needs at least one positive (recall is undefined otherwise).

    Returns
    -------
    precision : ndarray (K + 1,)
    recall : ndarray (K + 1,) non-increasing, ending at 0
    thresholds : ndarray (K,) increasing
    """
    y, s = labels_and_scores(y_true, y_score)
    if y.sum() == 0:
        raise ValueError("the precision-recall curve is undefined when y_true holds no "
                         "positive (1) label: recall divides by the number of positives")
    tps, fps, thr = _cumulative_counts(y, s)
    prec = tps / (tps + fps)          # never 0/0: each threshold admits at least one example
    rec = tps / tps[-1]
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thr[::-1]


def average_precision(y_true, y_score):
    """Average precision, scikit-learn's step-wise sum (no interpolation).

        AP = sum_n (R_n - R_{n-1}) P_n

    over thresholds from high to low, with R_0 = 0: the precision at each
    threshold weighted by the recall it adds. Needs at least one positive.
    """
    prec, rec, _ = precision_recall_curve(y_true, y_score)
    # Arrays run from low to high threshold; recall falls along them, so -diff is the gain.
    return float(-np.sum(np.diff(rec) * prec[:-1]))
