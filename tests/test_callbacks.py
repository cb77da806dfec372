"""Callbacks: the hook order, early stopping with restore-best, the learning-rate schedule,
best-checkpoint saving, and stop_training."""

import numpy as np
import pytest

from minicnn.callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from minicnn.callbacks import _resolve_mode
from minicnn.layers.activations import ReLU
from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.optimizers import SGD


def model_and_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, 3, 1)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.float32)
    model = Sequential([Flatten(), Dense(4), ReLU(), Dense(1)], input_shape=(3, 3, 1), seed=seed)
    model.compile(SGD(0.1))
    return model, x, y


class Inject(Callback):
    """Puts a scripted value into the epoch logs (before later callbacks read them)
    and snapshots the weights at the end of each epoch."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.model is not None))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, step, logs=None):
        self.calls.append(("batch_end", step, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_hooks_are_called_in_order_with_the_model_set():
    model, x, y = model_and_data(10)
    model.compile(SGD(0.1), metrics=["accuracy"])
    recorder = Recorder()
    model.fit(x, y, epochs=2, batch_size=5, validation_data=(x, y), callbacks=[recorder], verbose=0)
    batch_keys = ["accuracy", "loss"]
    epoch_keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert recorder.calls == [
        ("train_begin", True),
        ("epoch_begin", 0), ("batch_end", 0, batch_keys), ("batch_end", 1, batch_keys),
        ("epoch_end", 0, epoch_keys),
        ("epoch_begin", 1), ("batch_end", 0, batch_keys), ("batch_end", 1, batch_keys),
        ("epoch_end", 1, epoch_keys),
        ("train_end",),
    ]
    assert recorder.model is model


def test_stop_training_ends_fit_after_the_current_epoch():
    class StopAfterFirst(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model, x, y = model_and_data()
    history = model.fit(x, y, epochs=5, callbacks=[StopAfterFirst()], verbose=0)
    assert history.epoch == [0] and not history.interrupted
    assert model.fit(x, y, epochs=2, verbose=0).epoch == [0, 1]  # the flag is reset by fit


@pytest.mark.parametrize("monitor, mode", [
    ("val_loss", "min"), ("loss", "min"), ("val_auc", "max"), ("accuracy", "max"),
    ("val_precision", "max"), ("val_recall", "max"), ("val_brier", "min"),
])
def test_auto_mode_follows_the_monitored_name(monitor, mode):
    assert _resolve_mode("auto", monitor) == mode
    assert _resolve_mode("min", monitor) == "min"


def test_bad_mode_and_patience_are_refused():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model, x, y = model_and_data()
    scores = [0.70, 0.80, 0.78, 0.79, 0.90, 0.95]  # best at epoch 1, then 2 epochs without gain
    inject = Inject("val_auc", scores)
    stopper = EarlyStopping(monitor="val_auc", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, batch_size=8, callbacks=[inject, stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1 and stopper.best == 0.80
    for now, best, last in zip(model.get_weights(), inject.weights[1], inject.weights[3]):
        np.testing.assert_array_equal(now, best)
    assert not all(np.array_equal(a, b) for a, b in zip(inject.weights[1], inject.weights[3]))


def test_early_stopping_min_delta_and_keras_patience_semantics():
    model, x, y = model_and_data()
    losses = [1.0, 0.95, 0.94, 0.93, 0.5]  # improvements smaller than min_delta=0.1 do not count
    stopper = EarlyStopping(monitor="val_metric_loss", patience=3, min_delta=0.1)
    history = model.fit(x, y, epochs=5, callbacks=[Inject("val_metric_loss", losses), stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3] and stopper.best == 1.0
    # patience=0 stops at the first epoch that does not improve (as in Keras)
    stopper = EarlyStopping(monitor="v", patience=0)
    history = model.fit(x, y, epochs=5, callbacks=[Inject("v", [3, 2, 2, 1, 0]), stopper], verbose=0)
    assert history.epoch == [0, 1, 2]


def test_early_stopping_without_the_monitored_key_warns_and_continues():
    model, x, y = model_and_data()
    with pytest.warns(RuntimeWarning, match="val_loss.*not in the logs"):
        history = model.fit(x, y, epochs=2, callbacks=[EarlyStopping()], verbose=0)
    assert history.epoch == [0, 1]


def test_learning_rate_scheduler_sets_the_rate_used_each_epoch():
    model, x, y = model_and_data()
    seen = []

    class SeeRate(Callback):
        def on_batch_end(self, step, logs=None):
            seen.append(self.model.optimizer.learning_rate)

    schedule = LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5 ** epoch)
    history = model.fit(x, y, epochs=3, batch_size=12, callbacks=[schedule, SeeRate()], verbose=0)
    assert seen == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    assert history.history["learning_rate"] == [0.2, 0.1, 0.05]
    # The schedule receives the current rate: a multiplicative decay works.
    model.optimizer.learning_rate = 1.0
    model.fit(x, y, epochs=3, callbacks=[LearningRateScheduler(lambda e, lr: lr * 0.1)], verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(1e-3)


def test_learning_rate_scheduler_rejects_bad_rates():
    model, x, y = model_and_data()
    with pytest.raises(ValueError, match="schedule"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="finite"):
        model.fit(x, y, callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))], verbose=0)
    with pytest.raises(ValueError, match="not a number"):
        model.fit(x, y, callbacks=[LearningRateScheduler(lambda e, lr: "fast")], verbose=0)


def test_model_checkpoint_keeps_the_best_epoch(tmp_path):
    model, x, y = model_and_data()
    inject = Inject("val_loss", [0.9, 0.5, 0.7, 0.6])
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, save_best_only=True, metadata={"threshold": 0.4})
    model.fit(x, y, epochs=4, callbacks=[inject, checkpoint], verbose=0)
    assert checkpoint.best_epoch == 1 and checkpoint.last_saved == str(path)
    best = Sequential.load(path)
    assert best.metadata == {"threshold": 0.4}
    for saved, at_best in zip(best.get_weights(), inject.weights[1]):
        np.testing.assert_array_equal(saved, at_best)


def test_model_checkpoint_formats_the_path_and_can_save_every_epoch(tmp_path):
    model, x, y = model_and_data()
    inject = Inject("val_auc", [0.6, 0.8, 0.7])
    pattern = str(tmp_path / "m-{epoch:02d}-{val_auc:.2f}.npz")
    every = ModelCheckpoint(pattern)  # Keras's default: every epoch
    best_auc = ModelCheckpoint(str(tmp_path / "best-{epoch}.npz"), monitor="val_auc",
                               save_best_only=True)
    model.fit(x, y, epochs=3, callbacks=[inject, every, best_auc], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("m-*")) == ["m-01-0.60.npz", "m-02-0.80.npz",
                                                           "m-03-0.70.npz"]
    assert sorted(p.name for p in tmp_path.glob("best-*")) == ["best-1.npz", "best-2.npz"]  # auc: max
    assert best_auc.best == 0.8


def test_model_checkpoint_names_a_bad_filepath_field(tmp_path):
    model, x, y = model_and_data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m-{val_acc}.npz"), save_best_only=False)
    with pytest.raises(ValueError, match=r"m-\{val_acc\}.npz.*'epoch' or keys of the logs: \['loss'\]"):
        model.fit(x, y, callbacks=[checkpoint], verbose=0)


def test_fit_wraps_the_callbacks_between_its_own_like_keras():
    from minicnn.callbacks import CallbackList, History, NaNGuard, ProgbarLogger

    model, _, _ = model_and_data()
    mine = Recorder()
    listed = CallbackList([mine], model, {"epochs": 1, "steps": 1, "batch_size": 4, "verbose": 1},
                          verbose=1)
    kinds = [type(c) for c in listed.callbacks]
    assert kinds == [NaNGuard, ProgbarLogger, Recorder, History]
    assert all(c.model is model and c.params["steps"] == 1 for c in listed.callbacks)
    assert type(CallbackList([], model, {}, verbose=0).callbacks[1]) is History  # no bar when silent
    with pytest.raises(ValueError, match="Callback objects"):
        CallbackList([object()], model, {})
