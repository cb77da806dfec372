"""Metrics for more than two classes: the K x K confusion matrix and the figures read from it.

K classes numbered 0..K-1. ``y_true`` holds integer labels, shape (N,) or (N, 1), or
one-hot rows (N, K); ``y_pred`` integer predictions (N,); ``y_score`` one row of K
scores per example (N, K): probabilities, logits, anything where larger means "more
likely this class". Predictions from scores are ``y_score.argmax(axis=1)``.

Conventions, the same as the binary ones and as scikit-learn's (so numbers can be
compared: ``labels=range(K)``, ``zero_division=0``):

* ``multiclass_confusion_matrix[i, j]`` counts examples of true class i predicted j.
* Per-class figures treat class k as "positive" and every other class as "negative"
  (one-vs-rest). A ratio whose denominator is zero is 0.0: the sensitivity of a class
  absent from ``y_true``, the precision of a class never predicted.
* Macro averages are plain means over ALL K classes, so an absent class pulls the
  macro F1 down with its 0.0 (as scikit-learn's with ``labels=range(K)``); weighted
  averages weight each class by its number of true examples, so an absent one counts 0.
* K is ``num_classes`` when given, else ``y_score.shape[1]`` (or the one-hot
  columns), else 1 + the largest label seen. Pass ``num_classes`` when a class may be
  missing from both arrays.

One-vs-rest ROC curves and AUC are in ``one_vs_rest``; the streaming versions ``fit``
uses are in ``streaming``.
"""

import numpy as np

from .class_checks import labels_and_class_scores, labels_and_predictions

__all__ = ["multiclass_confusion_matrix", "multiclass_accuracy", "per_class_sensitivity",
           "per_class_recall", "per_class_specificity", "per_class_precision", "per_class_f1",
           "macro_f1", "weighted_f1", "top_k_accuracy"]


def multiclass_confusion_matrix(y_true, y_pred, num_classes=None):
    """K x K counts: entry [i, j] is the number of examples of class i predicted as j.

    Rows are the truth, columns the prediction (scikit-learn's ``confusion_matrix`` with
    ``labels=range(K)``); the diagonal holds the right answers and the matrix sums to N.
    For K = 2 it equals the binary ``confusion_matrix`` ``[[tn, fp], [fn, tp]]``.

    Returns
    -------
    ndarray (K, K) of int64
    """
    y, p, k = labels_and_predictions(y_true, y_pred, num_classes)
    # K * truth + prediction numbers the K^2 cells; one bincount counts them all.
    return np.bincount(k * y + p, minlength=k * k).reshape(k, k)


def _one_vs_rest_counts(y_true, y_pred, num_classes):
    """Per-class (tp, fp, fn, tn), each (K,) int64, from the confusion matrix."""
    cm = multiclass_confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp           # predicted k, truly another class
    fn = cm.sum(axis=1) - tp           # truly k, predicted another class
    tn = cm.sum() - tp - fp - fn
    return tp, fp, fn, tn


def _per_class_ratio(num, den):
    """num / den element-wise, 0.0 where den is 0 (zero_division=0), as float64."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def multiclass_accuracy(y_true, y_pred, num_classes=None):
    """Fraction of examples whose predicted class is the true one: trace / N."""
    cm = multiclass_confusion_matrix(y_true, y_pred, num_classes)
    return float(np.trace(cm) / cm.sum())


def per_class_sensitivity(y_true, y_pred, num_classes=None):
    """Recall of each class, tp_k / (tp_k + fn_k); 0.0 for a class absent from ``y_true``.

    The fraction of class k's examples that are predicted as k. Returns ndarray (K,).
    """
    tp, fp, fn, tn = _one_vs_rest_counts(y_true, y_pred, num_classes)
    return _per_class_ratio(tp, tp + fn)


per_class_recall = per_class_sensitivity


def per_class_specificity(y_true, y_pred, num_classes=None):
    """tn_k / (tn_k + fp_k): of the examples NOT of class k, the fraction not predicted k.

    0.0 only when every example is of class k (no negative for it). Returns ndarray (K,).
    scikit-learn has no direct function; it is ``recall`` of "not k" against "not k".
    """
    tp, fp, fn, tn = _one_vs_rest_counts(y_true, y_pred, num_classes)
    return _per_class_ratio(tn, tn + fp)


def per_class_precision(y_true, y_pred, num_classes=None):
    """tp_k / (tp_k + fp_k): of the examples predicted k, the fraction that are k.

    0.0 for a class that is never predicted. Returns ndarray (K,).
    """
    tp, fp, fn, tn = _one_vs_rest_counts(y_true, y_pred, num_classes)
    return _per_class_ratio(tp, tp + fp)


def per_class_f1(y_true, y_pred, num_classes=None):
    """2 tp_k / (2 tp_k + fp_k + fn_k), the harmonic mean of precision and recall per class.

    0.0 for a class neither present nor predicted. Returns ndarray (K,).
    """
    tp, fp, fn, tn = _one_vs_rest_counts(y_true, y_pred, num_classes)
    return _per_class_ratio(2 * tp, 2 * tp + fp + fn)


def macro_f1(y_true, y_pred, num_classes=None):
    """Mean of ``per_class_f1`` over all K classes: every class counts the same, rare or not."""
    return float(np.mean(per_class_f1(y_true, y_pred, num_classes)))


def weighted_f1(y_true, y_pred, num_classes=None):
    """Mean of ``per_class_f1`` weighted by each class's number of true examples (support)."""
    tp, fp, fn, tn = _one_vs_rest_counts(y_true, y_pred, num_classes)
    support = tp + fn
    return float(np.sum(support * _per_class_ratio(2 * tp, 2 * tp + fp + fn)) / np.sum(support))


def top_k_accuracy(y_true, y_score, k=5):
    """Fraction of examples whose true class is among the ``k`` highest scores.

    An example counts when fewer than k classes score STRICTLY higher than its true
    class, so a tie at the boundary counts in its favour (TensorFlow's ``in_top_k``
    rule; scikit-learn breaks such ties by class index instead: the two agree whenever
    the scores of an example are distinct). ``k`` >= the number of classes gives 1.0;
    ``k=1`` is the accuracy of ``argmax`` predictions when there are no ties.
    """
    y, s = labels_and_class_scores(y_true, y_score)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k_accuracy: k must be an integer >= 1, got {k!r}")
    true_score = s[np.arange(y.shape[0]), y]
    higher = np.sum(s > true_score[:, None], axis=1)
    return float(np.mean(higher < k))
