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


# --- Keras's hooks, their order and their logs ------------------------------------------------
class EveryHook(Callback):
    """Records every hook with its arguments: the step and the sorted keys of the logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        from minicnn.callbacks import HOOKS
        if name in HOOKS and name not in ("on_batch_begin", "on_batch_end"):
            calls = object.__getattribute__(self, "calls")

            def record(*args):
                *number, logs = args
                assert isinstance(logs, dict), (name, logs)
                calls.append((name[3:], *number, sorted(logs)))
            return record
        return object.__getattribute__(self, name)


def test_every_hook_is_called_in_keras_order_with_keras_logs():
    model, x, y = model_and_data(10)
    model.compile(SGD(0.1), metrics=["accuracy"])
    every = EveryHook()
    model.fit(x, y, epochs=2, batch_size=5, validation_data=(x[:6], y[:6]), callbacks=[every],
              verbose=0)
    running, val = ["accuracy", "loss"], ["accuracy", "loss", "val_accuracy", "val_loss"]
    epoch = lambda e: [("epoch_begin", e, []),  # noqa: E731
                       ("train_batch_begin", 0, []), ("train_batch_end", 0, running),
                       ("train_batch_begin", 1, []), ("train_batch_end", 1, running),
                       ("test_begin", []),
                       ("test_batch_begin", 0, []), ("test_batch_end", 0, running),
                       ("test_batch_begin", 1, []), ("test_batch_end", 1, running),
                       ("test_end", running),
                       ("epoch_end", e, val)]
    assert every.calls == [("train_begin", []), *epoch(0), *epoch(1), ("train_end", val)]

    every.calls.clear()
    model.evaluate(x, y, batch_size=4, callbacks=[every])
    assert every.calls == [("test_begin", []),
                           *[c for s in range(3) for c in [("test_batch_begin", s, []),
                                                           ("test_batch_end", s, running)]],
                           ("test_end", running)]
    every.calls.clear()
    model.predict(x, batch_size=6, callbacks=[every])
    assert every.calls == [("predict_begin", []),
                           ("predict_batch_begin", 0, []), ("predict_batch_end", 0, ["outputs"]),
                           ("predict_batch_begin", 1, []), ("predict_batch_end", 1, ["outputs"]),
                           ("predict_end", [])]


def test_logs_hold_running_values_and_the_batch_outputs():
    model, x, y = model_and_data(12)
    seen = {}

    class Look(Callback):
        def on_train_batch_end(self, step, logs=None):
            seen.setdefault("train", []).append(logs["loss"])

        def on_test_end(self, logs=None):
            seen["test_end"] = dict(logs)

        def on_epoch_end(self, epoch, logs=None):
            seen["epoch_end"] = dict(logs)

        def on_predict_batch_end(self, step, logs=None):
            seen.setdefault("outputs", []).append(logs["outputs"].copy())

    history = model.fit(x, y, epochs=1, batch_size=4, validation_data=(x, y), callbacks=[Look()],
                        verbose=0)
    assert seen["train"][-1] == history.history["loss"][0]  # the running mean ends at the epoch's
    assert seen["test_end"] == {"loss": history.history["val_loss"][0]}
    assert seen["epoch_end"] == {k: v[0] for k, v in history.history.items()}
    model.predict(x, batch_size=5, callbacks=[Look()])
    np.testing.assert_array_equal(np.concatenate(seen["outputs"]), model.predict_logits(x))


def test_on_batch_hooks_are_keras_aliases_of_the_train_batch_hooks():
    class Old(Callback):
        steps = []

        def on_batch_begin(self, step, logs=None):
            self.steps.append(("begin", step))

        def on_batch_end(self, step, logs=None):
            self.steps.append(("end", step, "loss" in logs))

    class New(Old):
        steps = []

        def on_train_batch_end(self, step, logs=None):  # without super(): the alias is not called
            self.steps.append(("new end", step))

    model, x, y = model_and_data(8)
    model.fit(x, y, batch_size=4, callbacks=[Old(), New()], verbose=0)
    assert Old.steps == [("begin", 0), ("end", 0, True), ("begin", 1), ("end", 1, True)]
    assert New.steps == [("begin", 0), ("new end", 0), ("begin", 1), ("new end", 1)]
    model.evaluate(x, y, callbacks=[Old()])   # test batches are not train batches
    model.predict(x, callbacks=[Old()])
    assert len(Old.steps) == 4


def test_a_misspelt_hook_gets_a_warning_naming_it_and_the_hooks():
    class Typo(Callback):
        def on_epoch_ends(self, epoch, logs=None):
            pass

        def on_training_begin(self, logs=None):
            pass

    model, x, y = model_and_data(8)
    with pytest.warns(UserWarning) as caught:
        model.fit(x, y, callbacks=[Typo()], verbose=0)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith("Typo.on_epoch_ends is not a callback hook")
    assert "did you mean 'on_epoch_end'?" in messages[0]
    assert "on_train_batch_end" in messages[0] and "on_predict_end" in messages[0]
    assert "did you mean 'on_train_begin'?" in messages[1]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known hooks (old names too) warn about nothing
        model.fit(x, y, callbacks=[Recorder(), EveryHook(), EarlyStopping(monitor="loss")],
                  verbose=0)


def test_stop_training_during_an_epoch_stops_after_that_batch_then_ends_the_epoch():
    class StopAtStep(Callback):
        def on_train_batch_end(self, step, logs=None):
            if step == 1:
                self.model.stop_training = True

    model, x, y = model_and_data(24)
    recorder = Recorder()
    history = model.fit(x, y, epochs=3, batch_size=4, validation_data=(x, y),
                        callbacks=[StopAtStep(), recorder], verbose=0)
    assert [c[:2] for c in recorder.calls if c[0] == "batch_end"] == [("batch_end", 0),
                                                                     ("batch_end", 1)]
    assert history.epoch == [0] and "val_loss" in history.history  # validated, epoch ended


def test_initial_epoch_counts_like_keras():
    model, x, y = model_and_data(8)
    recorder = Recorder()
    history = model.fit(x, y, epochs=5, initial_epoch=3, callbacks=[recorder], verbose=0)
    assert history.epoch == [3, 4]
    assert [c[1] for c in recorder.calls if c[0] == "epoch_begin"] == [3, 4]
    assert model.fit(x, y, epochs=2, initial_epoch=2, verbose=0).epoch == []
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="initial_epoch"):
            model.fit(x, y, initial_epoch=bad, verbose=0)


# --- TerminateOnNaN ---------------------------------------------------------------------------
def test_terminate_on_nan_stops_gracefully_instead_of_raising(capsys):
    from minicnn.callbacks import CallbackList, NaNGuard, TerminateOnNaN

    model, x, y = model_and_data(12)
    x = x.copy()
    x[8:] = np.nan  # the third batch of 4 is NaN
    before_ends = []

    class AtEnd(Callback):
        def on_train_end(self, logs=None):
            before_ends.append(dict(logs))

    history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False,
                        callbacks=[TerminateOnNaN(), AtEnd()], verbose=0)
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    assert before_ends and all(np.isfinite(w).all() for w in model.get_weights())
    listed = CallbackList([TerminateOnNaN()], model, {}, verbose=0)
    assert sum(isinstance(c, NaNGuard) for c in listed.callbacks) == 1  # fit's guard not added
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        model.fit(x, y, batch_size=4, shuffle=False, callbacks=[TerminateOnNaN(raise_error=True)],
                  verbose=0)


# --- ModelCheckpoint with Keras's defaults ------------------------------------------------------
def test_model_checkpoint_defaults_save_every_epoch_without_validation(tmp_path):
    model, x, y = model_and_data()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz")
    assert (checkpoint.monitor, checkpoint.save_best_only, checkpoint.save_weights_only,
            checkpoint.save_freq) == ("val_loss", False, False, "epoch")
    model.fit(x, y, epochs=3, callbacks=[checkpoint], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-1.npz", "ckpt-2.npz", "ckpt-3.npz"]
    assert Sequential.load(tmp_path / "ckpt-3.npz").optimizer.iterations == 3  # with the optimizer


def test_model_checkpoint_save_weights_only_leaves_out_the_optimizer(tmp_path):
    model, x, y = model_and_data()
    model.fit(x, y, callbacks=[ModelCheckpoint(tmp_path / "w.npz", save_weights_only=True)],
              verbose=0)
    loaded = Sequential.load(tmp_path / "w.npz")
    assert loaded.optimizer is None
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_batch_frequency_threshold_and_verbose(tmp_path, capsys):
    model, x, y = model_and_data(24)
    every = ModelCheckpoint(tmp_path / "b-{epoch}-{batch}.npz", save_freq=4)
    model.fit(x, y, epochs=2, batch_size=4, callbacks=[every], verbose=0)  # 6 batches per epoch
    assert sorted(p.name for p in tmp_path.glob("b-*")) == ["b-1-4.npz", "b-2-2.npz", "b-2-6.npz"]
    inject = Inject("val_loss", [0.9, 0.5, 0.7])
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, initial_value_threshold=0.6,
                           verbose=1)
    model.fit(x, y, epochs=3, callbacks=[inject, best], verbose=0)
    out = capsys.readouterr().out
    assert best.best_epoch == 1
    assert "Epoch 1: val_loss did not improve from 0.60000" in out
    assert "Epoch 2: val_loss improved from 0.60000 to 0.50000, saving model to" in out
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x.npz", save_freq=0)


def test_best_weights_keeps_the_best_epoch_without_stopping():
    from minicnn.callbacks import BestWeights

    model, x, y = model_and_data()
    inject = Inject("val_auc", [0.7, 0.9, 0.6, 0.8, 0.5, 0.4, 0.3])
    keep = BestWeights(monitor="val_auc")
    history = model.fit(x, y, epochs=7, callbacks=[inject, keep], verbose=0)
    assert history.epoch == list(range(7)) and keep.best_epoch == 1 and keep.best == 0.9
    for now, best in zip(model.get_weights(), inject.weights[1]):
        np.testing.assert_array_equal(now, best)


# --- CSVLogger --------------------------------------------------------------------------------
def read_rows(path, separator=","):
    import csv
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_csv_logger_writes_each_row_at_its_epoch_end(tmp_path):
    from minicnn.callbacks import CSVLogger

    path = tmp_path / "log.csv"
    seen = []

    class ReadBack(Callback):  # after the logger: the row must already be on disk
        def on_epoch_end(self, epoch, logs=None):
            seen.append(read_rows(path, ";"))

    model, x, y = model_and_data()
    model.compile(SGD(0.1), metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, validation_data=(x, y),
                        callbacks=[CSVLogger(path, separator=";"), ReadBack()], verbose=0)
    header = ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [len(rows) for rows in seen] == [2, 3, 4] and seen[0][0] == header
    rows = read_rows(path, ";")
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [float(r[2]) for r in rows[1:]] == history.history["loss"]
    assert [float(r[4]) for r in rows[1:]] == history.history["val_loss"]


def test_csv_logger_after_a_crash_and_appending_on_resume(tmp_path):
    from minicnn.callbacks import CSVLogger

    class Crash(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 9:
                raise RuntimeError("power cut")

    path = tmp_path / "log.csv"
    model, x, y = model_and_data()
    with pytest.raises(RuntimeError, match="power cut"):
        model.fit(x, y, epochs=10, callbacks=[CSVLogger(path), Crash()], verbose=0)
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]  # Keras adds the val_ twins, NA here
    assert [r[0] for r in rows[1:]] == [str(e) for e in range(9)] and rows[1][2] == "NA"
    model.fit(x, y, epochs=10, initial_epoch=9, callbacks=[CSVLogger(path, append=True)], verbose=0)
    rows = read_rows(path)
    assert [r[0] for r in rows] == ["epoch", *map(str, range(10))]  # one header
    model.fit(x, y, epochs=1, callbacks=[CSVLogger(path)], verbose=0)  # append=False: afresh
    assert [r[0] for r in read_rows(path)] == ["epoch", "0"]


# --- BackupAndRestore: an interrupted run resumed equals the uninterrupted one -----------------
def resumable_model(seed=3, optimizer="adam"):
    from minicnn.layers.dropout import Dropout
    from minicnn.layers.normalization import BatchNormalization
    from minicnn.optimizers import Adam

    model = Sequential([Flatten(), Dense(6), BatchNormalization(), ReLU(), Dropout(0.3), Dense(1)],
                       input_shape=(3, 3, 1), seed=seed)
    model.compile(Adam(0.05, use_ema=True, ema_momentum=0.8) if optimizer == "adam"
                  else SGD(0.1, momentum=0.9), metrics=["accuracy"])
    return model


def resume_data(n=40):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(n, 3, 3, 1)).astype(np.float32)
    return x, (x[:, 1, 1, 0] + 0.3 * x[:, 0, 0, 0] > 0).astype(np.float32)


class Interrupt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"interrupted before epoch {epoch}")


def assert_same_run(model, history, reference, reference_history):
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.epoch == reference_history.epoch
    assert history.history == reference_history.history


@pytest.mark.parametrize("seed, optimizer", [(5, "adam"), (None, "sgd")])
def test_backup_and_restore_resumes_bit_for_bit(tmp_path, seed, optimizer):
    from minicnn.callbacks import BackupAndRestore

    x, y = resume_data()
    fit = dict(epochs=6, batch_size=8, validation_data=(x[:16], y[:16]), seed=seed, verbose=0)
    reference = resumable_model(optimizer=optimizer)
    reference_history = reference.fit(x, y, **fit)

    backup = tmp_path / "backup"
    model = resumable_model(optimizer=optimizer)
    with pytest.raises(RuntimeError, match="before epoch 4"):
        model.fit(x, y, callbacks=[BackupAndRestore(backup), Interrupt(4)], **fit)
    assert (backup / "backup.npz").is_file()
    fresh = resumable_model(optimizer=optimizer)   # a new process would start from scratch
    restore = BackupAndRestore(backup)
    started = []

    class FirstEpoch(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.append(epoch)

    history = fresh.fit(x, y, callbacks=[restore, FirstEpoch()], **fit)
    assert restore.restored_epoch == 4 and started == [4, 5]
    assert_same_run(fresh, history, reference, reference_history)
    assert not backup.exists()  # deleted once training completed


def test_backup_survives_a_killed_process(tmp_path):
    """The first run is killed (SIGKILL, no cleanup at all) after epoch 2's backup."""
    import os
    import subprocess
    import sys
    import textwrap

    from minicnn.callbacks import BackupAndRestore

    backup = tmp_path / "backup"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = [{os.getcwd()!r}, {os.path.dirname(__file__)!r}]
        from test_callbacks import resumable_model, resume_data
        from minicnn.callbacks import BackupAndRestore, Callback

        class Kill(Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 2:
                    os.kill(os.getpid(), signal.SIGKILL)

        x, y = resume_data()
        resumable_model().fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0,
                              callbacks=[BackupAndRestore({str(backup)!r}), Kill()])
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == -9, run.stderr
    x, y = resume_data()
    reference = resumable_model()
    reference_history = reference.fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0)
    resumed = resumable_model()
    history = resumed.fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0,
                          callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [0, 1, 2, 3, 4]
    assert_same_run(resumed, history, reference, reference_history)


