"""``NaNGuard`` and ``TerminateOnNaN``: a NaN loss or an overflowed update never reaches the
weights: the step is undone, named, and training stops."""

import math

from ..rollback import StepSnapshot, first_non_finite
from .base import Callback


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
