"""Metrics for a binary screen, judged the way a clinician would judge it.

Every function takes NumPy arrays: ``y_true`` holds labels in {0, 1} (1 = the
condition, e.g. pneumonia), ``y_score`` / ``y_prob`` hold one score per example
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

    def __init__(self):
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
