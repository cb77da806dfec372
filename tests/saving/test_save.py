"""minicnn.saving.save: one .npz of plain arrays and a JSON architecture, bit-identical
predictions after a round trip, atomic writes, and the optimizer and training state in the file."""

import json
import zipfile

import numpy as np
import pytest

from minicnn import saving
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.model import Sequential
from minicnn.optimizers import SGD, Adam
from minicnn.saving import load_model

from saving_support import data, members, trained_with


def trained(layers, shape=(10, 10, 3), epochs=2, dtype=np.float32):
    model = Sequential(layers, input_shape=shape, seed=0, dtype=dtype)
    model.compile(Adam(0.01))
    x, y = data(shape=shape)
    model.fit(x.astype(dtype), y, epochs=epochs, batch_size=8, verbose=0, seed=0)
    return model, x.astype(dtype)


def assert_same_model(a, b):
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    assert [layer.get_config() for layer in a.layers] == [layer.get_config() for layer in b.layers]
    assert a.input_shape == b.input_shape and a.dtype == b.dtype and a.name == b.name
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert wa.dtype == wb.dtype
        np.testing.assert_array_equal(wa, wb)


# --- round trips -----------------------------------------------------------------------------
def test_round_trip_of_the_original_architecture_with_dropout_is_bit_identical(tmp_path):
    model, x = trained([Conv2D(4, 3), ReLU(), MaxPool2D(2), Conv2D(8, 3, padding="same"), ReLU(),
                        Flatten(), Dense(8), ReLU(), Dropout(0.5, seed=3), Dense(1)])
    path = model.save(tmp_path / "model.npz")
    loaded = Sequential.load(path)
    assert_same_model(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.predict_logits(x), model.predict_logits(x))


