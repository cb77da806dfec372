"""Callbacks: small objects that ``fit``, ``evaluate`` and ``predict`` call at fixed moments.

The moments (hooks) have Keras's names, and are called in Keras's order::

    fit:       on_train_begin(logs)
                   on_epoch_begin(epoch, logs)
                       on_train_batch_begin(step, logs)   # before every training step
                       on_train_batch_end(step, logs)     # running loss and metrics of the epoch
                       on_test_begin(logs)                # validation (with validation_data)
                           on_test_batch_begin(step, logs)
                           on_test_batch_end(step, logs)  # running val loss and metrics (no val_)
                       on_test_end(logs)                  # the validation's loss and metrics
                   on_epoch_end(epoch, logs)              # the epoch's, plus their val_ twins
               on_train_end(logs)                         # the last epoch's logs; also after Ctrl-C
    evaluate:  on_test_begin, on_test_batch_begin/end per batch, on_test_end(logs)
    predict:   on_predict_begin(logs)
                   on_predict_batch_begin(step, logs)
                   on_predict_batch_end(step, logs)       # {"outputs": the batch's raw outputs}
               on_predict_end(logs)

``epoch`` and ``step`` count from 0, and every ``logs`` is a dict (empty where Keras's
is). ``on_batch_begin`` / ``on_batch_end`` are Keras's older names of the training-batch
hooks: the base class's ``on_train_batch_begin`` / ``on_train_batch_end`` call them, so a
callback may define either (defining both runs both only if the new one calls
``super()``). A callback that defines an ``on_*`` method which is no hook (a misspelt
``on_epoch_ends``, say) gets a warning when it is given to ``fit``, naming the method and
the hooks: otherwise it would silently never run.

Before the first hook, ``callback.model`` and ``callback.params`` are set (``epochs``,
``steps``, ``batch_size``, ``verbose``). A callback stops training by setting
``self.model.stop_training = True``: as in Keras, ``fit`` stops after the current batch,
then still validates and ends the epoch (``on_epoch_end``).

``fit`` adds three callbacks of its own, as Keras does: ``NaNGuard`` (first; not added
when you pass a ``NaNGuard`` or ``TerminateOnNaN``), ``ProgbarLogger`` (when ``verbose``)
and ``History`` (last; ``fit`` returns it). ``evaluate`` and ``predict`` add only the
``ProgbarLogger``. Ready to pass in, with Keras's names, defaults and semantics:
``EarlyStopping``, ``LearningRateScheduler``, ``ModelCheckpoint``, ``CSVLogger``,
``TerminateOnNaN`` and ``BackupAndRestore``.

Keeping the best weights in memory, without stopping early: Keras's idiom works here,
``EarlyStopping(monitor="val_auc", patience=epochs, restore_best_weights=True)`` (a
patience as long as the run never stops it); ``BestWeights(monitor="val_auc")`` says the
same in one name.
"""

import csv
import difflib
import math
import os
import warnings

import numpy as np

from .progress import ProgressBar
from .rollback import StepSnapshot, first_non_finite
from .saving import load_model, save_model

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "NaNGuard", "TerminateOnNaN",
           "EarlyStopping", "BestWeights", "LearningRateScheduler", "ModelCheckpoint",
           "CSVLogger", "BackupAndRestore", "HOOKS"]

#: Every hook a callback may define (Keras's names), in the order fit first calls them.
HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin",
         "on_train_batch_end", "on_batch_end", "on_test_begin", "on_test_batch_begin",
         "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end",
         "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end")


class Callback:
    """Base class: every hook does nothing (the training-batch ones call the old names).

    Override the hooks you need; see the module docstring for when each is called.
    """

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
        """Keras's older name of ``on_train_batch_begin``."""

    def on_batch_end(self, step, logs=None):
        """Keras's older name of ``on_train_batch_end``."""

    def on_train_batch_begin(self, step, logs=None):
        self.on_batch_begin(step, logs)  # the alias, as in Keras

    def on_train_batch_end(self, step, logs=None):
        self.on_batch_end(step, logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, step, logs=None):
        pass

    def on_test_batch_end(self, step, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, step, logs=None):
        pass

    def on_predict_batch_end(self, step, logs=None):
        pass


