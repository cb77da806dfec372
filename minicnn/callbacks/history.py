"""``History``: the per-epoch record ``fit`` returns."""

from .base import Callback


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