def test_round_trip_keeps_batchnorm_moving_statistics(tmp_path):
    model, x = trained([Conv2D(4, 3), BatchNormalization(momentum=0.5), ReLU(),
                        GlobalAveragePooling2D(), Dense(1)])
    bn = model.layers[1]
    assert not np.allclose(bn.state["moving_mean"], 0)  # training moved them
    loaded = Sequential.load(model.save(tmp_path / "bn.npz"))
    for key in ("moving_mean", "moving_variance"):
        np.testing.assert_array_equal(loaded.layers[1].state[key], bn.state[key])
    assert loaded.layers[1].momentum == 0.5
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_round_trip_in_float64(tmp_path):
    model, x = trained([Flatten(), Dense(3), ReLU(), Dense(1)], dtype=np.float64, epochs=1)
    loaded = Sequential.load(model.save(tmp_path / "f64.npz"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_the_file_is_plain_arrays_and_a_json_architecture(tmp_path):
    model = Sequential([Conv2D(2, 3), Flatten(), Dense(1)], input_shape=(5, 5, 1), seed=0, name="tiny")
    path = model.save(tmp_path / "m.npz", metadata={"threshold": 0.31, "classes": ["NORMAL", "PNEUMONIA"]})
    with np.load(path, allow_pickle=False) as archive:  # no pickle needed to read any entry
        arrays = {key: archive[key] for key in archive.files}
    config = json.loads(str(arrays.pop("__minicnn_config__")))
    assert config["format"] == "minicnn.Sequential" and config["input_shape"] == [5, 5, 1]
    assert config["metadata"] == {"threshold": 0.31, "classes": ["NORMAL", "PNEUMONIA"]}
    assert [entry["class_name"] for entry in config["layers"]] == ["Conv2D", "Flatten", "Dense"]
    assert config["layers"][0]["config"]["filters"] == 2
    assert sorted(arrays) == ["layers.0.params.W", "layers.0.params.b",
                              "layers.2.params.W", "layers.2.params.b"]
    assert all(a.dtype == np.float32 for a in arrays.values())


def test_metadata_is_exposed_and_kept_when_saved_again(tmp_path):
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    assert model.metadata == {}
    first = Sequential.load(model.save(tmp_path / "a.npz", metadata={"threshold": 0.2}))
    assert first.metadata == {"threshold": 0.2}
    second = Sequential.load(first.save(tmp_path / "b.npz"))
    assert second.metadata == {"threshold": 0.2}
    assert Sequential.load(first.save(tmp_path / "c.npz", metadata={"numpy": np.float32(0.5)})).metadata \
        == {"numpy": 0.5}
    with pytest.raises(ValueError, match="JSON"):
        model.save(tmp_path / "bad.npz", metadata={"f": print})
    with pytest.raises(ValueError, match="dict"):
        model.save(tmp_path / "bad.npz", metadata=[1, 2])


def test_npz_suffix_is_added_and_returned(tmp_path):
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    path = model.save(tmp_path / "model")
    assert path == str(tmp_path / "model.npz") and (tmp_path / "model.npz").is_file()


def test_a_loaded_model_can_be_compiled_and_trained(tmp_path):
    model, x = trained([Flatten(), Dense(4), ReLU(), Dense(1)])
    loaded = Sequential.load(model.save(tmp_path / "m.npz"))
    loaded.compile(Adam(0.01))
    _, y = data()
    history = loaded.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --- an interrupted save ---------------------------------------------------------------------
def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    path = model.save(tmp_path / "model.npz")
    before = open(path, "rb").read()

    def broken_savez(file, **arrays):
        file.write(b"PK half a zip")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", broken_savez)
    model.layers[1].params["W"][...] += 1
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    assert open(path, "rb").read() == before  # the old model, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left behind
    assert zipfile.is_zipfile(path)
    Sequential.load(path)


# --- the optimizer in the file (include_optimizer, Keras's default) ---------------------------
@pytest.mark.parametrize("make, slots", [
    (lambda: Adam(0.01, beta_1=0.8, use_ema=True, ema_momentum=0.9), ["average", "m", "v"]),
    (lambda: SGD(0.05, momentum=0.9, nesterov=True), ["velocity"]),
    (lambda: SGD(0.05), []),
])
def test_the_optimizer_state_round_trips(tmp_path, make, slots):
    model, _, _ = trained_with(make())
    path = model.save(tmp_path / "m.npz")
    config, arrays = members(path)
    assert config["format_version"] == 2 and config["optimizer"]["iterations"] == 4
    assert [s["arrays"] for s in config["optimizer"]["slots"]] == [slots] * 6
    assert [s["param"] for s in config["optimizer"]["slots"]] == [
        "layers.0.params.W", "layers.0.params.b", "layers.1.params.gamma",
        "layers.1.params.beta", "layers.4.params.W", "layers.4.params.b"]
    loaded = Sequential.load(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for mine, theirs in zip(model.optimizer.get_state()["slots"], loaded.optimizer.get_state()["slots"]):
        assert sorted(mine) == sorted(theirs) == slots
        for name in slots:
            np.testing.assert_array_equal(mine[name], theirs[name])
            assert theirs[name] is not mine[name]


def test_a_loaded_model_continues_training_as_if_never_saved(tmp_path):
    straight, x, y = trained_with(Adam(0.01), epochs=5)
    first, _, _ = trained_with(Adam(0.01), epochs=2)
    loaded = Sequential.load(first.save(tmp_path / "after2.npz"))
    loaded.compile(optimizer=loaded.optimizer)
    loaded.fit(x, y, epochs=5, initial_epoch=2, batch_size=8, shuffle=False, verbose=0)
    assert loaded.optimizer.iterations == straight.optimizer.iterations == 10
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_after_fit_with_ema_the_saved_weights_are_the_average(tmp_path):
    """fit ends by replacing the weights with their average (Keras's finalize), so a save
    after fit holds the average as weights (and in the optimizer): the model you evaluate
    is the one you save. Resuming exactly mid-run is BackupAndRestore's job (it saves at
    epoch ends, before the average replaces the weights)."""
    model, _, _ = trained_with(Adam(0.01, use_ema=True, ema_momentum=0.7), epochs=2)
    loaded = Sequential.load(model.save(tmp_path / "ema.npz"))
    for param, slots in zip(loaded.trainable_params(), loaded.optimizer.get_state()["slots"]):
        np.testing.assert_array_equal(param, slots["average"])
        assert not np.array_equal(slots["m"], 0 * slots["m"])


def test_include_optimizer_false_writes_a_version_1_file_of_weights(tmp_path):
    model, _, _ = trained_with(Adam(0.01))
    config, arrays = members(model.save(tmp_path / "w.npz", include_optimizer=False))
    assert config["format_version"] == 1 and "optimizer" not in config
    assert not any(key.startswith("optimizer.") for key in arrays)
    assert Sequential.load(tmp_path / "w.npz").optimizer is None
    fresh = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    fresh.compile(Adam())  # compiled, never stepped: the config and step 0, no arrays
    config, arrays = members(fresh.save(tmp_path / "fresh.npz"))
    assert config["optimizer"]["iterations"] == 0 and config["optimizer"]["slots"] == []
    assert Sequential.load(tmp_path / "fresh.npz").optimizer.get_state() == {"iterations": 0,
                                                                              "slots": []}


def test_an_optimizer_minicnn_cannot_save_is_skipped_with_a_warning(tmp_path):
    class Mine:
        learning_rate = 0.1

        def step(self, params, grads):
            pass

    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    model.compile(Mine())
    with pytest.warns(UserWarning, match="Mine is not one of .*state is not saved"):
        path = model.save(tmp_path / "m.npz")
    assert "optimizer" not in members(path)[0]


def test_a_training_state_round_trips_and_must_be_a_dict(tmp_path):
    model, _, _ = trained_with(Adam(0.01))
    state = {"epoch": 3, "note": [1, 2.5, None]}
    path = saving.save_model(model, tmp_path / "s.npz", training_state=state)
    loaded, read = load_model(path, Sequential, with_training_state=True)
    assert read == state and load_model(model.save(tmp_path / "p.npz"), Sequential,
                                        with_training_state=True)[1] is None
    with pytest.raises(ValueError, match="training_state must be a dict"):
        saving.save_model(model, tmp_path / "x.npz", training_state=[1])
