"""``BackupAndRestore``: a run that is interrupted or killed resumes bit for bit, as Keras's."""

import os

import numpy as np

from ..saving import load_model, save_model
from .base import Callback


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
