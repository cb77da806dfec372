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
"""

import numpy as np

__all__ = [
    "accuracy", "precision", "recall", "sensitivity", "specificity", "f1_score",
    "confusion_matrix", "roc_curve", "roc_auc", "precision_recall_curve",
    "average_precision", "choose_threshold", "bootstrap_ci", "brier_score",
    "reliability_curve", "summarize", "get_streaming_metric", "StreamingAccuracy",
    "StreamingPrecision", "StreamingRecall", "StreamingAUC",
    # input checks, shared with explain and plots
    "as_labels", "as_scores", "as_probabilities", "check_pair", "ratio",
]


# --- input checks --------------------------------------------------------------------
def as_labels(y, name="y_true"):
    """Flatten ``y`` to a 1-D int64 array of 0/1, or raise ValueError naming ``name``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected shape (N,) or (N, 1), got {y.shape}")
    if y.dtype == bool:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{name}: expected numeric labels 0/1, got dtype {y.dtype}")
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        examples = np.unique(y[bad])[:5].tolist()
        raise ValueError(f"{name}: labels must be 0 or 1, found {examples}")
    return y.astype(np.int64)


def as_scores(s, name="y_score"):
    """Flatten ``s`` to a 1-D float64 array without NaN, or raise ValueError naming ``name``."""
    s = np.asarray(s)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"{name}: expected shape (N,) or (N, 1), got {s.shape}")
    return _numeric_without_nan(s, name)


