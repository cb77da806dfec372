"""Binary cross-entropy with the sigmoid fused in: one numerically stable expression.

Why fuse? A model that ends in ``Dense(1)`` outputs a logit z; the probability of the
positive class is p = sigmoid(z) and the loss for a label y in [0, 1] is

    l = -[ y log p + (1 - y) log(1 - p) ].

Computed in that order it breaks: for z = -100, ``exp(-z)`` inside the sigmoid overflows
float32 (it does below z = -88.7), so p = 1 / (1 + inf) = 0 and log(0) = -inf. Written in z
it cannot: with softplus(t) = log(1 + exp(t)), -log sigmoid(z) = softplus(-z) and
-log(1 - sigmoid(z)) = softplus(z), so

    l = (1 - y) softplus(z) + y softplus(-z),     softplus(+-z) = max(+-z, 0) + log1p(exp(-|z|)),

where ``exp(-|z|)`` never exceeds 1. Its derivative is the famous dl/dz = sigmoid(z) - y.
``BinaryCrossEntropy`` below uses the same pieces, arranged so that nothing cancels.

For K > 2 classes the same idea fuses the softmax into the cross-entropy
(``CategoricalCrossEntropy`` for one-hot labels, ``SparseCategoricalCrossEntropy`` for
integer labels): l = logsumexp(z) - z_y, with the gradient softmax(z) - y. See
``docs/softmax.md`` for the derivation.
"""

import numbers

import numpy as np

from .layers.activations import stable_sigmoid
from .layers.softmax import stable_softmax

__all__ = ["BinaryCrossEntropy", "CategoricalCrossEntropy", "SparseCategoricalCrossEntropy", "get"]


