"""``ModelCheckpoint``: save the model (or the best one) after each epoch, as Keras's."""

import os

from .monitor import Monitor, Watching


class ModelCheckpoint(Watching):
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
        self._tracker = Monitor(monitor, mode)
        self.last_saved = None
        self._batches = 0

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
