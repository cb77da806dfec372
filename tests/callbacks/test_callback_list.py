"""Keras's hooks, their order and logs; the callbacks fit adds around the caller's; stop_training."""

import numpy as np
import pytest

from minicnn.callbacks import Callback, EarlyStopping
from minicnn.optimizers import SGD

from callback_support import Recorder, model_and_data


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
