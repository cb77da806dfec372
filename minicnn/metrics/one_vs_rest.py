"""K-class ROC curves and AUC, one-vs-rest: each class against all the others.

Class k's curve is the binary ``roc_curve`` of ``y_true == k`` against column k of the
scores, so thresholds, ties and end points are the binary ones. The macro AUC is the
mean of the K per-class AUCs (scikit-learn's ``multi_class="ovr", average="macro"``).

One-vs-rest ROC curves and AUC are undefined for a class absent from ``y_true`` (or
holding every example): ValueError naming the class, as ``roc_auc`` does for one
class. ``StreamingMacroAUC`` returns nan instead, so ``fit`` never stops on it.
"""

import numpy as np

from .auc import roc_auc
from .class_checks import labels_and_class_scores
from .curves import roc_curve

__all__ = ["one_vs_rest_roc_curves", "one_vs_rest_roc_auc", "macro_roc_auc"]


def _each_class_present(y, k, what):
    counts = np.bincount(y, minlength=k)
    for c in range(k):
        if counts[c] == 0 or counts[c] == y.shape[0]:
            state = "absent from" if counts[c] == 0 else "the only class in"
            raise ValueError(f"{what} is undefined for class {c}: it is {state} y_true "
                             f"({y.shape[0]} labels), so one-vs-rest has only one class")


def one_vs_rest_roc_curves(y_true, y_score):
    """One ROC curve per class: class k's scores, class k against all the others.

    Curve k is ``roc_curve(y_true == k, y_score[:, k])``: the same thresholds, ties and
    end points as the binary curve (thresholds the distinct scores, decreasing, ``inf``
    in front, no point dropped). Every class must be present in ``y_true`` and no class
    may hold every example (see the module's docstring).

    Returns
    -------
    list of K tuples ``(fpr, tpr, thresholds)``
    """
    y, s = labels_and_class_scores(y_true, y_score)
    k = s.shape[1]
    _each_class_present(y, k, "the one-vs-rest ROC curve")
    return [roc_curve((y == c).astype(np.int64), s[:, c]) for c in range(k)]


def one_vs_rest_roc_auc(y_true, y_score):
    """AUC of each class against the rest, exact (``roc_auc``'s rank statistic, ties half).

    Returns ndarray (K,); ValueError for a class absent from ``y_true``.
    """
    y, s = labels_and_class_scores(y_true, y_score)
    k = s.shape[1]
    _each_class_present(y, k, "the one-vs-rest ROC AUC")
    return np.array([roc_auc((y == c).astype(np.int64), s[:, c]) for c in range(k)])


def macro_roc_auc(y_true, y_score):
    """Mean of the K one-vs-rest AUCs (scikit-learn's ``multi_class="ovr", average="macro"``).

    scikit-learn also demands that each row of scores sums to 1; the AUC of class k
    depends only on the order of column k, so any scores work here (logits too).
    """
    return float(np.mean(one_vs_rest_roc_auc(y_true, y_score)))
