"""The batch adapter: whatever ``fit``, ``evaluate`` and ``predict`` are given, as batches.

Two kinds of input become one stream of ``(images, labels, weights)`` batches:

* arrays: images ``x`` (N, H, W, C) with labels ``y`` (N,) or (N, 1) and optional
  ``sample_weight`` (N,), cut into batches of ``batch_size`` (the last one smaller) and,
  with ``shuffle``, reordered each epoch by ONE permutation of all three, so every image
  keeps its label;
* a dataset: any iterable of batches that has ``len()``, each batch ``(images, labels)``
  or ``(images, labels, sample_weight)`` (or images alone, for ``predict``). It is
  iterated once per epoch and shuffles itself; its iterator is closed at the end of the
  pass, also when the pass is cut short (a prefetching dataset then stops its thread).

Everything about the data is settled here, once, so the training loop only sees
batches: images and labels are cast to the model's dtype (no scaling: divide uint8
images by 255 yourself, or let the dataset do it), and ``class_weight`` ``{class:
weight}`` is folded into the weights, ``weight = class_weight[class] * sample_weight``,
where an example's class is its label, or the argmax of a one-hot row (B, K) as Keras
reads it.

Labels are checked before any of them reaches a training step, by the model's rule
(``check_labels``, from ``minicnn.targets``): an array ``y`` all at once when the
adapter is made, the error naming ``y``; a dataset's labels batch by batch as they
come, the error naming the epoch (the pass) and the step of the first bad batch. Either
way no update has used them.
"""

import contextlib
import math
import numbers

import numpy as np

__all__ = ["Batches"]