class BinaryCrossEntropy:
    """Mean binary cross-entropy over a batch, on logits (default) or on probabilities.

    Per example (pos_weight scales the positive class's term):

        from_logits=True:   l = (1 - y) softplus(z) + pos_weight y softplus(-z)
                            softplus(+-z) = max(+-z, 0) + log1p(exp(-|z|))
                            dl/dz = (1 - y) sigmoid(z) - pos_weight y sigmoid(-z)
        from_logits=False:  p = clip(z, eps, 1 - eps), eps = 1e-7 (as Keras)
                            l = -[pos_weight y log p + (1 - y) log(1 - p)]
                            dl/dp = -pos_weight y / p + (1 - y) / (1 - p)   (0 where clipped)

    The logit form is the module docstring's formula with pos_weight. Its two softplus
    terms are >= 0, and so are the two parts of its gradient: adding them cancels
    nothing, for any z. (Rearrangements with a bare ``(1 - y) z`` term do cancel: for
    y = 0 and z = -9 they add -9 and 9.0001 to get 1e-4, keeping ~11 of 16 digits.)

    Batch loss L = sum_i w_i l_i / B ("sum over batch size", Keras's default reduction),
    w_i = ``sample_weight`` (default 1), so dL/dz_i = w_i dl_i/dz_i / B.

    Labels: y in [0, 1], 0/1 or soft (y = 0.8 is the cross-entropy against a target
    that is 1 with probability 0.8, as Keras allows; the formulas above hold for any y
    in [0, 1]). Labels outside [0, 1] are refused with a ValueError: -1/1 or a class 2
    would give a "loss" that is not a cross-entropy and can go below 0.

    Shapes: logits (B,) or (B, 1); y and sample_weight (B,) or (B, 1). Computation is
    in the logits' dtype (float32 stays float32). ``forward`` returns a Python float
    and keeps what ``backward()`` needs; ``backward()`` returns dL/dlogits with the
    logits' shape and dtype.

    Parameters
    ----------
    from_logits : bool
        True: inputs are logits (use with a final ``Dense(1)``, no Sigmoid).
        False: inputs are probabilities in [0, 1] (after a ``Sigmoid``).
    pos_weight : float > 0
        Weight of the positive class's term (> 1 favours sensitivity).
    """

    EPSILON = 1e-7  # clip for probabilities (Keras backend epsilon)

    def __init__(self, from_logits=True, pos_weight=1.0):
        if isinstance(pos_weight, bool) or not isinstance(pos_weight, numbers.Real) \
                or not np.isfinite(pos_weight) or pos_weight <= 0:
            raise ValueError(f"BinaryCrossEntropy: pos_weight must be a finite number > 0, got {pos_weight!r}")
        self.from_logits = bool(from_logits)
        self.pos_weight = float(pos_weight)
        self.name = "loss"  # the key of this value in History
        self._cache = None

    def get_config(self):
        return {"from_logits": self.from_logits, "pos_weight": self.pos_weight}

    def __repr__(self):
        return f"BinaryCrossEntropy(from_logits={self.from_logits}, pos_weight={self.pos_weight})"

    # --- input checks ---------------------------------------------------------------
    @staticmethod
    def _column(name, array, batch, dtype):
        """``array`` as a flat (batch,) vector of ``dtype``; ValueError if it cannot be."""
        array = np.asarray(array)
        if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1) or array.shape[0] != batch:
            raise ValueError(
                f"BinaryCrossEntropy: {name} must have shape ({batch},) or ({batch}, 1) to match "
                f"the logits, got {array.shape}"
            )
        return array.reshape(batch).astype(dtype, copy=False)

    def _prepare(self, logits, y, sample_weight):
        z = np.asarray(logits)
        if z.dtype not in (np.float32, np.float64):
            z = z.astype(np.float64)
        if z.ndim not in (1, 2) or (z.ndim == 2 and z.shape[1] != 1) or z.shape[0] == 0:
            raise ValueError(
                f"BinaryCrossEntropy: logits must have shape (batch,) or (batch, 1) with batch > 0, "
                f"got {z.shape}"
            )
        batch = z.shape[0]
        y = self._column("y (labels)", y, batch, z.dtype)
        outside = ~((y >= 0) & (y <= 1))  # NaN is outside too
        if outside.any():
            raise ValueError(f"BinaryCrossEntropy: y (labels) must be in [0, 1] (0/1, or soft "
                             f"labels), found {np.unique(y[outside])[:5].tolist()}")
        w = None if sample_weight is None else self._column("sample_weight", sample_weight, batch, z.dtype)
        return z, y, w

    # --- the loss -------------------------------------------------------------------
    def forward(self, logits, y, sample_weight=None):
        """Return the weighted batch mean of the per-example losses (a Python float)."""
        z, y, w = self._prepare(logits, y, sample_weight)
        shape, dtype = z.shape, z.dtype
        z = z.reshape(-1)
        pw = dtype.type(self.pos_weight)  # a scalar of the input's dtype: no float64 creeps in
        if self.from_logits:
            with np.errstate(under="ignore"):  # exp(-|z|) -> 0 for huge |z| is the right limit
                log1p_exp = np.log1p(np.exp(-np.abs(z)))  # in [0, log 2]: never overflows
            softplus_pos = np.maximum(z, 0) + log1p_exp   # softplus(z) = -log(1 - sigmoid(z))
            softplus_neg = np.maximum(-z, 0) + log1p_exp  # softplus(-z) = -log(sigmoid(z))
            losses = (1 - y) * softplus_pos + pw * y * softplus_neg
        else:
            eps = dtype.type(self.EPSILON)
            p = np.clip(z, eps, 1 - eps)
            losses = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
        if w is not None:
            losses *= w
        self._cache = (z, y, w, shape)
        return float(np.sum(losses) / z.size)

    __call__ = forward

    def backward(self):
        """dL/dlogits for the last ``forward``: the logits' shape and dtype."""
        if self._cache is None:
            raise RuntimeError("BinaryCrossEntropy: call forward before backward")
        z, y, w, shape = self._cache
        pw = z.dtype.type(self.pos_weight)
        if self.from_logits:
            grad = (1 - y) * stable_sigmoid(z) - pw * y * stable_sigmoid(-z)
        else:
            eps = z.dtype.type(self.EPSILON)
            p = np.clip(z, eps, 1 - eps)
            grad = (1 - y) / (1 - p) - pw * y / p
            grad[(z < eps) | (z > 1 - eps)] = 0  # the clip is flat there
        if w is not None:
            grad *= w
        grad /= z.size
        return grad.reshape(shape)