def _warn_unknown_hooks(callback):
    """Warn about ``on_*`` methods of ``callback`` that no caller will ever call."""
    defined = {name for klass in type(callback).__mro__ if klass not in (Callback, object)
               for name, value in vars(klass).items()
               if name.startswith("on_") and callable(value)}
    for name in sorted(defined - set(HOOKS)):
        guess = difflib.get_close_matches(name, HOOKS, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        warnings.warn(f"{type(callback).__name__}.{name} is not a callback hook, so it will "
                      f"never be called{hint}; the hooks are: {', '.join(HOOKS)}",
                      UserWarning, stacklevel=4)


class CallbackList:
    """Calls one hook on every callback, in order: ``NaNGuard``, ``ProgbarLogger``, the
    caller's callbacks, then ``History``.

    Parameters
    ----------
    callbacks : list of Callback, optional
    model, params :
        Given to every callback (``set_model``, ``set_params``).
    verbose : int
        Adds a ``ProgbarLogger`` when not 0 (unless the caller passed one).
    add_history, add_nan_guard : bool
        ``fit`` adds both (unless the caller passed a ``History`` or a ``NaNGuard`` /
        ``TerminateOnNaN``); ``evaluate`` and ``predict`` neither.

    ``on_epoch_end`` reaches ``History`` even when an earlier callback raises (a Ctrl-C in
    a checkpoint save, say): the epoch itself was complete, so it is recorded.
    """

    def __init__(self, callbacks, model, params, verbose=0, add_history=True, add_nan_guard=True):
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise ValueError(f"fit: callbacks must be minicnn.callbacks.Callback objects, "
                                 f"got {callback!r}")
            _warn_unknown_hooks(callback)
        first = lambda kind: next((c for c in callbacks if isinstance(c, kind)), None)  # noqa: E731
        self.history = first(History) or (History() if add_history else None)
        self.progbar = first(ProgbarLogger) or (ProgbarLogger() if verbose else None)
        guard = None if first(NaNGuard) or not add_nan_guard else NaNGuard()
        self.callbacks = [c for c in (guard, self.progbar) if c is not None and c not in callbacks]
        self.callbacks += [c for c in callbacks if c is not self.history]
        if self.history is not None:
            self.callbacks.append(self.history)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", {} if logs is None else logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, {} if logs is None else logs)

    def on_train_batch_begin(self, step, logs=None):
        self._call("on_train_batch_begin", step, {} if logs is None else logs)

    def on_train_batch_end(self, step, logs=None):
        self._call("on_train_batch_end", step, {} if logs is None else logs)

    # Keras's CallbackList has the old names too: they call the old hooks only.
    def on_batch_begin(self, step, logs=None):
        self._call("on_batch_begin", step, {} if logs is None else logs)

    def on_batch_end(self, step, logs=None):
        self._call("on_batch_end", step, {} if logs is None else logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        try:
            for callback in self.callbacks:
                if callback is not self.history:
                    callback.on_epoch_end(epoch, logs)
        finally:
            if self.history is not None:
                self.history.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", {} if logs is None else logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", {} if logs is None else logs)

    def on_test_batch_begin(self, step, logs=None):
        self._call("on_test_batch_begin", step, {} if logs is None else logs)

    def on_test_batch_end(self, step, logs=None):
        self._call("on_test_batch_end", step, {} if logs is None else logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", {} if logs is None else logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", {} if logs is None else logs)

    def on_predict_batch_begin(self, step, logs=None):
        self._call("on_predict_batch_begin", step, {} if logs is None else logs)

    def on_predict_batch_end(self, step, logs=None):
        self._call("on_predict_batch_end", step, {} if logs is None else logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", {} if logs is None else logs)


class History(Callback):
    """What ``fit`` returns: the per-epoch record of a training run.

    Attributes
    ----------
    history : dict
        ``"loss"``, each metric name and their ``"val_"`` twins -> list of one float per
        completed epoch (plus anything callbacks add, e.g. ``"learning_rate"``).
    epoch : list of int
        The completed epochs, counting from 0 (from ``initial_epoch`` when resuming).
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
    """Prints ``Epoch i/n`` and a ``minicnn.progress.ProgressBar`` per epoch of ``fit``, and
    one bar for ``evaluate`` or ``predict`` called on their own (validation inside ``fit``
    draws none, as in Keras).

    ``params["verbose"]`` 1 draws the bar during the epoch and its summary line at the
    end; 2 prints only the summary line.
    """

    def __init__(self):
        super().__init__()
        self.bar = None
        self.in_fit = False

    def _start(self):
        self.bar, self.seen = ProgressBar(self.params["steps"]), 0

    def _step(self, step, logs):
        self.seen = step + 1
        if self.params["verbose"] == 1:
            self.bar.update(self.seen, logs)

    def _finish(self, logs):
        self.bar.finish(logs, step=self.seen)
        self.bar = None

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}")
        self._start()

    def on_train_batch_end(self, step, logs=None):
        self._step(step, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_train_end(self, logs=None):
        self.in_fit = False
        if self.bar is not None and self.bar.interactive:
            print()  # end the line of an epoch cut short

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._start()

    def on_test_batch_end(self, step, logs=None):
        if not self.in_fit:
            self._step(step, {"loss": logs["loss"]} if "loss" in (logs or {}) else {})

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, step, logs=None):
        self._step(step, {})

    def on_predict_end(self, logs=None):
        self._finish({})


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
            self._stop(step, loss, (
                f"{what}: the loss is {loss} at {where}; training stopped before this step "
                "changed the weights. Try a lower learning rate, and check the data (images "
                "and labels) for NaN/inf values."))
            return
        bad = first_non_finite(self.model)
        if bad is not None:
            self._before_step.restore()
            self._stop(step, loss, (
                f"{what}: the update at {where} made {bad} non-finite (inf or NaN) although "
                f"the loss ({loss:.4g}) was finite: the update overflowed. It was undone (the "
                "weights, the optimizer state and BatchNorm's statistics are those before this "
                "step) and training stopped. Try a lower learning rate."))

    def _stop(self, step, loss, message):
        """The step was undone; end training (here: raise ``message``)."""
        raise FloatingPointError(message)


class TerminateOnNaN(NaNGuard):
    """Stop training, without an error, when the loss becomes NaN or infinite (Keras's name).

    The graceful twin of ``NaNGuard`` (which ``fit`` then does not add): the bad step
    changed no weight and its BatchNormalization statistics are put back, as with the
    guard, then ``model.stop_training`` is set, so ``fit`` ends after that batch: the
    epoch's logs (a NaN loss) still reach ``on_epoch_end`` and the ``History``, and
    ``on_train_end`` runs (``EarlyStopping(restore_best_weights=True)`` restores).

    Parameters
    ----------
    raise_error : bool
        True raises a ``RuntimeError`` instead (Keras 3's option), skipping the other
        callbacks' ``on_train_end``.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = bool(raise_error)

    def _stop(self, step, loss, message):
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {step}. Loss value: "
                               f"{loss}. Terminating training immediately.")
        print(f"Batch {step}: Invalid loss, terminating training")
        self.model.stop_training = True


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


class BestWeights(EarlyStopping):
    """Keep the weights of the best epoch in memory and put them back when ``fit`` ends.

    ``EarlyStopping(monitor, mode=mode, patience=<longer than the run>,
    restore_best_weights=True)`` under a name that says it: training never stops early.
    The best value and epoch are ``best`` and ``best_epoch``. The copy is made after the
    epoch's validation, of every weight (parameters and BatchNormalization statistics).
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        super().__init__(monitor=monitor, patience=2**62, mode=mode, min_delta=min_delta,
                         restore_best_weights=True)


class ModelCheckpoint(Callback):
    """Save the model (``Sequential.save``) after epochs (or every ``save_freq`` batches).

    Keras's arguments and defaults: by default the model is saved after EVERY epoch
    (``save_best_only=False``), with or without validation data.

    Parameters
    ----------
    filepath : str or path
        May hold ``str.format`` fields filled from ``epoch`` (counting from 1, as printed),
        ``batch`` (with an integer ``save_freq``, from 1) and the logs, e.g.
        ``"ckpt-{epoch:02d}-{val_auc:.3f}.npz"``; ``.npz`` is appended when missing.
    monitor : str
        The logged quantity ``save_best_only`` compares (``"val_loss"``).
    verbose : int
        1 prints a line for every save (and every epoch without improvement).
    save_best_only : bool
        Save only when ``monitor`` improves on the best so far (then a missing
        ``monitor`` warns and saves nothing).
    save_weights_only : bool
        Keras saves weights without the optimizer. A minicnn file always holds the
        architecture (a few kB of JSON, so ``Sequential.load`` can read any of them); True
        leaves out the optimizer state, False (default) includes it so training can resume
        from the file.
    mode : {"auto", "min", "max"}
        As in ``EarlyStopping``.
    save_freq : "epoch" or int
        ``"epoch"``, or save every that many training batches (counted across epochs).
    initial_value_threshold : float, optional
        The value ``monitor`` must beat for the first save with ``save_best_only``.
    metadata : dict, optional
        Passed to ``Sequential.save`` (e.g. ``{"threshold": 0.5}``).

    Attributes
    ----------
    best, best_epoch, last_saved : the best value, its epoch (from 0), the last path written.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, metadata=None):
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or an integer >= 1 "
                             f"(batches), got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.metadata = metadata
        self._tracker = _Monitor(monitor, mode)
        self.last_saved = None
        self._batches = 0

    @property
    def best(self):
        return self._tracker.best

    @property
    def best_epoch(self):
        return self._tracker.best_epoch

    def on_train_begin(self, logs=None):
        self._tracker.reset()
        if self.initial_value_threshold is not None:
            self._tracker.best = float(self.initial_value_threshold)
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, step, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, logs, batch=step + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs, batch=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._tracker.current(logs, "ModelCheckpoint")
            if value is None:
                return
            if not self._tracker.improved(value):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self._tracker.best:.5f}")
                return
            previous, self._tracker.best, self._tracker.best_epoch = self._tracker.best, value, epoch
        fields = dict(logs, epoch=epoch + 1, **({} if batch is None else {"batch": batch}))
        try:
            path = self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint: cannot fill filepath {self.filepath!r} "
                             f"({type(error).__name__}: {error}); its fields must be 'epoch' or "
                             f"keys of the logs: {sorted(logs)}") from error
        self.last_saved = self.model.save(path, metadata=self.metadata,
                                          include_optimizer=not self.save_weights_only)
        if self.verbose:
            if self.save_best_only:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {previous:.5f} to "
                      f"{value:.5f}, saving model to {self.last_saved}")
            else:
                print(f"Epoch {epoch + 1}: saving model to {self.last_saved}")


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (counting from 0, as Keras) and the logs.

    Each row is on disk when ``on_epoch_end`` returns (written, flushed and fsynced), so
    a run that crashes in epoch 10 leaves the rows of epochs 0 to 8.

    Parameters
    ----------
    filename : str or path
    separator : str
        Between the fields.
    append : bool
        False: start the file afresh at ``on_train_begin``. True: continue an existing
        file (a resumed run): the header is written only into an empty or new file, and
        the rows follow the existing header's columns.

    The columns are ``epoch`` and the sorted keys of the first epoch's logs; without
    validation data they get their ``val_`` twins anyway (as Keras's), and a value
    missing from a row is written ``NA``.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys = None

    def _existing_header(self):
        try:
            with open(self.filename, newline="") as f:
                line = f.readline()
        except FileNotFoundError:
            return None
        if not line.strip():
            return None
        header = next(csv.reader([line], delimiter=self.sep))
        return header[1:] if header and header[0] == "epoch" else None

    def on_train_begin(self, logs=None):
        self.keys = self._existing_header() if self.append else None
        self._write_header = self.keys is None
        if not self.append:
            open(self.filename, "w").close()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        rows = []
        if self._write_header:
            rows.append(["epoch", *self.keys])
            self._write_header = False
        rows.append([epoch, *(logs.get(key, "NA") for key in self.keys)])
        with open(self.filename, "a", newline="") as f:
            csv.writer(f, delimiter=self.sep, lineterminator="\n").writerows(rows)
            f.flush()
            os.fsync(f.fileno())


class BackupAndRestore(Callback):
    """Back up the training state after every epoch; an interrupted ``fit`` resumes from it.

    After each epoch, ONE file ``backup_dir/backup.npz`` is written atomically (a
    temporary file renamed over the last one: a kill mid-write leaves the previous
    backup whole) with the model (weights and BatchNormalization statistics), the
    optimizer (its configuration, step count and per-parameter state: Adam's moments,
    SGD's velocity, the weight average), the next epoch, the ``History`` so far and the
    state of every random generator of the run: the model's (``model.rng``), every
    layer's (Dropout's masks), and the shuffling of array data in ``fit``.

    When ``fit`` starts with a backup in ``backup_dir``, the model, optimizer,
    generators and History are restored and training continues at the next epoch: the
    result is the one of an uninterrupted run, bit for bit (same data, same arguments
    to ``compile`` and ``fit``, same thread count). Unlike Keras, the returned
    ``History`` holds the epochs before the interruption too. When ``fit`` completes (or
    stops early) the backup is deleted; after Ctrl-C (``history.interrupted``) it is kept.

    With a ``minicnn.data`` dataset, its count of started epochs is saved too (it
    shuffles by ``(seed, epoch)``). Augmentations inside a dataset's ``map`` draw from
    generators no one can see from here: pass them as ``generators`` to have them saved
    and restored. Not in the backup: other callbacks' state (``EarlyStopping``'s wait and
    best), as in Keras.

    Parameters
    ----------
    backup_dir : str or path
        A directory used by this run only (created when missing).
    delete_checkpoint : bool
        Delete the backup when training completes.
    generators : dict, optional
        More random generators the run draws from, by name: ``numpy.random.Generator``
        objects, or objects with one as ``.rng`` (a ``minicnn.data`` augmentation), e.g.
        ``{"flip": flip, "rotate": rotate}``.
    """

    FILENAME = "backup.npz"

    def __init__(self, backup_dir, delete_checkpoint=True, generators=None):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a directory path, got "
                             f"{backup_dir!r}")
        self.generators = dict(generators or {})
        for name, source in self.generators.items():
            if not isinstance(getattr(source, "rng", source), np.random.Generator):
                raise ValueError(f"BackupAndRestore: generators[{name!r}] is {source!r}, neither "
                                 "a numpy.random.Generator nor an object with one as .rng")
        self.backup_dir = os.fspath(backup_dir)
        self.path = os.path.join(self.backup_dir, self.FILENAME)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        if os.path.isfile(self.path):
            self._restore()

    def _restore(self):
        model = self.model
        restored, state = load_model(self.path, type(model), with_training_state=True)
        where = f"BackupAndRestore: the backup {self.path!r}"
        if not isinstance(state, dict) or not _is_backup_state(state):
            raise ValueError(f"{where} holds no training state; it was not written by "
                             "BackupAndRestore (remove it, or use another backup_dir)")
        try:
            model.set_weights(restored.get_weights())
        except ValueError as error:
            raise ValueError(f"{where} is of another model ({error}); remove it, or use "
                             "another backup_dir") from None
        if restored.optimizer is not None:
            if type(restored.optimizer) is not type(model.optimizer):
                raise ValueError(f"{where} was made with {type(restored.optimizer).__name__}; "
                                 f"this model is compiled with {type(model.optimizer).__name__}")
            model.optimizer.set_state(restored.optimizer.get_state())
        generators = self._generators()
        for name, saved in state["generators"].items():
            if name not in generators:
                raise ValueError(f"{where} holds the random generator {name!r}, which this run "
                                 f"does not have (it has {sorted(generators)})")
            try:
                generators[name].bit_generator.state = saved
            except (TypeError, ValueError, KeyError) as error:
                raise ValueError(f"{where}: generator {name!r} cannot take the saved state "
                                 f"({error})") from None
        if state.get("data_epochs") is not None and model.train_batches.epochs_started is not None:
            model.train_batches.epochs_started = state["data_epochs"]
        history = model.history
        if history is not None:
            history.epoch[:0] = state["epochs_done"]
            for key, values in state["history"].items():
                history.history[key] = list(values) + history.history.get(key, [])
        model._initial_epoch = self.restored_epoch = state["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        history = self.model.history
        done = list(history.epoch) if history is not None else []
        past = {key: list(values) for key, values in (history.history if history else {}).items()}
        for key, value in (logs or {}).items():
            past.setdefault(key, [None] * len(done)).append(_plain(value))
        state = {"backup": 1, "epoch": epoch + 1, "epochs_done": done + [epoch], "history": past,
                 "generators": {name: rng.bit_generator.state
                                for name, rng in self._generators().items()},
                 "data_epochs": self.model.train_batches.epochs_started}
        os.makedirs(self.backup_dir, exist_ok=True)
        save_model(self.model, self.path, include_optimizer=True, training_state=state)

    def _generators(self):
        found = run_generators(self.model)
        for name, source in self.generators.items():
            found[f"user.{name}"] = getattr(source, "rng", source)
        return found

    def on_train_end(self, logs=None):
        history = self.model.history
        if self.delete_checkpoint and not (history is not None and history.interrupted):
            if os.path.isfile(self.path):
                os.remove(self.path)
            if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)


def _plain(value):
    """A log value as JSON: a float (NaN stays NaN) or whatever JSON can hold."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def _is_backup_state(state):
    return (state.get("backup") == 1 and isinstance(state.get("epoch"), int)
            and not isinstance(state.get("epoch"), bool) and state["epoch"] >= 0
            and isinstance(state.get("generators"), dict)
            and isinstance(state.get("history"), dict)
            and all(isinstance(v, list) for v in state["history"].values())
            and isinstance(state.get("epochs_done"), list))


def run_generators(model):
    """The random generators of a ``fit`` in progress, by name: ``{"model": model.rng,
    "layers.<i>": layer.rng, ...}`` plus those of its training batches (``"shuffle"``).

    A generator reachable under two names is listed under the first.
    """
    found, seen = {}, set()

    def add(name, rng):
        if isinstance(rng, np.random.Generator) and id(rng) not in seen:
            seen.add(id(rng))
            found[name] = rng

    add("model", getattr(model, "rng", None))
    for i, layer in enumerate(model.layers):
        add(f"layers.{i}", getattr(layer, "rng", None))
    batches = getattr(model, "train_batches", None)
    if batches is not None:
        for name, rng in batches.generators().items():
            add(name, rng)
    return found