def test_backup_is_kept_after_ctrl_c_and_refused_for_another_model(tmp_path):
    from minicnn.callbacks import BackupAndRestore

    class CtrlC(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    x, y = resume_data()
    backup = tmp_path / "b"
    history = resumable_model().fit(x, y, epochs=4, verbose=0,
                                    callbacks=[BackupAndRestore(backup), CtrlC()])
    assert history.interrupted and (backup / "backup.npz").is_file()
    other, _, _ = model_and_data()
    with pytest.raises(ValueError, match=r"BackupAndRestore: the backup .*backup.npz.* another model"):
        other.fit(*model_and_data()[1:], callbacks=[BackupAndRestore(backup)], verbose=0)
    sgd = resumable_model(optimizer="sgd")
    with pytest.raises(ValueError, match="made with Adam; this model is compiled with SGD"):
        sgd.fit(x, y, callbacks=[BackupAndRestore(backup)], verbose=0)
    plain = resumable_model()
    plain.save(backup / "backup.npz")  # a model file, not a backup
    with pytest.raises(ValueError, match="holds no training state"):
        plain.fit(x, y, callbacks=[BackupAndRestore(backup)], verbose=0)


def test_backup_and_restore_with_a_shuffled_dataset_and_an_augmentation(tmp_path):
    from minicnn.callbacks import BackupAndRestore
    from minicnn.data import RandomFlip, array_dataset

    x, y = resume_data(48)

    def pipeline():  # what a new process builds again: same seeds, fresh objects
        flip = RandomFlip(seed=8)
        data = array_dataset(x * 100 + 128, y, batch_size=8, shuffle=True, seed=4)
        return flip, data.map(lambda images, labels: (flip(images) / 255.0, labels))

    flip, ds = pipeline()
    reference = resumable_model()
    reference_history = reference.fit(ds, epochs=5, verbose=0)

    flip, ds = pipeline()
    with pytest.raises(RuntimeError):
        resumable_model().fit(ds, epochs=5, verbose=0, callbacks=[
            BackupAndRestore(tmp_path / "b", generators={"flip": flip}), Interrupt(3)])
    flip, ds = pipeline()
    resumed = resumable_model()
    history = resumed.fit(ds, epochs=5, verbose=0,
                          callbacks=[BackupAndRestore(tmp_path / "b", generators={"flip": flip})])
    assert ds.epochs_started == 5 and history.epoch == [0, 1, 2, 3, 4]
    assert_same_run(resumed, history, reference, reference_history)
    with pytest.raises(ValueError, match=r"generators\['flip'\] is 3"):
        BackupAndRestore(tmp_path, generators={"flip": 3})
