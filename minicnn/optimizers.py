"""Optimizers: turn gradients into parameter updates (SGD with momentum, and Adam).

An optimizer sees only aligned lists ``params`` and ``grads`` (one array each per
trainable array of the model) and updates every parameter IN PLACE, so the layers
keep using the same arrays. Its own memory (velocity, moments) lives in
``self.slots``, one dict per parameter, keyed by the parameter's POSITION in the list:
pass the same list in the same order at every step (``Sequential`` does). A different
number of parameters or a changed shape raises ValueError; call ``reset()`` to start over.

``learning_rate`` is a plain attribute: a schedule may change it between steps.
``iterations`` counts the completed steps.
"""

import math
import numbers

import numpy as np

from .kernels import adam_update

__all__ = ["Optimizer", "SGD", "Adam", "get"]


def _check_number(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    """Return ``float(value)`` or raise ValueError naming the argument and the valid range."""
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
    if not bad and low is not None:
        bad = value <= low if low_open else value < low
    if not bad and high is not None:
        bad = value >= high if high_open else value > high
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{owner}: {name} must be a finite number in {lo}{hi}, got {value!r}")
    return float(value)


class Optimizer:
    """Shared machinery: argument checks, per-parameter slots, the step counter."""

    def __init__(self, learning_rate):
        self.learning_rate = _check_number(type(self).__name__, "learning_rate", learning_rate, low=0)
        self.iterations = 0
        self.slots = []

    def reset(self):
        """Forget all per-parameter state and the step count."""
        self.iterations = 0
        self.slots = []

    def get_config(self):
        return {k: getattr(self, k) for k in self._config_keys}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def step(self, params, grads):
        """Update each ``params[i]`` in place from ``grads[i]``; then ``iterations += 1``."""
        params, grads = list(params), list(grads)
        name = type(self).__name__
        if len(params) != len(grads):
            raise ValueError(f"{name}.step: got {len(params)} params but {len(grads)} grads")
        for i, (p, g) in enumerate(zip(params, grads)):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise ValueError(f"{name}.step: params[{i}] must be a float numpy array (updated in place)")
            if np.shape(g) != p.shape:
                raise ValueError(f"{name}.step: grads[{i}] has shape {np.shape(g)}, params[{i}] has {p.shape}")
        if not self.slots:
            self.slots = [self._new_slots(p) for p in params]
        elif [s["shape"] for s in self.slots] != [p.shape for p in params]:
            raise ValueError(
                f"{name}.step: the parameters changed since the last step (state was made for shapes "
                f"{[s['shape'] for s in self.slots]}, got {[p.shape for p in params]}); call reset() "
                "or use a new optimizer"
            )
        # A schedule may have changed the rate; check it, and use a Python float so that
        # float32 parameters are updated in float32.
        lr = _check_number(name, "learning_rate", self.learning_rate, low=0)
        self.iterations += 1
        for p, g, slots in zip(params, grads, self.slots):
            self._update(p, np.asarray(g, dtype=p.dtype), slots, lr)

    def _new_slots(self, p):
        return {"shape": p.shape}

    def _update(self, p, g, slots, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as Keras.

    momentum = 0:   p <- p - lr * g
    momentum > 0:   v <- momentum * v - lr * g          (v starts at 0)
                    p <- p + v                            (classical)
                    p <- p + momentum * v - lr * g        (nesterov=True: look one step ahead)

    Parameters
    ----------
    learning_rate : float >= 0
    momentum : float in [0, 1]
    nesterov : bool
    """

    _config_keys = ("learning_rate", "momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = _check_number("SGD", "momentum", momentum, low=0, high=1)
        self.nesterov = bool(nesterov)

    def _new_slots(self, p):
        slots = super()._new_slots(p)
        if self.momentum:
            slots["velocity"] = np.zeros_like(p)
        return slots

    def _update(self, p, g, slots, lr):
        if "velocity" not in slots:  # momentum 0 (or set to 0 after the first step)
            p -= lr * g
            return
        v = slots["velocity"]
        v *= self.momentum
        v -= lr * g
        if self.nesterov:
            p += self.momentum * v - lr * g
        else:
            p += v


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015), with optional decoupled weight decay (AdamW).

    At step t = 1, 2, ... for each parameter p with gradient g (m, v start at 0):

        p <- p - lr * weight_decay * p            (decoupled decay, Loshchilov and Hutter;
                                                    skipped when weight_decay = 0)
        m <- beta_1 m + (1 - beta_1) g            running mean of the gradient
        v <- beta_2 v + (1 - beta_2) g^2          running mean of its square
        m_hat = m / (1 - beta_1^t)                bias correction: m and v start at 0,
        v_hat = v / (1 - beta_2^t)                so early averages are too small
        p <- p - lr * m_hat / (sqrt(v_hat) + epsilon)

    At t = 1, m_hat = g and v_hat = g^2: the first step moves every parameter by about
    lr * sign(g), whatever the gradient's scale. (Forgetting the correction, or dividing
    by 1 - beta_1 instead of 1 - beta_1^t, are classic bugs; the tests guard against both.)

    Epsilon sits outside the square root and is added to sqrt(v_hat), as in the paper's
    Algorithm 1 and in PyTorch. Keras folds the bias correction into the step size and
    adds its epsilon to sqrt(v) instead; the two agree unless |g| is near epsilon (1e-7).
    The weight decay is decoupled: it shrinks p directly instead of being added to g,
    so it is not rescaled by 1 / sqrt(v_hat) (AdamW; Keras's ``AdamW``).

    The update runs as one fused Numba loop (``minicnn.kernels.adam``), or as its NumPy
    reference under ``MINICNN_KERNELS=numpy`` (``minicnn.kernels.backend``).

    Parameters
    ----------
    learning_rate : float >= 0
    beta_1, beta_2 : float in [0, 1)
    epsilon : float >= 0
    weight_decay : float >= 0
    """

    _config_keys = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
        super().__init__(learning_rate)
        self.beta_1 = _check_number("Adam", "beta_1", beta_1, low=0, high=1, high_open=True)
        self.beta_2 = _check_number("Adam", "beta_2", beta_2, low=0, high=1, high_open=True)
        self.epsilon = _check_number("Adam", "epsilon", epsilon, low=0)
        self.weight_decay = _check_number("Adam", "weight_decay", weight_decay, low=0)

    def _new_slots(self, p):
        slots = super()._new_slots(p)
        slots["m"] = np.zeros_like(p)
        slots["v"] = np.zeros_like(p)
        return slots

    def _update(self, p, g, slots, lr):
        adam_update(p, g, slots["m"], slots["v"], lr, self.beta_1, self.beta_2, self.epsilon,
               self.iterations, self.weight_decay)


_BY_NAME = {"adam": Adam, "sgd": SGD}


def get(name_or_obj):
    """An optimizer from its name (``"adam"``, ``"sgd"``, default arguments) or the object itself."""
    if hasattr(name_or_obj, "step"):
        return name_or_obj
    if isinstance(name_or_obj, str) and name_or_obj.lower() in _BY_NAME:
        return _BY_NAME[name_or_obj.lower()]()
    raise ValueError(
        f"unknown optimizer {name_or_obj!r}; use one of {sorted(_BY_NAME)} or an object with "
        "step(params, grads)"
    )
