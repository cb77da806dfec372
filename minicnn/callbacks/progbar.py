"""``ProgbarLogger``: Keras's progress bar, one ``minicnn.progress.ProgressBar`` per epoch."""

from ..progress import ProgressBar
from .base import Callback


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
