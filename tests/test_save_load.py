"""save / load: one .npz, no pickle, bit-identical predictions, clear errors, atomic writes."""

import json
import zipfile

import numpy as np
import pytest

from minicnn.layers.activations import ReLU
from minicnn.layers.base import Layer
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.model import Sequential
from minicnn.optimizers import Adam


def data(n=16, shape=(10, 10, 3), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype(np.float32)
    return x, y


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


# --- errors ---------------------------------------------------------------------------------
def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here.npz"):
        Sequential.load(tmp_path / "nothing-here.npz")


def test_corrupt_and_foreign_files_are_refused_with_their_name(tmp_path):
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    good = model.save(tmp_path / "good.npz")
    raw = open(good, "rb").read()

    cases = {
        "garbage.npz": b"this is not a zip file at all",
        "truncated.npz": raw[: len(raw) // 2],
        "empty.npz": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"{name}.*not a readable minicnn model"):
            Sequential.load(tmp_path / name)

    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))  # a NumPy file, not a model
    with pytest.raises(ValueError, match="foreign.npz.*not a readable minicnn model"):
        Sequential.load(tmp_path / "foreign.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="array.npy"):
        Sequential.load(tmp_path / "array.npy")
    np.savez(tmp_path / "other.npz", __minicnn_config__=np.array(json.dumps({"format": "keras"})))
    with pytest.raises(ValueError, match="other.npz.*not a minicnn Sequential"):
        Sequential.load(tmp_path / "other.npz")


def test_a_file_with_missing_or_misshapen_arrays_is_refused(tmp_path):
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    good = model.save(tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as archive:
        entries = {key: archive[key] for key in archive.files}
    wrong_shape = dict(entries, **{"layers.1.params.W": np.zeros((3, 1), np.float32)})
    np.savez(tmp_path / "shape.npz", **wrong_shape)
    with pytest.raises(ValueError, match=r"shape.npz.*'dense'.*params 'W' should be \(4, 1\)"):
        Sequential.load(tmp_path / "shape.npz")
    missing = {k: v for k, v in entries.items() if k != "layers.1.params.b"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ValueError, match="missing.npz.*params 'b'.*the file has None"):
        Sequential.load(tmp_path / "missing.npz")


def test_an_unknown_layer_class_is_named(tmp_path):
    class Doubler(Layer):
        def forward(self, x, training=False):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    model = Sequential([Doubler(), Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    path = model.save(tmp_path / "custom.npz")
    assert np.array_equal(Sequential.load(path).predict(np.ones((1, 2, 2, 1))),
                          model.predict(np.ones((1, 2, 2, 1))))  # registered: it loads
    from minicnn.layers.base import LAYER_REGISTRY
    del LAYER_REGISTRY["Doubler"]
    with pytest.raises(ValueError, match="custom.npz.*'Doubler'"):
        Sequential.load(path)


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
