"""Training, in Keras's shape: ``train_step`` is the loop a learner reads; ``fit`` runs it.

One step of gradient descent on one batch (:func:`train_step`)::

    outputs = model.forward(images, training=True)       # layer by layer: logits (B, 1)
    loss    = model.loss.forward(outputs, labels, w)     # one float, the weighted batch mean
    model.backward(model.loss.backward())                # dL/dlogits down the layers: layer.grads
    model.optimizer.step(params, grads)                  # every parameter, in place

:func:`fit` repeats it over epochs of batches, and everything else has one place of its
own: the data (``minicnn.batches.Batches``: arrays or datasets, shuffling, class
weights, dtype), what happens around each step (``minicnn.callbacks``: the progress
bar, ``History``, the NaN stop, and the caller's callbacks), the running loss and
metrics (:class:`RunningLogs`), and Ctrl-C (:class:`InterruptGuard`).

Ctrl-C. Python raises KeyboardInterrupt between any two bytecodes, so an interrupt in
the middle of a step could leave half of the parameters updated, or BatchNormalization's
moving statistics updated for a step whose weights were not. ``fit`` therefore installs
ONE SIGINT handler for the whole run: during a training step it only notes the
interrupt, which is raised as soon as the step is complete; anywhere else (loading a
batch, validation, a callback) it is raised at once. ``fit`` then stops: the weights are
those after the last completed step, callbacks' ``on_train_end`` runs (so
``EarlyStopping(restore_best_weights=True)`` still restores), a line goes to stderr,
and the ``History`` of the completed epochs comes back with ``interrupted`` True.
"""

import contextlib
import math
import signal
import sys
import threading

from .batches import Batches
from .callbacks import CallbackList, NaNGuard

__all__ = ["train_step", "fit", "evaluate", "predict_logits", "RunningLogs", "InterruptGuard"]


def train_step(model, images, labels, sample_weight=None):
    """One optimizer step on one batch; returns ``(outputs, labels, loss)``.

    ``labels`` come back as the loss took them (``Sequential.targets_like``): shaped like
    ``outputs`` for one unit, as given for K units (integers or one-hot rows). A loss
    that is not finite skips the backward pass and the update, so it never reaches the
    weights; an update that leaves inf or NaN in the weights is undone by ``NaNGuard``,
    which then stops ``fit`` either way.
    """
    outputs = model.forward(images, training=True)
    labels, sample_weight = model.targets_like(outputs, labels, sample_weight)
    loss = float(model.loss.forward(outputs, labels, sample_weight=sample_weight))
    if math.isfinite(loss):
        model.backward(model.loss.backward())
        model.optimizer.step(model.trainable_params(), model.gradients())
    return outputs, labels, loss


class RunningLogs:
    """The loss (mean over examples) and the metrics of the batches seen so far."""

    def __init__(self, model):
        self.model, self.seen, self.loss_sum = model, 0, 0.0
        for metric in model.metrics:
            metric.reset()

    def update(self, outputs, labels, loss):
        """Add one batch; returns the logs so far."""
        self.seen += outputs.shape[0]
        self.loss_sum += loss * outputs.shape[0]
        if not math.isfinite(loss):
            # The NaN guard (on_batch_end) stops fit with its message; the metrics would only
            # refuse the NaN outputs first, with a less helpful one.
            return {"loss": loss}
        probabilities = self.model.probabilities(outputs)
        for metric in self.model.metrics:
            metric.update(labels, probabilities)
        return self.result()

    def result(self):
        logs = {"loss": self.loss_sum / self.seen if self.seen else float("nan")}
        logs.update((m.name, float(m.result())) for m in self.model.metrics)
        return logs


class InterruptGuard:
    """One SIGINT handler for a whole run: Ctrl-C waits only for the step in progress.

    Use ``with InterruptGuard() as guard:`` around the run and ``with guard.step():``
    around each training step. Signal handlers can only be set from the main thread;
    elsewhere (and when SIGINT is ignored or left to the system) nothing changes.
    """

    def __enter__(self):
        self.previous, self.in_step, self.pending = None, False, None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):  # leave SIG_IGN / SIG_DFL alone
                self.previous = previous
                signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False

    def _handle(self, signum, frame):
        if self.in_step:
            self.pending = (signum, frame)
        else:
            self.previous(signum, frame)  # normally raises KeyboardInterrupt

    @contextlib.contextmanager
    def step(self):
        """Hold a Ctrl-C back until the block is done, then raise it."""
        self.in_step = True
        try:
            yield
        finally:
            self.in_step = False
        if self.pending is not None:
            received, self.pending = self.pending, None
            self.previous(*received)


