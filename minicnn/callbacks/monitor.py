"""``Monitor``: the best value so far of one logged quantity, for the callbacks that watch one
(``EarlyStopping``, ``BestWeights``, ``ModelCheckpoint``); ``Watching``: their base class."""

import math
import warnings

from .base import Callback

# Quantities that are better when larger; everything else (loss ...) is better when smaller.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall")


def resolve_mode(mode, monitor):
    """``"min"`` or ``"max"``; ``"auto"`` guesses from the monitored name like Keras."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(word in monitor for word in _HIGHER_IS_BETTER) else "min"
    return mode


class Monitor:
    """Remembers the best value of one logged quantity; shared by the callbacks below."""

    def __init__(self, monitor, mode, min_delta=0.0):
        self.monitor = monitor
        self.mode = resolve_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.reset()

    def reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None

    def current(self, logs, owner):
        """The monitored value in ``logs``, or None (with a warning) when absent or NaN."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{owner}: '{self.monitor}' is not in the logs "
                          f"(available: {sorted(logs or {})}); skipping this epoch",
                          RuntimeWarning, stacklevel=3)
            return None
        value = float(value)
        return None if math.isnan(value) else value

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class Watching(Callback):
    """A callback that watches one logged quantity through ``self._tracker`` (a ``Monitor``),
    and shows its best value and epoch as ``best`` and ``best_epoch``."""

    @property
    def best(self):
        return self._tracker.best

    @property
    def best_epoch(self):
        return self._tracker.best_epoch