class Batches:
    """Batches of ``(images, labels, weights)``, one pass per ``iter()``; ``len()`` is the steps.

    Parameters
    ----------
    x : array (N, ...) or iterable of batches with len()
    y, sample_weight : arrays, optional
        Only with an array ``x``.
    batch_size : int
        For arrays; a dataset keeps its own batches.
    shuffle : bool
        Reorder arrays each pass with ``rng`` (a ``numpy.random.Generator``).
    class_weight : dict, optional
        ``{label: weight}`` multiplied into every example's weight.
    dtype : numpy dtype
        Images, labels and weights are cast to it.
    example_shape : tuple, optional
        The shape of one example the model takes: an ``x`` of exactly that shape (one
        example without its batch axis) gets a hint.
    what : str
        Names the caller in error messages (``"fit"``, ``"evaluate"`` ...).
    need_labels : bool
        Refuse data without labels (training and evaluation need them).
    check_labels : callable, optional
        ``check_labels(y, name)`` raises ValueError (its message starting with ``name``)
        when labels ``y`` do not fit the model; see the module docstring.
    name_epochs : bool
        Errors about a dataset batch name the epoch (this adapter's pass) as well as
        the step: for ``fit``'s data, iterated once per epoch.

    ``labels`` and ``weights`` in a batch may be None. ``batch_size`` is None for a dataset.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None,
                 class_weight=None, dtype=np.float32, example_shape=None, what="fit",
                 need_labels=True, check_labels=None, name_epochs=False):
        self.what, self.need_labels, self.dtype = what, need_labels, np.dtype(dtype)
        self.class_weight = _checked_class_weight(class_weight, what)
        self.check_labels, self.name_epochs = check_labels, name_epochs
        self.passes = 0  # passes started: the epoch, for fit's data
        if isinstance(x, np.ndarray) or y is not None:
            self._arrays(x, y, sample_weight, batch_size, example_shape)
            self.shuffle, self.rng = shuffle, rng
        else:
            self._dataset(x, sample_weight)

    def __len__(self):
        return self.steps

    # --- the two sources -----------------------------------------------------------------
    def _arrays(self, x, y, sample_weight, batch_size, example_shape):
        what = self.what
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError(f"{what}: x must be an array of examples, got a scalar")
        if example_shape is not None and x.shape == tuple(example_shape):
            raise ValueError(f"{what}: x has the shape of ONE example {x.shape}; the model "
                             f"takes a batch (N, {', '.join(map(str, x.shape))}): use x[None]")
        n = x.shape[0]
        if self.need_labels and y is None:
            raise ValueError(f"{what}: x is an array, so y (the labels) is required")
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or y.shape[0] != n:
                raise ValueError(f"{what}: x has {n} examples but y has shape {y.shape}")
            if self.check_labels is not None:
                self.check_labels(y, f"{what}: y")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight).reshape(-1)
            if sample_weight.shape[0] != n:
                raise ValueError(f"{what}: x has {n} examples but sample_weight has "
                                 f"{sample_weight.shape[0]}")
        if int(batch_size) < 1:
            raise ValueError(f"{what}: batch_size must be >= 1, got {batch_size}")
        self.source, self.arrays = "arrays", (x, y, sample_weight)
        self.batch_size = int(batch_size)
        self.steps = math.ceil(n / self.batch_size)

    def _dataset(self, dataset, sample_weight):
        if not (hasattr(dataset, "__iter__") and hasattr(dataset, "__len__")):
            raise ValueError(f"{self.what}: x must be an array of images (with y) or an iterable "
                             f"of (images, labels) batches that has len(); got "
                             f"{type(dataset).__name__}")
        if sample_weight is not None:
            raise ValueError(f"{self.what}: with a dataset, put sample weights in the batches "
                             "as (images, labels, sample_weight)")
        self.source, self.dataset = "dataset", dataset
        self.batch_size, self.steps = None, len(dataset)

    def generators(self):
        """The random generators this data draws from, by name (what a backup must save):
        ``{"shuffle": rng}`` for shuffled arrays; for a dataset, those its own
        ``generators()`` method returns (prefixed ``"data."``), if it has one."""
        if self.source == "arrays":
            return {"shuffle": self.rng} if self.shuffle and self.rng is not None else {}
        own = getattr(self.dataset, "generators", None)
        return {f"data.{name}": rng for name, rng in own().items()} if callable(own) else {}

    @property
    def epochs_started(self):
        """A dataset's count of started epochs (its shuffling state), or None (arrays, or a
        dataset without ``epochs_started``); settable when it is not None."""
        if self.source == "dataset":
            return getattr(self.dataset, "epochs_started", None)
        return None

    @epochs_started.setter
    def epochs_started(self, value):
        self.dataset.epochs_started = value

    # --- one pass ------------------------------------------------------------------------
    def __iter__(self):
        self.passes += 1
        raw = self._array_batches() if self.source == "arrays" else self._dataset_batches()
        with contextlib.closing(raw):
            for images, labels, weights in raw:
                yield self._cast(images, labels, weights)

    def _array_batches(self):
        x, y, w = self.arrays
        order = self.rng.permutation(len(x)) if self.shuffle else None
        for start in range(0, len(x), self.batch_size):
            index = (order[start:start + self.batch_size] if order is not None
                     else slice(start, start + self.batch_size))
            yield x[index], None if y is None else y[index], None if w is None else w[index]

    def _dataset_batches(self):
        iterator = iter(self.dataset)
        try:
            for i, batch in enumerate(iterator):
                yield self._unpack(i, batch)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _unpack(self, i, batch):
        if isinstance(batch, np.ndarray):
            images, labels, weights = batch, None, None
        elif isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
            images, labels = batch[0], batch[1]
            weights = batch[2] if len(batch) == 3 else None
        else:
            raise ValueError(f"{self.what}: batch {i} of the dataset is a {type(batch).__name__}; "
                             "expected (images, labels) or (images, labels, sample_weight)")
        if self.need_labels and labels is None:
            raise ValueError(f"{self.what}: batch {i} of the dataset has no labels")
        if labels is not None and self.check_labels is not None:
            # Before this batch reaches a step: the update of a bad batch never happens.
            where = f"epoch {self.passes}, step {i + 1}" if self.name_epochs else f"batch {i + 1}"
            self.check_labels(labels, f"{self.what}: the labels at {where}/{self.steps}")
        return images, labels, weights

    def _cast(self, images, labels, weights):
        images = np.asarray(images, dtype=self.dtype)
        if labels is not None:
            labels = np.asarray(labels, dtype=self.dtype)
        if weights is not None:
            weights = np.asarray(weights, dtype=self.dtype).reshape(-1)
        if self.class_weight is not None and labels is not None:
            one_hot = labels.ndim == 2 and labels.shape[1] > 1
            per_class = self._class_weights(labels.argmax(axis=1) if one_hot else labels.reshape(-1))
            weights = per_class if weights is None else per_class * weights
        return images, labels, weights

    def _class_weights(self, labels):
        """``class_weight[label]`` for every label (B,), in the model dtype: shape (B,)."""
        weights = np.full(labels.shape, np.nan, dtype=self.dtype)
        for label, weight in self.class_weight.items():
            weights[labels == label] = weight
        if np.isnan(weights).any():
            missing = np.unique(labels[np.isnan(weights)]).tolist()
            raise ValueError(f"{self.what}: class_weight {self.class_weight} has no weight for "
                             f"label(s) {missing}")
        return weights


def _checked_class_weight(class_weight, what):
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise ValueError(f"{what}: class_weight must be a dict {{label: weight}}, got {class_weight!r}")
    bad = {k: v for k, v in class_weight.items()
           if not (isinstance(v, (numbers.Real, np.number)) and math.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"{what}: class weights must be finite numbers >= 0, got {bad}")
    return class_weight
