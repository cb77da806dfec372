"""Callbacks: small objects that ``Sequential.fit`` calls at fixed moments of training.

The moments (hooks), in the order ``fit`` calls them::

    on_train_begin(logs)
        on_epoch_begin(epoch, logs)
            on_batch_begin(step, logs)      # before every training step
            on_batch_end(step, logs)        # after it: logs hold the running loss and metrics
        on_epoch_end(epoch, logs)           # logs hold the epoch's loss, metrics, val_ twins
    on_train_end(logs)                      # also after Ctrl-C, so restore-best still works

``epoch`` and ``step`` count from 0. ``fit`` sets ``callback.model`` and
``callback.params`` (``epochs``, ``steps``, ``batch_size``, ``verbose``) before the first
hook. A callback stops training by setting ``self.model.stop_training = True``; the
current epoch still finishes.

``fit`` always adds three callbacks of its own, as Keras does: ``NaNGuard`` (first),
``ProgbarLogger`` (when ``verbose``) and ``History`` (last; ``fit`` returns it). Three
more are ready to pass in, with Keras's names and semantics: ``EarlyStopping``,
``LearningRateScheduler`` and ``ModelCheckpoint``.
"""

import math
import warnings

import numpy as np

from .progress import ProgressBar
from .rollback import StepSnapshot, first_non_finite

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "NaNGuard",
           "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint"]


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, step, logs=None):
        pass

    def on_batch_end(self, step, logs=None):
        pass


class CallbackList:
    """Calls one hook on every callback, in order: ``NaNGuard``, ``ProgbarLogger``, the
    caller's callbacks, then ``History``.

    ``on_epoch_end`` reaches ``History`` even when an earlier callback raises (a Ctrl-C in
    a checkpoint save, say): the epoch itself was complete, so it is recorded.
    """

    def __init__(self, callbacks, model, params, verbose=0):
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise ValueError(f"fit: callbacks must be minicnn.callbacks.Callback objects, "
                                 f"got {callback!r}")
        self.history = History()
        self.progbar = ProgbarLogger() if verbose else None
        self.callbacks = [NaNGuard(), *([self.progbar] if self.progbar else []), *callbacks,
                          self.history]
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_batch_begin(self, step, logs=None):
        for callback in self.callbacks:
            callback.on_batch_begin(step, logs)

    def on_batch_end(self, step, logs=None):
        for callback in self.callbacks:
            callback.on_batch_end(step, logs)

    def on_epoch_end(self, epoch, logs=None):
        try:
            for callback in self.callbacks[:-1]:
                callback.on_epoch_end(epoch, logs)
        finally:
            self.history.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)


