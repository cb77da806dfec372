"""Metrics for a binary screen, judged the way a clinician would judge it.

Every function takes NumPy arrays: ``y_true`` holds labels in {0, 1} (1 = the
condition, e.g. a disease), ``y_score`` / ``y_prob`` hold one score per example
(a probability, a logit, any number where larger means "more likely 1") and
``y_pred`` holds thresholded 0/1 predictions. Shapes ``(N,)`` and ``(N, 1)`` are
both accepted and flattened.

Conventions (the same as scikit-learn's, so numbers can be compared):

* ``confusion_matrix`` is ``[[tn, fp], [fn, tp]]`` (rows = truth, columns = prediction).
* A ratio whose denominator is zero (precision with no positive prediction,
  recall with no positive example, ...) is **0.0**, like scikit-learn's
  ``zero_division=0``. It never raises and never returns nan.
* ``roc_auc`` with only one class present is undefined: it raises ValueError
  rather than returning a number that means nothing. The streaming AUC that
  ``fit`` uses returns ``nan`` instead, so a training run is never stopped by
  a batch of one class.

Bad input is refused with a ValueError that names the argument: labels outside
{0, 1}, NaN scores, arrays of different lengths, empty arrays.

More than two classes: the ``multiclass_*``, ``per_class_*``, ``macro_*`` and
``one_vs_rest_*`` functions take integer labels 0..K-1 (or one-hot rows) and one row
of K scores per example, with the same conventions read one-vs-rest (see
``multiclass``).

Where each part lives (every name is importable from ``minicnn.metrics`` itself):

    checks           input checks for labels, scores, probabilities (shared with explain, plots)
    thresholded      confusion matrix, accuracy, precision, recall = sensitivity, specificity, F1
    auc              the exact ROC AUC by ranks
    curves           ROC and precision-recall curves, average precision
    operating_point  choose_threshold: the cut a screen uses, chosen on validation data
    calibration      Brier score, reliability curve
    bootstrap        percentile bootstrap intervals
    summary          summarize: everything at one threshold, for a report
    class_checks     input checks for K classes
    multiclass       K x K confusion matrix, per-class figures, macro / weighted F1, top-k
    one_vs_rest      K-class ROC curves and AUC, one class against the rest
    streaming        the per-epoch metrics fit reports, and get_streaming_metric
"""

from .auc import roc_auc
from .bootstrap import bootstrap_ci
from .calibration import brier_score, reliability_curve
from .checks import as_labels, as_probabilities, as_scores, check_pair
from .curves import average_precision, precision_recall_curve, roc_curve
from .multiclass import (macro_f1, multiclass_accuracy, multiclass_confusion_matrix, per_class_f1,
                         per_class_precision, per_class_recall, per_class_sensitivity,
                         per_class_specificity, top_k_accuracy, weighted_f1)
from .one_vs_rest import macro_roc_auc, one_vs_rest_roc_auc, one_vs_rest_roc_curves
from .operating_point import choose_threshold
from .streaming import (StreamingAccuracy, StreamingAUC, StreamingCategoricalAccuracy,
                        StreamingMacroAUC, StreamingPrecision, StreamingRecall,
                        StreamingSparseCategoricalAccuracy, get_streaming_metric)
from .summary import summarize
from .thresholded import (accuracy, confusion_matrix, f1_score, precision, ratio, recall,
                          sensitivity, specificity)

__all__ = [
    "accuracy", "precision", "recall", "sensitivity", "specificity", "f1_score",
    "confusion_matrix", "roc_curve", "roc_auc", "precision_recall_curve",
    "average_precision", "choose_threshold", "bootstrap_ci", "brier_score",
    "reliability_curve", "summarize", "get_streaming_metric", "StreamingAccuracy",
    "StreamingPrecision", "StreamingRecall", "StreamingAUC",
    # input checks, shared with explain and plots
    "as_labels", "as_scores", "as_probabilities", "check_pair", "ratio",
    # more than two classes
    "multiclass_confusion_matrix", "multiclass_accuracy", "per_class_sensitivity",
    "per_class_recall", "per_class_specificity", "per_class_precision", "per_class_f1",
    "macro_f1", "weighted_f1", "one_vs_rest_roc_curves", "one_vs_rest_roc_auc", "macro_roc_auc",
    "top_k_accuracy", "StreamingCategoricalAccuracy", "StreamingSparseCategoricalAccuracy",
    "StreamingMacroAUC",
]
