"""What a model's output means, and which labels fit it: one unit (binary) or K units (K classes).

``Sequential`` asks this module four questions about its head, the last layer's output
of ``output_shape``:

* how many classes? ``num_classes(output_shape)``: 1 for ``(1,)`` (a binary model, one
  logit per example), K for ``(K,)`` with K >= 2, None for anything else (image-shaped
  outputs are treated element by element, as a binary model's);
* how do outputs become probabilities? ``probabilities``: the sigmoid of one logit,
  p = 1 / (1 + exp(-z)); the softmax of K logits, p_k = exp(z_k) / sum_j exp(z_j), so
  each row sums to 1; nothing when the model already ends in a ``Sigmoid`` or
  ``Softmax`` layer;
* which labels fit? ``check_labels``, below;
* which metric does a name mean? ``streaming_metric``: ``"accuracy"`` and ``"auc"`` are
  the binary ones for one unit and the argmax accuracy and the macro one-vs-rest AUC
  for K units, under the same names (so ``history.history["auc"]`` reads the same).

Labels
------
================================  ======================================================
head and loss                     labels ``y`` (N examples)
================================  ======================================================
one unit, BinaryCrossEntropy      (N,) or (N, 1), values in [0, 1]: 0/1, or soft labels
                                  (y = 0.8 is the cross-entropy against a coin that
                                  lands 1 with probability 0.8, which the fused loss
                                  computes exactly, as Keras's does)
K units, sparse categorical       (N,) or (N, 1), whole numbers 0..K-1
K units, categorical              (N, K), each row a distribution: entries >= 0 that sum
                                  to 1 (one-hot rows, or soft labels)
any head, another loss object     the shapes above; values are the loss's business
================================  ======================================================

Metrics ask for more: the binary ones count labels 0 and 1, so with ``"accuracy"``,
``"auc"``, ``"precision"`` or ``"recall"`` a binary model needs labels exactly 0 or 1
(soft labels are refused); the K-class ones need integers or one-hot rows. The labels
are checked BEFORE the first update (``minicnn.batches.Batches``): an array ``y`` all at
once, a dataset batch by batch, naming the epoch and step of the first bad one. A label
2 on a binary model, -1/1 labels, 0.5 where it is not allowed or a class number >= K
would otherwise train (the loss computes SOMETHING for them) and be found, if at all,
after the weights had moved.
"""

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from .layers.activations import stable_sigmoid
from .layers.softmax import stable_softmax

__all__ = ["num_classes", "head", "probabilities", "check_labels", "streaming_metric"]

# The layers after which a model's outputs already are probabilities.
PROBABILITY_LAYERS = ("Sigmoid", "Softmax")

# A one-hot or soft row may sum to 1 up to float32 rounding of its entries.
ROW_SUM_TOLERANCE = 1e-4


def num_classes(output_shape):
    """1 for a one-unit output (binary), K for ``(K,)`` with K >= 2, else None."""
    output_shape = tuple(output_shape)
    return int(output_shape[0]) if len(output_shape) == 1 else None


def head(model):
    """What turns ``model``'s outputs into probabilities: None, ``"sigmoid"`` or ``"softmax"``.

    None when the last layer is a ``Sigmoid`` or ``Softmax`` (its outputs already are);
    ``"softmax"`` for K >= 2 output units or a loss that says it was trained on softmax
    logits (``loss.activation == "softmax"``); ``"sigmoid"`` otherwise. ``predict`` and
    the ONNX export both ask this function, so they cannot disagree.
    """
    if model.outputs_probabilities:
        return None
    k = num_classes(model.output_shape)
    if (k is not None and k > 1) or getattr(model.loss, "activation", None) == "softmax":
        return "softmax"
    return "sigmoid"


def probabilities(model, outputs):
    """``outputs`` (B, ...) as probabilities, by ``head(model)``; same shape and dtype."""
    kind = head(model)
    if kind is None:
        return outputs
    return stable_softmax(outputs) if kind == "softmax" else stable_sigmoid(outputs)


# --- labels ---------------------------------------------------------------------------
def _is_binary_metric(metric):
    return isinstance(metric, (metrics_module.StreamingAccuracy, metrics_module.StreamingAUC,
                               metrics_module.StreamingPrecision, metrics_module.StreamingRecall))


def _is_class_metric(metric):
    return isinstance(metric, (metrics_module.StreamingCategoricalAccuracy,
                               metrics_module.StreamingMacroAUC))


def _found(values):
    """The first few distinct offending values, for a message."""
    return np.unique(values)[:5].tolist()


def check_labels(y, output_shape, loss, metrics=(), name="y"):
    """Raise ValueError (starting with ``name``) unless labels ``y`` fit the model; see the module docstring.

    ``y`` holds the labels of N examples; ``output_shape`` is the model's, without the
    batch axis; ``loss`` and ``metrics`` are what ``compile`` chose. Returns None.
    """
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"{name}: labels must be numbers, got dtype {y.dtype}")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if y.ndim == 0:
        raise ValueError(f"{name}: expected one label per example, got a scalar")
    finite = np.isfinite(y)
    if not finite.all():
        raise ValueError(f"{name}: labels must be finite, found {_found(y[~finite])} at "
                         f"{int((~finite).sum())} position(s)")
    k = num_classes(output_shape)
    n = y.shape[0]
    column = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    if k is None or k == 1:
        _check_binary(y, column, n, k, loss, metrics, name)
    else:
        _check_classes(y, column, n, k, loss, metrics, name)