def log_softmax(z):
    """log softmax(z) along the last axis, stable for any finite logits.

        log softmax(z)_k = z_k - logsumexp(z) = (z_k - m) - log(sum_j exp(z_j - m)),   m = max_j z_j

    Both terms are <= 0 (z_k - m <= 0, and the sum holds exp(0) = 1 so its log is >= 0):
    adding them cancels nothing, and no exp can overflow. The textbook
    ``log(softmax(z))`` fails where the fused form does not: a probability that
    underflows to 0 (z_k - m < -104 in float32) gives log(0) = -inf.
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):  # exp(very negative) -> 0 is the right limit
        sum_exp = np.exp(shifted).sum(axis=-1, keepdims=True)
    return shifted - np.log(sum_exp)


def _number_in(owner, name, value, low, high):
    """``value`` as a float in [low, high], or ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
        raise ValueError(f"{owner}: {name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


class _SoftmaxCrossEntropy:
    """The cross-entropy of a softmax over K classes; subclasses say how labels look.

    Per example, with targets t (the labels, smoothed) and probabilities p:

        label smoothing:    t = y (1 - s) + s / K                       (Keras's rule)
        from_logits=True:   l = -sum_k t_k log softmax(z)_k              (see ``log_softmax``)
                              = (sum_k t_k) logsumexp(z) - sum_k t_k z_k
                            dl/dz = (sum_k t_k) softmax(z) - t   =   softmax(z) - t
                            (the second form when each row of t sums to 1, as one-hot
                            labels, smoothed or not, do)
        from_logits=False:  q = p / sum_k p_k, then clip(q, eps, 1 - eps), eps = 1e-7 (as Keras)
                            l = -sum_k t_k log q_k
                            dl/dp_j = (g_j - sum_k g_k q_k) / sum_k p_k,   g_k = -t_k / q_k
                            (g_k = 0 where q_k was clipped: the clip is flat there)

    Why fuse: softmax(z) - t is the whole gradient of softmax-then-log-loss; computing
    the softmax, its log and the Jacobian separately is slower, and ``log`` of a
    probability that underflowed to 0 is -inf. On logits the loss is finite for any
    finite z (logits of +-1e4 included) and raises no floating-point warning.

    Weights: example i counts w_i = class_weight[c_i] * sample_weight_i, where c_i is
    its class (the argmax of a one-hot row, as Keras's ``fit(class_weight=...)`` reads
    one-hot labels; the integer label for the sparse loss) and each factor defaults to 1.
    Batch loss L = sum_i w_i l_i / B ("sum over batch size", Keras's default reduction,
    as ``BinaryCrossEntropy``), so dL/dz_i = w_i dl_i/dz_i / B. torch's
    ``cross_entropy(weight=...)`` with its default mean reduction divides by sum_i w_i
    instead; ``reduction="sum"`` divided by B equals ours (with label smoothing torch
    also weights the smoothing term class by class, which Keras and we do not).

    Shapes: logits (B, K) with K >= 2; sample_weight (B,) or (B, 1). Computation is in
    the logits' dtype (float32 stays float32). ``forward`` returns a Python float and
    keeps what ``backward()`` needs; ``backward()`` returns dL/dlogits, shape (B, K).
    """

    EPSILON = 1e-7  # clip for probabilities (Keras backend epsilon)

    def __init__(self, from_logits=True, label_smoothing=0.0, class_weight=None):
        owner = type(self).__name__
        self.from_logits = bool(from_logits)
        self.label_smoothing = _number_in(owner, "label_smoothing", label_smoothing, 0.0, 1.0)
        self.class_weight = self._check_class_weight(owner, class_weight)
        self.name = "loss"  # the key of this value in History
        # What turns the model's outputs into probabilities (predict, the ONNX export's
        # head): a softmax on logits; nothing when the model already ends in a Softmax.
        self.activation = "softmax" if self.from_logits else None
        self._cache = None

    @staticmethod
    def _check_class_weight(owner, class_weight):
        if class_weight is None:
            return None
        if isinstance(class_weight, dict):
            keys = sorted(class_weight)
            if keys != list(range(len(keys))):
                raise ValueError(f"{owner}: class_weight as a dict needs the keys 0..K-1, got {keys}")
            class_weight = [class_weight[k] for k in keys]
        values = list(class_weight) if np.ndim(class_weight) == 1 else None
        if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                             or not np.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"{owner}: class_weight must be K finite numbers >= 0 (one per class, "
                             f"a list or {{class: weight}}), got {class_weight!r}")
        return [float(v) for v in values]

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "class_weight": self.class_weight}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # --- input checks ---------------------------------------------------------------
    def _targets(self, y, batch, k, dtype):
        """(targets (B, K) in ``dtype``, class index per example (B,) int64); subclasses."""
        raise NotImplementedError

    def _prepare(self, logits, y, sample_weight):
        owner = type(self).__name__
        z = np.asarray(logits)
        if z.dtype not in (np.float32, np.float64):
            z = z.astype(np.float64)
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
            raise ValueError(
                f"{owner}: logits must have shape (batch, K) with batch > 0 and K >= 2 classes, "
                f"got {z.shape}" + ("; for one output unit use BinaryCrossEntropy"
                                    if z.ndim == 2 and z.shape[1] == 1 else ""))
        batch, k = z.shape
        if self.class_weight is not None and len(self.class_weight) != k:
            raise ValueError(f"{owner}: class_weight has {len(self.class_weight)} weights but the "
                             f"logits have K = {k} classes")
        if not self.from_logits:
            bad = not np.isfinite(z).all() or (z < 0).any() or (z.sum(axis=1) <= 0).any()
            if bad:
                raise ValueError(f"{owner}: with from_logits=False the inputs must be probabilities "
                                 "(finite, >= 0, each row with a positive sum); pass logits with "
                                 "from_logits=True instead")
        t, classes = self._targets(y, batch, k, z.dtype)
        w = None
        if self.class_weight is not None:
            w = np.asarray(self.class_weight, dtype=z.dtype)[classes]
        if sample_weight is not None:
            sw = np.asarray(sample_weight)
            if sw.ndim not in (1, 2) or (sw.ndim == 2 and sw.shape[1] != 1) or sw.shape[0] != batch:
                raise ValueError(f"{owner}: sample_weight must have shape ({batch},) or ({batch}, 1) "
                                 f"to match the logits, got {sw.shape}")
            sw = sw.reshape(batch).astype(z.dtype, copy=False)
            w = sw if w is None else w * sw
        return z, t, w

    def _smooth(self, y, k):
        s = self.label_smoothing
        if s == 0.0:
            return y
        return y * y.dtype.type(1.0 - s) + y.dtype.type(s / k)

    # --- the loss -------------------------------------------------------------------
    def forward(self, logits, y, sample_weight=None):
        """Return the weighted batch mean of the per-example losses (a Python float)."""
        z, t, w = self._prepare(logits, y, sample_weight)
        if self.from_logits:
            losses = -np.sum(t * log_softmax(z), axis=1)
        else:
            eps = z.dtype.type(self.EPSILON)
            q = z / z.sum(axis=1, keepdims=True)
            losses = -np.sum(t * np.log(np.clip(q, eps, 1 - eps)), axis=1)
        if w is not None:
            losses = losses * w
        self._cache = (z, t, w)
        return float(np.sum(losses) / z.shape[0])

    __call__ = forward

    def backward(self):
        """dL/dlogits for the last ``forward``: shape (B, K), the logits' dtype."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: call forward before backward")
        z, t, w = self._cache
        # A tiny probability times a weight over B may flush to 0: the right limit, so
        # that one harmless floating-point flag is silenced.
        with np.errstate(under="ignore"):
            if self.from_logits:
                grad = stable_softmax(z) * t.sum(axis=1, keepdims=True) - t
            else:
                eps = z.dtype.type(self.EPSILON)
                total = z.sum(axis=1, keepdims=True)
                q = z / total
                clipped = (q < eps) | (q > 1 - eps)
                g = -t / np.clip(q, eps, 1 - eps)
                g[clipped] = 0
                grad = (g - np.sum(g * q, axis=1, keepdims=True)) / total
            if w is not None:
                grad *= w[:, None]
            grad /= z.shape[0]
        return grad


class CategoricalCrossEntropy(_SoftmaxCrossEntropy):
    """Softmax cross-entropy for one-hot labels y of shape (B, K), on logits by default.

    The math, the weights and the reduction are those of ``_SoftmaxCrossEntropy`` (read
    its docstring): l = logsumexp(z) - sum_k t_k z_k and dl/dz = softmax(z) - t with
    t = y (1 - s) + s / K. Labels may also be soft (each row a distribution).

    Parameters
    ----------
    from_logits : bool
        True: inputs are logits (a final ``Dense(K)``, no Softmax). False: inputs are
        probabilities (after a ``Softmax``), renormalised and clipped as Keras does.
    label_smoothing : float in [0, 1]
        s above: the true class gets 1 - s + s / K, every other class s / K.
    class_weight : list of K floats >= 0 or {class: weight}, optional
        Multiplies each example's loss by its class's weight (the analogue of
        ``BinaryCrossEntropy``'s ``pos_weight``).
    """

    def _targets(self, y, batch, k, dtype):
        y = np.asarray(y)
        if y.shape != (batch, k):
            hint = ("; for integer labels use SparseCategoricalCrossEntropy"
                    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1) else "")
            raise ValueError(f"CategoricalCrossEntropy: y (labels) must be one-hot with shape "
                             f"({batch}, {k}) to match the logits, got {y.shape}{hint}")
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise ValueError(f"CategoricalCrossEntropy: y (labels) must be numbers, got dtype {y.dtype}")
        y = y.astype(dtype, copy=False)
        if not np.isfinite(y).all() or (y < 0).any():
            raise ValueError("CategoricalCrossEntropy: y (labels) must be finite and >= 0 "
                             "(one-hot rows, or distributions for soft labels)")
        return self._smooth(y, k), np.argmax(y, axis=1)


class SparseCategoricalCrossEntropy(_SoftmaxCrossEntropy):
    """Softmax cross-entropy for integer labels y in {0, ..., K-1}, shape (B,) or (B, 1).

    Identical to ``CategoricalCrossEntropy`` on ``one_hot(y)``, without building the
    one-hot labels yourself. Labels may come as floats holding whole numbers (models
    cast labels to their dtype). ``label_smoothing`` is not in Keras's sparse loss;
    it is here, with the same rule, as in ``torch.nn.functional.cross_entropy``.
    Parameters as for ``CategoricalCrossEntropy``.
    """

    def _targets(self, y, batch, k, dtype):
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape != (batch,):
            hint = "; for one-hot labels use CategoricalCrossEntropy" if labels.shape == (batch, k) else ""
            raise ValueError(f"SparseCategoricalCrossEntropy: y (labels) must have shape ({batch},) "
                             f"or ({batch}, 1) to match the logits, got {np.shape(y)}{hint}")
        if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
            raise ValueError(f"SparseCategoricalCrossEntropy: y (labels) must be integers, "
                             f"got dtype {labels.dtype}")
        bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0) | (labels >= k)
        if bad.any():
            found = np.unique(labels[bad])[:5].tolist()
            raise ValueError(f"SparseCategoricalCrossEntropy: labels must be whole numbers in "
                             f"0..{k - 1} for K = {k} classes, found {found}")
        classes = labels.astype(np.int64)
        one_hot = np.zeros((batch, k), dtype=dtype)
        one_hot[np.arange(batch), classes] = 1
        return self._smooth(one_hot, k), classes


_BY_NAME = {
    "binary_crossentropy": BinaryCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "categorical_cross_entropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossEntropy,
    "sparse_categorical_cross_entropy": SparseCategoricalCrossEntropy,
}


def get(name_or_obj):
    """A loss object from its name, or the object itself if it already is one.

    ``"binary_crossentropy"`` gives ``BinaryCrossEntropy()``, which takes LOGITS
    (``from_logits=True``): unlike Keras, whose string default expects probabilities,
    because minicnn models end in ``Dense(1)`` and the fused loss is the stable one.
    Likewise ``"categorical_crossentropy"`` and ``"sparse_categorical_crossentropy"``
    give the softmax losses on logits, for a final ``Dense(K)``.
    """
    if hasattr(name_or_obj, "forward") and hasattr(name_or_obj, "backward"):
        return name_or_obj
    if isinstance(name_or_obj, str) and name_or_obj.lower() in _BY_NAME:
        return _BY_NAME[name_or_obj.lower()]()
    raise ValueError(
        f"unknown loss {name_or_obj!r}; use one of {sorted(_BY_NAME)} or an object with "
        "forward(logits, y, sample_weight=None) and backward()"
    )
