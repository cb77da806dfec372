"""Optimizers: turn gradients into parameter updates (SGD with momentum, and Adam).

An optimizer sees only aligned lists ``params`` and ``grads`` (one array each per
trainable array of the model) and updates every parameter IN PLACE, so the layers
keep using the same arrays. Its own memory (velocity, moments) lives in
``self.slots``, one dict per parameter, keyed by the parameter's POSITION in the list:
pass the same list in the same order at every step (``Sequential`` does). A different
number of parameters or a changed shape raises ValueError; call ``reset()`` to start over.

``learning_rate`` is a plain attribute: a schedule may change it between steps.
``iterations`` counts the completed steps. ``get_state`` / ``set_state`` read and write
the step count and the slots (``Sequential.save`` stores them, so training can resume).

Weight averaging (Keras's ``use_ema``, on every optimizer). With ``use_ema=True`` the
optimizer keeps, per parameter, an exponential moving average of its values after each
update (slot ``"average"``)::

    step 1:        average = w                                    (a copy)
    step t > 1:    average = ema_momentum * average + (1 - ema_momentum) * w

Every ``ema_overwrite_frequency`` steps (when not None) the parameters are overwritten
by their average, and at the end of ``fit`` they are replaced by it
(``finalize_variable_values``, as Keras's ``fit`` does): the model evaluated, saved and
returned after ``fit`` is the averaged one; its average and the raw state of the last
step are saved with it (``include_optimizer``) so training can continue. Only
parameters are averaged: BatchNormalization's moving mean and variance are state the
forward pass updates, not parameters the optimizer sees, so they stay those of the last
step (computed with the raw weights, not the average; Keras does the same). With a
momentum near 1, refresh them by running a few training-mode forward passes over the
data with the averaged weights if that difference matters.
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
    """Shared machinery: argument checks, per-parameter slots, the step counter, the average.

    Parameters
    ----------
    learning_rate : float >= 0
    use_ema : bool
        Keep a moving average of the weights (module docstring).
    ema_momentum : float in [0, 1]
        Weight of the old average at each step.
    ema_overwrite_frequency : int >= 1 or None
        Overwrite the parameters by their average every that many steps.
    """

    #: Names of the per-parameter arrays an optimizer may keep (``self.slots[i]``).
    SLOT_NAMES = ("average",)

    def __init__(self, learning_rate, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None):
        name = type(self).__name__
        self.learning_rate = _check_number(name, "learning_rate", learning_rate, low=0)
        self.use_ema = bool(use_ema)
        self.ema_momentum = _check_number(name, "ema_momentum", ema_momentum, low=0, high=1)
        if ema_overwrite_frequency is not None and (
                isinstance(ema_overwrite_frequency, bool)
                or not isinstance(ema_overwrite_frequency, numbers.Integral)
                or ema_overwrite_frequency < 1):
            raise ValueError(f"{name}: ema_overwrite_frequency must be an integer >= 1 or None, "
                             f"got {ema_overwrite_frequency!r}")
        self.ema_overwrite_frequency = (None if ema_overwrite_frequency is None
                                        else int(ema_overwrite_frequency))
        self.iterations = 0
        self.slots = []

    def reset(self):
        """Forget all per-parameter state and the step count."""
        self.iterations = 0
        self.slots = []

    def get_config(self):
        keys = (*self._config_keys, "use_ema", "ema_momentum", "ema_overwrite_frequency")
        return {k: getattr(self, k) for k in keys}

    def get_state(self):
        """``{"iterations": int, "slots": [{name: array}, ...]}``: one dict per parameter
        (empty list before the first step). The arrays are the optimizer's own, not copies."""
        return {"iterations": self.iterations,
                "slots": [{k: v for k, v in s.items() if k != "shape"} for s in self.slots]}

    def set_state(self, state):
        """Take the step count and per-parameter arrays of ``get_state()`` (copied)."""
        name = type(self).__name__
        iterations, slots = state["iterations"], list(state["slots"])
        if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 0:
            raise ValueError(f"{name}.set_state: iterations must be an integer >= 0, got {iterations!r}")
        new = []
        for i, arrays in enumerate(slots):
            unknown = sorted(set(arrays) - set(self.SLOT_NAMES))
            if unknown:
                raise ValueError(f"{name}.set_state: slot {i} has unknown array(s) {unknown}; "
                                 f"{name} keeps {list(self.SLOT_NAMES)}")
            shapes = {np.shape(a) for a in arrays.values()}
            if len(shapes) > 1:
                raise ValueError(f"{name}.set_state: the arrays of slot {i} differ in shape: {shapes}")
            shape = shapes.pop() if shapes else None
            new.append({"shape": shape, **{k: np.array(v, copy=True) for k, v in arrays.items()}})
        self.iterations, self.slots = int(iterations), new

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
        for slots, p in zip(self.slots, params):
            if slots["shape"] is None:  # restored without arrays (SGD without momentum)
                slots["shape"] = p.shape
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
        if self.use_ema:
            self._update_average(params)

    def _update_average(self, params):
        """The moving average after this step; overwrite the weights every ``ema_overwrite_frequency``."""
        m = self.ema_momentum
        for p, slots in zip(params, self.slots):
            average = slots.setdefault("average", p.copy())  # use_ema switched on later
            if self.iterations == 1:
                np.copyto(average, p)  # the first step copies the weights (Keras: momentum 0)
            else:
                average *= m
                average += (1.0 - m) * p
        frequency = self.ema_overwrite_frequency
        if frequency and self.iterations % frequency == 0:
            self.finalize_variable_values(params)

    def finalize_variable_values(self, params):
        """With ``use_ema``, copy each parameter's average into it (in place); ``fit`` calls
        this at its end, as Keras does. Without an average it does nothing."""
        if not self.use_ema:
            return
        for p, slots in zip(params, self.slots):
            if "average" in slots:
                np.copyto(p, slots["average"])

    def _new_slots(self, p):
        slots = {"shape": p.shape}
        if self.use_ema:
            slots["average"] = p.copy()
        return slots

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
    use_ema, ema_momentum, ema_overwrite_frequency :
        Weight averaging (module docstring).
    """

    _config_keys = ("learning_rate", "momentum", "nesterov")
    SLOT_NAMES = ("velocity", "average")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None):
        super().__init__(learning_rate, use_ema, ema_momentum, ema_overwrite_frequency)
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
    use_ema, ema_momentum, ema_overwrite_frequency :
        Weight averaging (module docstring).
    """

    _config_keys = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")
    SLOT_NAMES = ("m", "v", "average")

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None):
        super().__init__(learning_rate, use_ema, ema_momentum, ema_overwrite_frequency)
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

#: The optimizer classes a model file may name (``Sequential.save(include_optimizer=True)``).
OPTIMIZER_CLASSES = {"Adam": Adam, "SGD": SGD}


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