def _numeric_without_nan(s, name):
    """``s`` as float64; ValueError naming ``name`` for non-numbers or NaN (binary or K-class scores)."""
    if not (np.issubdtype(s.dtype, np.number) or s.dtype == bool):
        raise ValueError(f"{name}: expected numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if np.isnan(s).any():
        raise ValueError(f"{name}: contains NaN at {int(np.isnan(s).sum())} position(s); "
                         "check the model's output (a diverged training gives NaN)")
    return s


def check_pair(a, b, name_a, name_b):
    """Raise ValueError unless 1-D ``a`` and ``b`` have the same, non-zero, length."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} entries but {name_b} has {b.shape[0]}; "
                         "they must have the same length")
    if a.shape[0] == 0:
        raise ValueError(f"{name_a} and {name_b} are empty")


def _labels_and_scores(y_true, y_score, score_name="y_score"):
    y = as_labels(y_true, "y_true")
    s = as_scores(y_score, score_name)
    check_pair(y, s, "y_true", score_name)
    return y, s


def _both_classes(y, what):
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        only = "1 (positive)" if n_pos else "0 (negative)"
        raise ValueError(f"{what} is undefined when y_true holds only one class "
                         f"(all {y.shape[0]} labels are {only}); it needs both 0s and 1s")
    return n_pos


# --- AUC, the core of the streaming metric ----------------------------------------------
def _average_ranks(s):
    """Ranks 1..N of ``s`` in ascending order, tied values sharing their mean rank."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # Boundaries of runs of equal values in the sorted scores.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.shape[0]]               # exclusive
    mean_rank = (starts + ends + 1) / 2.0              # mean of ranks starts+1 .. ends
    ranks = np.empty(s.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(y_true, y_score):
    """Area under the ROC curve, exact, by the Mann-Whitney rank statistic.

    AUC is the probability that a random positive scores higher than a random
    negative, ties counted half:

        AUC = (sum of ranks of positives - P (P + 1) / 2) / (P N)

    with ranks 1..P+N in ascending score order and tied scores given their mean
    rank. This equals the trapezoidal area under ``roc_curve``. All scores equal
    gives 0.5. Only one class present raises ValueError (AUC is undefined).

    Parameters
    ----------
    y_true : array (N,) or (N, 1) of 0/1
    y_score : array (N,) or (N, 1) of scores, larger meaning "more likely 1"

    Returns
    -------
    float in [0, 1]
    """
    y, s = _labels_and_scores(y_true, y_score)
    n_pos = _both_classes(y, "ROC AUC")
    n_neg = y.shape[0] - n_pos
    ranks = _average_ranks(s)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


# --- metrics on thresholded predictions -----------------------------------------------
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


# --- curves over every threshold -------------------------------------------------------
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
    y, s = _labels_and_scores(y_true, y_score)
    n_pos = _both_classes(y, "the ROC curve")
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
    y, s = _labels_and_scores(y_true, y_score)
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


# --- choosing an operating point -------------------------------------------------------
def choose_threshold(y_true, y_score, target_sensitivity=None):
    """Threshold for ``y_score >= threshold`` chosen on a validation set.

    With ``target_sensitivity`` (in (0, 1]): the *highest* threshold whose
    sensitivity on this set is at least the target. Raising the threshold only
    loses positives, so the highest such one keeps the most specificity. The
    result is always one of the scores (the lowest score gives sensitivity 1,
    so a target is always reachable).

    With ``target_sensitivity=None``: the threshold maximising Youden's
    J = sensitivity + specificity - 1 = tpr - fpr. Ties go to the highest
    threshold among the maximisers (the more specific choice).

    Choose on validation data, never on the test set you report: a threshold
    tuned on the test set makes its sensitivity an optimistic estimate.

    Returns
    -------
    float, one of the values of ``y_score``
    """
    fpr, tpr, thr = roc_curve(y_true, y_score)
    fpr, tpr, thr = fpr[1:], tpr[1:], thr[1:]      # drop the inf point: it predicts nothing
    if target_sensitivity is None:
        return float(thr[np.argmax(tpr - fpr)])     # argmax takes the first = highest threshold
    t = float(target_sensitivity)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"target_sensitivity must be in (0, 1], got {target_sensitivity!r}")
    # tpr rises as the threshold falls: the first index reaching the target is the highest threshold.
    # A tiny tolerance keeps e.g. target 0.95 reachable when tpr is 19/20 computed as 0.9499999.
    return float(thr[np.argmax(tpr >= t - 1e-12)])


# --- uncertainty -------------------------------------------------------------------------
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
    y, s = _labels_and_scores(y_true, y_score)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if int(n) < 1:
        raise ValueError(f"n (the number of resamples) must be at least 1, got {n!r}")
    fn = _resolve_metric(metric, threshold)
    values = _bootstrap(lambda yb, sb: [fn(yb, sb)], y, s, int(n), seed)[:, 0]
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def _bootstrap(fn, y, s, n, seed):
    """Apply ``fn(y_b, s_b) -> list of floats`` to ``n`` resamples; rows of the results."""
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


# --- calibration -----------------------------------------------------------------------
def as_probabilities(y_prob):
    """``as_scores`` of ``y_prob`` that also refuses values outside [0, 1]."""
    p = as_scores(y_prob, "y_prob")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError(f"y_prob: probabilities must lie in [0, 1], got values in "
                         f"[{p.min():.4g}, {p.max():.4g}] (pass sigmoid(logits), not logits)")
    return p


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


# --- everything at one threshold, for a report -------------------------------------------
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
    _both_classes(y, "a summary with AUC")
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
        values = _bootstrap(all_metrics, y, p, int(n_bootstrap), seed)
        lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
        for name, a, b in zip(names, lo, hi):
            out[f"{name}_ci"] = [float(a), float(b)]
    return out


# --- streaming versions for fit ------------------------------------------------------
class _Streaming:
    """Base of the per-epoch metrics ``fit`` reports.

    ``reset()`` at the start of an epoch, ``update(y_true, y_prob)`` after each
    batch (shapes (B,) or (B, 1); ``y_prob`` are probabilities in [0, 1]),
    ``result()`` for the value over everything seen since the reset.
    """

    name = None
    threshold = 0.5

    def __init__(self, name=None):
        if name is not None:
            self.name = str(name)  # e.g. "accuracy": the key a K-class model reports it under
        self.reset()

    def _batch(self, y_true, y_prob):
        y, p = _labels_and_scores(y_true, y_prob, "y_prob")
        return y, p

    def __repr__(self):
        return f"{type(self).__name__}(result={self.result():.4g})"


class _StreamingCounts(_Streaming):
    """Keeps the four confusion counts at threshold 0.5 (predicted 1 when p >= 0.5)."""

    def reset(self):
        self.tp = self.fp = self.tn = self.fn = 0

    def update(self, y_true, y_prob):
        y, p = self._batch(y_true, y_prob)
        pred = p >= self.threshold
        pos = y == 1
        self.tp += int(np.count_nonzero(pred & pos))
        self.fp += int(np.count_nonzero(pred & ~pos))
        self.fn += int(np.count_nonzero(~pred & pos))
        self.tn += int(np.count_nonzero(~pred & ~pos))


class StreamingAccuracy(_StreamingCounts):
    """(tp + tn) / total at threshold 0.5; 0.0 before any update."""

    name = "accuracy"

    def result(self):
        total = self.tp + self.tn + self.fp + self.fn
        return (self.tp + self.tn) / total if total else 0.0


class StreamingPrecision(_StreamingCounts):
    """tp / (tp + fp) at threshold 0.5; 0.0 when nothing was predicted positive."""

    name = "precision"

    def result(self):
        d = self.tp + self.fp
        return self.tp / d if d else 0.0


class StreamingRecall(_StreamingCounts):
    """tp / (tp + fn) (sensitivity) at threshold 0.5; 0.0 when no positive was seen."""

    name = "recall"

    def result(self):
        d = self.tp + self.fn
        return self.tp / d if d else 0.0


class StreamingAUC(_Streaming):
    """Exact ROC AUC over the epoch: keeps every (label, score) pair it is given.

    An epoch holds at most a few thousand examples, so storing them costs little
    and avoids the error of the binned approximation Keras uses. ``result()`` is
    ``nan`` while only one class has been seen (AUC is undefined there), so that
    ``fit`` shows ``nan`` instead of stopping.
    """

    name = "auc"

    def reset(self):
        self._y = []
        self._p = []

    def update(self, y_true, y_prob):
        y, p = self._batch(y_true, y_prob)
        self._y.append(y)
        self._p.append(p)

    def result(self):
        if not self._y:
            return float("nan")
        y = np.concatenate(self._y)
        n_pos = int(y.sum())
        if n_pos == 0 or n_pos == y.shape[0]:
            return float("nan")
        return roc_auc(y, np.concatenate(self._p))


_STREAMING = {cls.name: cls for cls in
              (StreamingAccuracy, StreamingAUC, StreamingPrecision, StreamingRecall)}


def get_streaming_metric(name_or_obj):
    """A fresh streaming metric from its name, or ``name_or_obj`` itself if it is one.

    Valid names: "accuracy", "auc", "precision", "recall". An object passes
    through when it has ``name``, ``reset``, ``update`` and ``result``.
    """
    if isinstance(name_or_obj, str):
        key = name_or_obj.lower()
        if key not in _STREAMING:
            raise ValueError(f"unknown metric {name_or_obj!r}; valid names: "
                             f"{sorted(_STREAMING)} (or an object with name, reset, update, result)")
        return _STREAMING[key]()
    if all(hasattr(name_or_obj, a) for a in ("name", "reset", "update", "result")):
        return name_or_obj
    raise ValueError(f"metric {name_or_obj!r} is neither a name in {sorted(_STREAMING)} "
                     "nor an object with name, reset(), update(y_true, y_prob) and result()")


# =====================================================================================
# More than two classes
# =====================================================================================
# K classes numbered 0..K-1. ``y_true`` holds integer labels, shape (N,) or (N, 1), or
# one-hot rows (N, K); ``y_pred`` integer predictions (N,); ``y_score`` one row of K
# scores per example (N, K): probabilities, logits, anything where larger means "more
# likely this class". Predictions from scores are ``y_score.argmax(axis=1)``.
#
# Conventions, the same as the binary ones above and as scikit-learn's (so numbers
# can be compared: ``labels=range(K)``, ``zero_division=0``):
#
# * ``multiclass_confusion_matrix[i, j]`` counts examples of true class i predicted j.
# * Per-class figures treat class k as "positive" and every other class as "negative"
#   (one-vs-rest). A ratio whose denominator is zero is 0.0: the sensitivity of a class
#   absent from ``y_true``, the precision of a class never predicted.
# * Macro averages are plain means over ALL K classes, so an absent class pulls the
#   macro F1 down with its 0.0 (as scikit-learn's with ``labels=range(K)``); weighted
#   averages weight each class by its number of true examples, so an absent one counts 0.
# * K is ``num_classes`` when given, else ``y_score.shape[1]`` (or the one-hot
#   columns), else 1 + the largest label seen. Pass ``num_classes`` when a class may be missing from both arrays.
# * One-vs-rest ROC curves and AUC are undefined for a class absent from ``y_true`` (or
#   holding every example): ValueError naming the class, as ``roc_auc`` does for one
#   class. ``StreamingMacroAUC`` returns nan instead, so ``fit`` never stops on it.

__all__ += [
    "multiclass_confusion_matrix", "multiclass_accuracy", "per_class_sensitivity",
    "per_class_recall", "per_class_specificity", "per_class_precision", "per_class_f1",
    "macro_f1", "weighted_f1", "one_vs_rest_roc_curves", "one_vs_rest_roc_auc", "macro_roc_auc",
    "top_k_accuracy", "StreamingCategoricalAccuracy", "StreamingSparseCategoricalAccuracy",
    "StreamingMacroAUC",
]


def _class_labels(y, name, num_classes=None, allow_one_hot=False):
    """Integer class labels (N,) int64 from (N,), (N, 1) or one-hot (N, K); ValueError naming ``name``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and allow_one_hot:
        ok = (np.issubdtype(y.dtype, np.number) or y.dtype == bool) and y.size \
            and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        if not ok:
            raise ValueError(f"{name}: a 2-D {name} must be one-hot rows (a single 1 per row), "
                             f"got shape {y.shape}; or pass integer labels of shape (N,)")
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(f"{name}: one-hot rows have {y.shape[1]} columns but there are "
                             f"{num_classes} classes")
        return np.argmax(y, axis=1).astype(np.int64)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected integer labels of shape (N,) or (N, 1)"
                         f"{' or one-hot (N, K)' if allow_one_hot else ''}, got {y.shape}")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if num_classes is not None:
        bad |= y >= num_classes
    if bad.any():
        allowed = f"0..{num_classes - 1}" if num_classes is not None else "0, 1, 2, ..."
        raise ValueError(f"{name}: class labels must be whole numbers in {allowed}, "
                         f"found {np.unique(y[bad])[:5].tolist()}")
    return y.astype(np.int64)


def _class_scores(y_score, name="y_score"):
    """(N, K) float64 scores without NaN, K >= 2; ValueError naming ``name``."""
    s = np.asarray(y_score)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"{name}: expected one row of K >= 2 class scores per example, shape "
                         f"(N, K), got {s.shape}" + ("; for one score per example use the binary "
                                                      "functions (roc_auc, ...)" if s.ndim == 1 or
                                                      (s.ndim == 2 and s.shape[1] == 1) else ""))
    return _numeric_without_nan(s, name)


def _num_classes(num_classes, *label_arrays):
    if num_classes is None:
        return int(max(int(a.max()) for a in label_arrays)) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return int(num_classes)


def _labels_and_predictions(y_true, y_pred, num_classes):
    if num_classes is not None:
        _num_classes(num_classes)                        # validate before using it
    elif np.ndim(y_true) == 2 and np.shape(y_true)[1] > 1:
        num_classes = np.shape(y_true)[1]                # one-hot rows say how many classes
    y = _class_labels(y_true, "y_true", num_classes, allow_one_hot=True)
    p = _class_labels(y_pred, "y_pred", num_classes)
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true has {y.shape[0]} entries but y_pred has {p.shape[0]}; "
                         "they must have the same length")
    if y.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty")
    return y, p, _num_classes(num_classes, y, p)


def _labels_and_class_scores(y_true, y_score):
    s = _class_scores(y_score)
    y = _class_labels(y_true, "y_true", s.shape[1], allow_one_hot=True)
    if y.shape[0] != s.shape[0]:
        raise ValueError(f"y_true has {y.shape[0]} entries but y_score has {s.shape[0]} rows; "
                         "they must have the same length")
    if y.shape[0] == 0:
        raise ValueError("y_true and y_score are empty")
    return y, s


def multiclass_confusion_matrix(y_true, y_pred, num_classes=None):
    """K x K counts: entry [i, j] is the number of examples of class i predicted as j.

    Rows are the truth, columns the prediction (scikit-learn's ``confusion_matrix`` with
    ``labels=range(K)``); the diagonal holds the right answers and the matrix sums to N.
    For K = 2 it equals the binary ``confusion_matrix`` ``[[tn, fp], [fn, tp]]``.

    Returns
    -------
    ndarray (K, K) of int64
    """
    y, p, k = _labels_and_predictions(y_true, y_pred, num_classes)
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
    may hold every example (see the section's conventions).

    Returns
    -------
    list of K tuples ``(fpr, tpr, thresholds)``
    """
    y, s = _labels_and_class_scores(y_true, y_score)
    k = s.shape[1]
    _each_class_present(y, k, "the one-vs-rest ROC curve")
    return [roc_curve((y == c).astype(np.int64), s[:, c]) for c in range(k)]


def one_vs_rest_roc_auc(y_true, y_score):
    """AUC of each class against the rest, exact (``roc_auc``'s rank statistic, ties half).

    Returns ndarray (K,); ValueError for a class absent from ``y_true``.
    """
    y, s = _labels_and_class_scores(y_true, y_score)
    k = s.shape[1]
    _each_class_present(y, k, "the one-vs-rest ROC AUC")
    return np.array([roc_auc((y == c).astype(np.int64), s[:, c]) for c in range(k)])


def macro_roc_auc(y_true, y_score):
    """Mean of the K one-vs-rest AUCs (scikit-learn's ``multi_class="ovr", average="macro"``).

    scikit-learn also demands that each row of scores sums to 1; the AUC of class k
    depends only on the order of column k, so any scores work here (logits too).
    """
    return float(np.mean(one_vs_rest_roc_auc(y_true, y_score)))


def top_k_accuracy(y_true, y_score, k=5):
    """Fraction of examples whose true class is among the ``k`` highest scores.

    An example counts when fewer than k classes score STRICTLY higher than its true
    class, so a tie at the boundary counts in its favour (TensorFlow's ``in_top_k``
    rule; scikit-learn breaks such ties by class index instead: the two agree whenever
    the scores of an example are distinct). ``k`` >= the number of classes gives 1.0;
    ``k=1`` is the accuracy of ``argmax`` predictions when there are no ties.
    """
    y, s = _labels_and_class_scores(y_true, y_score)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k_accuracy: k must be an integer >= 1, got {k!r}")
    true_score = s[np.arange(y.shape[0]), y]
    higher = np.sum(s > true_score[:, None], axis=1)
    return float(np.mean(higher < k))


class StreamingCategoricalAccuracy(_Streaming):
    """argmax accuracy over the epoch for K-class probabilities (or logits) (B, K).

    ``update(y_true, y_prob)`` takes integer labels (B,) / (B, 1) or one-hot rows
    (B, K), so it serves both Keras names, "categorical_accuracy" (one-hot) and
    "sparse_categorical_accuracy" (integers). ``result()`` is 0.0 before any update.
    """

    name = "categorical_accuracy"


    def reset(self):
        self.correct = self.total = 0

    def update(self, y_true, y_prob):
        y, s = _labels_and_class_scores(y_true, y_prob)
        self.correct += int(np.count_nonzero(np.argmax(s, axis=1) == y))
        self.total += int(y.shape[0])

    def result(self):
        return self.correct / self.total if self.total else 0.0


class StreamingSparseCategoricalAccuracy(StreamingCategoricalAccuracy):
    """``StreamingCategoricalAccuracy`` under Keras's name for integer labels."""

    name = "sparse_categorical_accuracy"


class StreamingMacroAUC(_Streaming):
    """Exact macro one-vs-rest AUC over the epoch (keeps every label and score row).

    ``result()`` is nan while some class is missing from the labels seen (or holds all
    of them), as ``StreamingAUC`` for one class, so that ``fit`` shows nan instead of
    stopping.
    """

    name = "macro_auc"


    def reset(self):
        self._y = []
        self._s = []

    def update(self, y_true, y_prob):
        y, s = _labels_and_class_scores(y_true, y_prob)
        self._y.append(y)
        self._s.append(s)

    def result(self):
        if not self._y:
            return float("nan")
        y, s = np.concatenate(self._y), np.concatenate(self._s)
        counts = np.bincount(y, minlength=s.shape[1])
        if (counts == 0).any() or (counts == y.shape[0]).any():
            return float("nan")
        return macro_roc_auc(y, s)


# Keras's names for the K-class metrics (compile(metrics=[...])).
_STREAMING.update({"categorical_accuracy": StreamingCategoricalAccuracy,
                   "sparse_categorical_accuracy": StreamingSparseCategoricalAccuracy,
                   "macro_auc": StreamingMacroAUC})
