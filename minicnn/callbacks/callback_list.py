"""``CallbackList``: calls one hook on every callback, with the ones ``fit`` adds itself."""

from .base import Callback, warn_unknown_hooks
from .history import History
from .nan import NaNGuard
from .progbar import ProgbarLogger


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
            warn_unknown_hooks(callback)
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