class History(Callback):
    """What ``fit`` returns: the per-epoch record of a training run.

    Attributes
    ----------
    history : dict
        ``"loss"``, each metric name and their ``"val_"`` twins -> list of one float per
        completed epoch (plus anything callbacks add, e.g. ``"learning_rate"``).
    epoch : list of int
        The completed epochs, counting from 0.
    params : dict
        ``epochs``, ``steps`` (batches per epoch), ``batch_size`` (None for a dataset),
        ``verbose``.
    interrupted : bool
        True when Ctrl-C ended training early. Only completed epochs are recorded.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.interrupted = False

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return (f"History(epochs={len(self.epoch)}, keys={list(self.history)}, "
                f"interrupted={self.interrupted})")


class ProgbarLogger(Callback):
    """Prints ``Epoch i/n`` and a ``minicnn.progress.ProgressBar`` per epoch.

    ``params["verbose"]`` 1 draws the bar during the epoch and its summary line at the
    end; 2 prints only the summary line.
    """

    def __init__(self):
        super().__init__()
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}")
        self.bar, self.seen = ProgressBar(self.params["steps"]), 0

    def on_batch_end(self, step, logs=None):
        self.seen = step + 1
        if self.params["verbose"] == 1:
            self.bar.update(self.seen, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.finish(logs, step=self.seen)
        self.bar = None

    def on_train_end(self, logs=None):
        if self.bar is not None and self.bar.interactive:
            print()  # end the line of an epoch cut short


class NaNGuard(Callback):
    """Stop training with a clear error when a step goes wrong, leaving the model as before it.

    A step goes wrong when its loss is NaN or infinite, or when its update leaves inf or
    NaN in a parameter or in the optimizer's memory (a finite loss does not mean finite
    weights: an update can overflow them). ``minicnn.trainer.train_step`` never applies
    an update whose loss is not finite; an update that overflowed has been applied, so
    the guard copies what a step changes before every step (parameters, optimizer
    memory, BatchNormalization's moving statistics: ``minicnn.rollback.StepSnapshot``)
    and puts it back before it raises. Either way the weights are those after the last
    good step and the error names the epoch and the step.
    """

    def on_train_begin(self, logs=None):
        self.epoch = 0
        self._before_step = StepSnapshot(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_begin(self, step, logs=None):
        self._before_step.save()

    def on_batch_end(self, step, logs=None):
        loss = (logs or {}).get("loss", 0.0)
        what = self.params.get("what", "fit")
        where = f"epoch {self.epoch + 1}, step {step + 1}/{self.params['steps']}"
        if not math.isfinite(loss):
            self._before_step.restore()
            raise FloatingPointError(
                f"{what}: the loss is {loss} at {where}; training stopped before this step "
                "changed the weights. Try a lower learning rate, and check the data (images "
                "and labels) for NaN/inf values.")
        bad = first_non_finite(self.model)
        if bad is not None:
            self._before_step.restore()
            raise FloatingPointError(
                f"{what}: the update at {where} made {bad} non-finite (inf or NaN) although "
                f"the loss ({loss:.4g}) was finite: the update overflowed. It was undone (the "
                "weights, the optimizer state and BatchNorm's statistics are those before this "
                "step) and training stopped. Try a lower learning rate.")


# Quantities that are better when larger; everything else (loss ...) is better when smaller.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall")


def _resolve_mode(mode, monitor):
    """``"min"`` or ``"max"``; ``"auto"`` guesses from the monitored name like Keras."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(word in monitor for word in _HIGHER_IS_BETTER) else "min"
    return mode


class _Monitor:
    """Remembers the best value of one logged quantity; shared by the callbacks below."""

    def __init__(self, monitor, mode, min_delta=0.0):
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
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


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, e.g. ``"val_loss"`` or ``"val_auc"``.
    patience : int
        Stop after this many epochs in a row without improvement (as in Keras,
        0 and 1 both stop at the first epoch that does not improve).
    mode : {"auto", "min", "max"}
        Whether smaller or larger is better. ``"auto"``: ``"max"`` when the name contains
        acc, auc, precision or recall, else ``"min"``.
    min_delta : float
        An improvement must beat the best by more than this.
    restore_best_weights : bool
        At the end of training (whether stopped early, run to the last epoch, or
        interrupted with Ctrl-C) put back the weights of the best epoch. This follows
        Keras 3, which restores whenever a best epoch exists.

    Attributes
    ----------
    best, best_epoch, stopped_epoch, wait
    """

    def __init__(self, monitor="val_loss", patience=0, mode="auto", min_delta=0.0,
                 restore_best_weights=False):
        super().__init__()
        if int(patience) < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.mode = mode
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self._tracker = _Monitor(monitor, mode, min_delta)

    @property
    def best(self):
        return self._tracker.best

    @property
    def best_epoch(self):
        return self._tracker.best_epoch

    def on_train_begin(self, logs=None):
        self._tracker.reset()
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = self._tracker.current(logs, "EarlyStopping")
        if value is None:
            return
        if self._tracker.improved(value):
            self._tracker.best, self._tracker.best_epoch = value, epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()  # copies
            return
        self.wait += 1
        # Keras semantics: stop at the patience-th epoch in a row without improvement
        # (patience 0 and 1 both stop at the first one).
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> new_lr`` with ``epoch`` counting from 0 and ``lr`` the
        current rate. Example, halve every 5 epochs:
        ``LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 5 == 0 else lr)``.
    verbose : int
        1 prints the rate each epoch.

    The rate used is added to the epoch logs (and so to the History) as ``"learning_rate"``.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"schedule must be a function schedule(epoch, lr) -> lr, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = self.schedule(epoch, float(optimizer.learning_rate))
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, lr) returned {lr!r}, "
                             "not a number") from None
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, lr) returned {lr}; "
                             "a learning rate must be finite and >= 0")
        optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ModelCheckpoint(Callback):
    """Save the model (``Sequential.save``) at the end of epochs.

    Parameters
    ----------
    filepath : str or path
        May hold ``str.format`` fields filled from ``epoch`` (counting from 1, as printed)
        and the epoch logs, e.g. ``"ckpt-{epoch:02d}-{val_auc:.3f}.npz"``.
    monitor, mode :
        As in ``EarlyStopping``.
    save_best_only : bool
        Save only when ``monitor`` improves on the best so far; else save every epoch.
    metadata : dict, optional
        Passed to ``Sequential.save`` (e.g. ``{"threshold": 0.5}``).

    Attributes
    ----------
    best, best_epoch, last_saved : the best value, its epoch (from 0), the last path written.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", save_best_only=True,
                 metadata=None):
        super().__init__()
        self.filepath = str(filepath)
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        self.metadata = metadata
        self._tracker = _Monitor(monitor, mode)
        self.last_saved = None

    @property
    def best(self):
        return self._tracker.best

    @property
    def best_epoch(self):
        return self._tracker.best_epoch

    def on_train_begin(self, logs=None):
        self._tracker.reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._tracker.current(logs, "ModelCheckpoint")
            if value is None or not self._tracker.improved(value):
                return
            self._tracker.best, self._tracker.best_epoch = value, epoch
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint: cannot fill filepath {self.filepath!r} "
                             f"({type(error).__name__}: {error}); its fields must be 'epoch' or "
                             f"keys of the logs: {sorted(logs)}") from error
        self.last_saved = self.model.save(path, metadata=self.metadata)