def fit(model, batches, epochs=1, validation=None, callbacks=None, verbose=1, initial_epoch=0):
    """Train ``model`` from epoch ``initial_epoch`` up to ``epochs``; return the ``History``.

    ``batches`` and ``validation`` are ``minicnn.batches.Batches``. See
    ``Sequential.fit`` for the arguments, ``minicnn.callbacks`` for the hooks and their
    order, and the module docstring for Ctrl-C. A callback may move the start in
    ``on_train_begin`` by setting ``model._initial_epoch`` (``BackupAndRestore`` does, as
    in Keras). At the end the optimizer finalizes the weights (its weight average, when
    it keeps one) before ``on_train_end``, as Keras's ``finalize_variable_values``.
    """
    params = {"epochs": int(epochs), "steps": len(batches), "batch_size": batches.batch_size,
              "verbose": verbose}
    callbacks = CallbackList(callbacks, model, params, verbose)
    model.history, model.stop_training = callbacks.history, False
    model.train_batches, model._initial_epoch = batches, None
    logs, epoch = {}, int(initial_epoch)
    try:
        with InterruptGuard() as interrupts:
            try:
                callbacks.on_train_begin({})
                start = model._initial_epoch if model._initial_epoch is not None else epoch
                for epoch in range(start, int(epochs)):
                    callbacks.on_epoch_begin(epoch, {})
                    epoch_logs = train_epoch(model, batches, callbacks, interrupts)
                    if validation is not None:
                        val_logs = evaluate(model, validation, callbacks=callbacks)
                        epoch_logs.update((f"val_{key}", value) for key, value in val_logs.items())
                    callbacks.on_epoch_end(epoch, epoch_logs)
                    logs = epoch_logs
                    if model.stop_training:
                        break
            except KeyboardInterrupt:
                callbacks.history.interrupted = True
            finalize = getattr(model.optimizer, "finalize_variable_values", None)
            if finalize is not None and int(epochs) > 0:
                finalize(model.trainable_params())
            callbacks.on_train_end(logs)
    finally:
        model.train_batches, model._initial_epoch = None, None
    if callbacks.history.interrupted:
        print(f"Training interrupted (Ctrl-C) in epoch {epoch + 1}: keeping the weights of the "
              f"last completed step; {len(callbacks.history.epoch)} complete epoch(s) recorded.",
              file=sys.stderr)
    return callbacks.history


def train_epoch(model, batches, callbacks, interrupts):
    """One pass over ``batches``, a training step per batch; returns the epoch's logs.

    A callback's ``model.stop_training`` ends the pass after the batch, as in Keras.
    """
    running = RunningLogs(model)
    with contextlib.closing(iter(batches)) as epoch:
        for step, (images, labels, weights) in enumerate(epoch):
            callbacks.on_train_batch_begin(step, {})
            with interrupts.step():
                outputs, labels, loss = train_step(model, images, labels, weights)
            callbacks.on_train_batch_end(step, running.update(outputs, labels, loss))
            if model.stop_training:
                break
    if running.seen == 0:
        raise ValueError(f"{batches.what}: the training data gave no batches")
    return running.result()


def train_on_batch(model, images, labels, sample_weight=None):
    """One step on one batch, with fit's safety (NaN stop, Ctrl-C); returns the loss."""
    batches = Batches(images, labels, sample_weight, batch_size=max(len(images), 1),
                      dtype=model.dtype, example_shape=model.input_shape, what="train_on_batch",
                      check_labels=model.check_labels)
    guard = NaNGuard()
    guard.set_model(model)
    guard.set_params({"steps": 1, "what": "train_on_batch"})
    guard.on_train_begin()
    guard.on_batch_begin(0)
    (images, labels, weights), = iter(batches)
    with InterruptGuard() as interrupts, interrupts.step():
        _, _, loss = train_step(model, images, labels, weights)
    guard.on_batch_end(0, {"loss": loss})
    return loss


def _callback_list(model, callbacks, batches, verbose):
    """``callbacks`` as the CallbackList of a lone ``evaluate`` or ``predict``."""
    if isinstance(callbacks, CallbackList):
        return callbacks  # fit's own, during validation
    params = {"epochs": 1, "steps": len(batches), "batch_size": batches.batch_size,
              "verbose": verbose}
    return CallbackList(callbacks, model, params, verbose, add_history=False, add_nan_guard=False)


def evaluate(model, batches, verbose=0, callbacks=None):
    """Loss and metrics over ``batches`` in inference mode; a dict.

    ``callbacks`` get the ``on_test_*`` hooks; fit passes its own list for validation.
    """
    callbacks = _callback_list(model, callbacks, batches, verbose)
    running = RunningLogs(model)
    callbacks.on_test_begin({})
    with contextlib.closing(iter(batches)) as epoch:
        for step, (images, labels, weights) in enumerate(epoch):
            callbacks.on_test_batch_begin(step, {})
            outputs = model.infer(images)
            labels, weights = model.targets_like(outputs, labels, weights, what="evaluate")
            loss = float(model.loss.forward(outputs, labels, sample_weight=weights))
            callbacks.on_test_batch_end(step, running.update(outputs, labels, loss))
    if running.seen == 0:
        raise ValueError("evaluate: no examples to evaluate")
    logs = running.result()
    callbacks.on_test_end(logs)
    return logs


def predict_logits(model, batches, verbose=0, callbacks=None):
    """The model's raw outputs for every batch, as a list of arrays.

    ``callbacks`` get the ``on_predict_*`` hooks; ``on_predict_batch_end`` receives
    ``{"outputs": the batch's raw outputs}`` (logits for a model that ends in them).
    """
    callbacks = _callback_list(model, callbacks, batches, verbose)
    outputs = []
    callbacks.on_predict_begin({})
    with contextlib.closing(iter(batches)) as epoch:
        for step, (images, _, _) in enumerate(epoch):
            callbacks.on_predict_batch_begin(step, {})
            outputs.append(model.infer(images))
            callbacks.on_predict_batch_end(step, {"outputs": outputs[-1]})
    callbacks.on_predict_end({})
    return outputs
