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
"""

import numbers

import numpy as np

from .layers.activations import stable_sigmoid

__all__ = ["BinaryCrossEntropy", "get"]


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


_BY_NAME = {
    "binary_crossentropy": BinaryCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
}


def get(name_or_obj):
    """A loss object from its name, or the object itself if it already is one.

    ``"binary_crossentropy"`` gives ``BinaryCrossEntropy()``, which takes LOGITS
    (``from_logits=True``): unlike Keras, whose string default expects probabilities,
    because minicnn models end in ``Dense(1)`` and the fused loss is the stable one.
    """
    if hasattr(name_or_obj, "forward") and hasattr(name_or_obj, "backward"):
        return name_or_obj
    if isinstance(name_or_obj, str) and name_or_obj.lower() in _BY_NAME:
        return _BY_NAME[name_or_obj.lower()]()
    raise ValueError(
        f"unknown loss {name_or_obj!r}; use one of {sorted(_BY_NAME)} or an object with "
        "forward(logits, y, sample_weight=None) and backward()"
    )
