"""``LearningRateScheduler``: the optimizer's step size set from the epoch, as Keras's."""

import math

from .base import Callback


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