def _check_binary(y, column, n, k, loss, metrics, name):
    if k == 1 and not column:
        hint = (f"; {y.shape[1]} columns look like one-hot rows of {y.shape[1]} classes: end "
                f"the model in Dense({y.shape[1]}) and use categorical_crossentropy"
                if y.ndim == 2 else "")
        raise ValueError(f"{name}: a model with one output unit (binary) takes one label per "
                         f"example, shape ({n},) or ({n}, 1); got {y.shape}{hint}")
    hard = [m.name for m in metrics if _is_binary_metric(m)]
    soft_allowed = isinstance(loss, losses_module.BinaryCrossEntropy) and not hard
    if soft_allowed:
        bad = (y < 0) | (y > 1)
        rule = "in [0, 1] (0/1, or soft labels)"
    elif isinstance(loss, losses_module.BinaryCrossEntropy) or hard:
        bad = (y != 0) & (y != 1)
        rule = "0 or 1" + (f" (the metric(s) {hard} count 0s and 1s; soft labels in [0, 1] "
                           "train only without them)" if hard else "")
    else:
        return  # another loss object decides what its labels mean
    if bad.any():
        found = _found(y[bad])
        hint = ""
        if any(v == -1 for v in found):
            hint = "; labels -1/1? map them to 0/1: y = (y + 1) / 2"
        elif all(v == round(v) and v > 1 for v in found):
            hint = (f"; class numbers up to {int(y.max())}: for K classes end the model in "
                    f"Dense(K) and use sparse_categorical_crossentropy")
        raise ValueError(f"{name}: labels of a binary model (one output unit) must be {rule}; "
                         f"found {found}{hint}")


def _check_classes(y, column, n, k, loss, metrics, name):
    sparse_loss = isinstance(loss, losses_module.SparseCategoricalCrossEntropy)
    dense_loss = isinstance(loss, losses_module.CategoricalCrossEntropy)
    one_hot_shape = y.shape == (n, k)
    if not (column or one_hot_shape):
        raise ValueError(f"{name}: a model with {k} output units takes integer labels of shape "
                         f"({n},) or ({n}, 1) or one-hot rows ({n}, {k}); got {y.shape}")
    if sparse_loss and not column:
        raise ValueError(f"{name}: SparseCategoricalCrossEntropy takes integer labels of shape "
                         f"({n},) or ({n}, 1), got {y.shape}; for one-hot rows use "
                         "categorical_crossentropy")
    if dense_loss and not one_hot_shape:
        raise ValueError(f"{name}: CategoricalCrossEntropy takes one-hot rows of shape ({n}, {k}), "
                         f"got {y.shape}; for integer labels 0..{k - 1} use "
                         "sparse_categorical_crossentropy")
    class_metrics = [m.name for m in metrics if _is_class_metric(m)]
    if column:
        labels = y.reshape(n)
        bad = (labels < 0) | (labels >= k) | (labels != np.round(labels))
        if bad.any():
            raise ValueError(f"{name}: class labels of a model with K = {k} output units must be "
                             f"whole numbers in 0..{k - 1}, found {_found(labels[bad])}")
        return
    if not (dense_loss or class_metrics):
        return  # another loss object decides what its rows mean
    sums = y.sum(axis=1)
    bad_rows = (y < 0).any(axis=1) | (np.abs(sums - 1) > ROW_SUM_TOLERANCE)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        raise ValueError(f"{name}: each row of categorical labels must be a distribution over "
                         f"the {k} classes (entries >= 0 that sum to 1: one-hot, or soft "
                         f"labels); row {i} is {y[i].tolist()}, found {int(bad_rows.sum())} "
                         "such row(s)")
    if class_metrics:
        soft = ~np.isin(y, (0, 1)).all(axis=1)
        if soft.any():
            i = int(np.flatnonzero(soft)[0])
            raise ValueError(f"{name}: the metric(s) {class_metrics} need one-hot rows (or "
                             f"integer labels); row {i} is the soft label {y[i].tolist()}. Soft "
                             "labels train with CategoricalCrossEntropy without these metrics")


# --- metrics --------------------------------------------------------------------------
_BINARY_ONLY = ("precision", "recall")
_CLASS_ONLY = ("categorical_accuracy", "sparse_categorical_accuracy", "macro_auc")


def streaming_metric(metric, output_shape, loss):
    """The streaming metric ``compile(metrics=[metric])`` means for this head.

    One unit: ``minicnn.metrics.get_streaming_metric`` (the binary ones). K units:
    ``"accuracy"`` is the argmax accuracy (the sparse twin for
    ``SparseCategoricalCrossEntropy``) and ``"auc"`` the macro one-vs-rest AUC, both
    under those names; ``"precision"`` and ``"recall"`` are refused (a K-class model
    has no one positive class). Metric objects pass through.
    """
    if not isinstance(metric, str):
        return metrics_module.get_streaming_metric(metric)
    key = metric.lower()
    k = num_classes(output_shape)
    if k is None or k == 1:
        if key in _CLASS_ONLY:
            raise ValueError(f"metric {metric!r} is for K >= 2 classes, but the model has one "
                             "output unit (binary): use 'accuracy' or 'auc'")
        return metrics_module.get_streaming_metric(key)
    if key == "accuracy":
        if isinstance(loss, losses_module.SparseCategoricalCrossEntropy):
            return metrics_module.StreamingSparseCategoricalAccuracy(name="accuracy")
        return metrics_module.StreamingCategoricalAccuracy(name="accuracy")
    if key == "auc":
        return metrics_module.StreamingMacroAUC(name="auc")
    if key in _BINARY_ONLY:
        raise ValueError(f"metric {metric!r} is binary (one positive class), but the model has "
                         f"{k} output units; use 'accuracy' or 'auc' during training, and "
                         f"minicnn.metrics.per_class_{key if key == 'precision' else 'sensitivity'}"
                         f"(y, model.predict(x).argmax(axis=1), {k}) for each class afterwards")
    return metrics_module.get_streaming_metric(key)
