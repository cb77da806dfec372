"""Metrics of thresholded 0/1 predictions: the confusion matrix and the ratios read from it.

Every figure here comes from the four counts of ``confusion_matrix``,
``[[tn, fp], [fn, tp]]`` (rows: truth, columns: prediction, as scikit-learn's):

    accuracy    = (tp + tn) / N
    precision   = tp / (tp + fp)            of those called positive, the fraction that are
    recall      = tp / (tp + fn)            the sensitivity: the fraction of positives found
    specificity = tn / (tn + fp)            the fraction of negatives correctly cleared
    F1          = 2 tp / (2 tp + fp + fn)   the harmonic mean of precision and recall

A ratio whose denominator is zero is 0.0 (``ratio``; scikit-learn's ``zero_division=0``).
"""

import numpy as np

from .checks import as_labels, check_pair

__all__ = ["confusion_matrix", "ratio", "accuracy", "precision", "recall", "sensitivity",
           "specificity", "f1_score"]


def confusion_matrix(y_true, y_pred):
    """Counts of the four outcomes, ``[[tn, fp], [fn, tp]]`` (rows: truth, columns: prediction).

    Parameters
    ----------
    y_true, y_pred : arrays (N,) or (N, 1) of 0/1

    Returns
    -------
    ndarray (2, 2) of int64, summing to N
    """
    y = as_labels(y_true, "y_true")
    p = as_labels(y_pred, "y_pred")
    check_pair(y, p, "y_true", "y_pred")
    # 2 * truth + prediction is 0 (tn), 1 (fp), 2 (fn) or 3 (tp): one bincount counts all four.
    return np.bincount(2 * y + p, minlength=4).reshape(2, 2)


def ratio(num, den):
    """num / den, or 0.0 when den is 0 (scikit-learn's zero_division=0)."""
    return float(num / den) if den else 0.0


def accuracy(y_true, y_pred):
    """(tp + tn) / N: the fraction of predictions that are right."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return ratio(tp + tn, tn + fp + fn + tp)


def precision(y_true, y_pred):
    """tp / (tp + fp): of those called positive, the fraction that are. 0.0 if none called positive."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return ratio(tp, tp + fp)


def recall(y_true, y_pred):
    """tp / (tp + fn), the sensitivity: the fraction of positives found. 0.0 if no positive."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return ratio(tp, tp + fn)


sensitivity = recall


def specificity(y_true, y_pred):
    """tn / (tn + fp): the fraction of negatives correctly cleared. 0.0 if no negative."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return ratio(tn, tn + fp)


def f1_score(y_true, y_pred):
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall. 0.0 if tp = fp = fn = 0."""
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return ratio(2 * tp, 2 * tp + fp + fn)
