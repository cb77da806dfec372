"""The callback protocol: ``Callback`` (every hook, doing nothing) and ``HOOKS`` (their names,
in the order ``fit`` first calls them)."""

import difflib
import warnings

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


def warn_unknown_hooks(callback):
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
