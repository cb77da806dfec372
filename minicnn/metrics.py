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
    "roc_auc", "get_streaming_metric", "StreamingAccuracy",
    "StreamingPrecision", "StreamingRecall", "StreamingAUC",
]


# --- input checks --------------------------------------------------------------------
def _as_labels(y, name="y_true"):
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


def _as_scores(s, name="y_score"):
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


def _check_pair(a, b, name_a, name_b):
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} entries but {name_b} has {b.shape[0]}; "
                         "they must have the same length")
    if a.shape[0] == 0:
        raise ValueError(f"{name_a} and {name_b} are empty")


def _labels_and_scores(y_true, y_score, score_name="y_score"):
    y = _as_labels(y_true, "y_true")
    s = _as_scores(y_score, score_name)
    _check_pair(y, s, "y_true", score_name)
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
