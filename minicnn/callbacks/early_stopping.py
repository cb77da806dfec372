"""``EarlyStopping`` (Keras's) and ``BestWeights`` (keep the best epoch's weights without stopping)."""

from .monitor import Monitor, Watching


class EarlyStopping(Watching):
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
        self._tracker = Monitor(monitor, mode, min_delta)

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
