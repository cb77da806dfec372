"""Streaming metrics: the per-epoch figures ``fit`` and ``evaluate`` report, batch by batch.

Each is a small object: ``reset()`` at the start of an epoch, ``update(y_true, y_prob)``
after each batch, ``result()`` for the value over everything seen since the reset.
``compile(metrics=[...])`` names them as Keras does ("accuracy", "auc", "precision",
"recall" for one output unit; "categorical_accuracy", "sparse_categorical_accuracy",
"macro_auc" for K), and ``get_streaming_metric`` turns a name into a fresh object.

The counting metrics keep four confusion counts, so an epoch's value is exactly the
batch function's on the whole epoch. The AUCs keep every (label, score) they are given
and compute the exact AUC; where it is undefined (one class seen so far) ``result()``
is nan, so a training run is never stopped by a batch of one class.
"""

import numpy as np

from .auc import roc_auc
from .checks import labels_and_scores
from .class_checks import labels_and_class_scores
from .one_vs_rest import macro_roc_auc

__all__ = ["get_streaming_metric", "StreamingAccuracy", "StreamingPrecision", "StreamingRecall",
           "StreamingAUC", "StreamingCategoricalAccuracy", "StreamingSparseCategoricalAccuracy",
           "StreamingMacroAUC"]


# --- binary: one probability per example ----------------------------------------------
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
        y, p = labels_and_scores(y_true, y_prob, "y_prob")
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


# --- K classes: one row of K probabilities (or logits) per example ----------------------
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
        y, s = labels_and_class_scores(y_true, y_prob)
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
        y, s = labels_and_class_scores(y_true, y_prob)
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


# --- names, as compile(metrics=[...]) takes them ----------------------------------------
_STREAMING = {cls.name: cls for cls in
              (StreamingAccuracy, StreamingAUC, StreamingPrecision, StreamingRecall,
               StreamingCategoricalAccuracy, StreamingSparseCategoricalAccuracy, StreamingMacroAUC)}


def get_streaming_metric(name_or_obj):
    """A fresh streaming metric from its name, or ``name_or_obj`` itself if it is one.

    Valid names (case-insensitive): "accuracy", "auc", "precision", "recall" (one
    probability per example) and "categorical_accuracy", "sparse_categorical_accuracy",
    "macro_auc" (K classes). An object passes through when it has ``name``, ``reset``,
    ``update`` and ``result``.
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
