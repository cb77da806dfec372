"""save / load: one .npz, no pickle, bit-identical predictions, atomic writes, and every crafted
or damaged file refused with a ValueError naming it, before anything the file declares is
allocated."""

import inspect
import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

try:
    import resource
except ImportError:  # not on Windows
    resource = None

from minicnn import saving
from minicnn.layers.activations import ReLU
from minicnn.layers.base import LAYER_REGISTRY, Layer
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.model import Sequential
from minicnn.optimizers import SGD, Adam
from minicnn.saving import check_metadata, load_model


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
    with pytest.raises(ValueError, match=r"shape.npz.*'layers.1.params.W' holds float32 \(3, 1\)"
                                         r".*'dense'.*needs float32 \(4, 1\)"):
        Sequential.load(tmp_path / "shape.npz")
    missing = {k: v for k, v in entries.items() if k != "layers.1.params.b"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ValueError, match="missing.npz.*'layers.1.params.b' is missing.*'dense'"):
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


# --- attacks: crafted files ----------------------------------------------------------------
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_model():
    return Sequential([Conv2D(2, 3), ReLU(), Flatten(), Dense(1)], input_shape=(5, 5, 1), seed=0)


def members(path):
    """``(config dict, {key: array})`` of a saved model, read the plain NumPy way."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(str(arrays.pop("__minicnn_config__"))), arrays


def craft(tmp_path, name, edit_config=None, edit_arrays=None, config_text=None):
    """A copy of a small model's file with its architecture or arrays edited."""
    config, arrays = members(small_model().save(tmp_path / "good.npz"))
    if edit_config is not None:
        edit_config(config)
    if edit_arrays is not None:
        edit_arrays(arrays)
    text = json.dumps(config) if config_text is None else config_text
    np.savez(tmp_path / name, __minicnn_config__=np.array(text), **arrays)
    return tmp_path / name


def dense(config):
    return config["layers"][3]


MALFORMED = {
    # name: (edit of the architecture dict, what the message must say)
    "unknown_argument": (lambda c: dense(c)["config"].update(activation="relu"),
                         r"Dense.*unknown argument 'activation'"),
    "missing_argument": (lambda c: dense(c)["config"].pop("units"), r"Dense.*'units' is missing"),
    "argument_type": (lambda c: dense(c)["config"].update(units="10"), r"Dense.*'units'"),
    "argument_bool": (lambda c: dense(c)["config"].update(units=True), r"Dense.*'units'"),
    "argument_dict": (lambda c: c["layers"][0]["config"].update(kernel_size={"a": 1}),
                      r"Conv2D.*'kernel_size'"),
    "argument_nan": (lambda c: c["layers"][0]["config"].update(strides=float("nan")),
                     r"Conv2D.*'strides'"),
    "layer_without_config": (lambda c: dense(c).pop("config"), r"layer 3.*'config'"),
    "layer_not_a_dict": (lambda c: c["layers"].__setitem__(3, "Dense"), r"layer 3.*not a dict"),
    "layer_extra_key": (lambda c: dense(c).update(code="os.system"), r"layer 3.*'code'"),
    "class_name_not_a_string": (lambda c: dense(c).update(class_name=["Dense"]), r"class_name"),
    "class_is_a_builtin": (lambda c: dense(c).update(class_name="os.system"), r"'os.system'"),
    "params_not_a_list": (lambda c: dense(c).update(params="W"), r"layer 3.*params"),
    "params_misnamed": (lambda c: dense(c).update(params=["W", "c"]), r"layer 3.*params"),
    "layers_not_a_list": (lambda c: c.update(layers={"0": c["layers"][0]}), r"'layers'.*list"),
    "layers_empty": (lambda c: c.update(layers=[]), r"'layers'"),
    "string_version": (lambda c: c.update(format_version="1"), r"format_version"),
    "newer_version": (lambda c: c.update(format_version=99), r"newer minicnn"),
    "input_shape_text": (lambda c: c.update(input_shape="abc"), r"input_shape"),
    "input_shape_negative": (lambda c: c.update(input_shape=[5, -5, 1]), r"input_shape"),
    "dtype": (lambda c: c.update(dtype="int8"), r"dtype"),
    "model_name": (lambda c: c.update(name=5), r"'name'"),
    "metadata_not_a_dict": (lambda c: c.update(metadata=[1]), r"metadata"),
    "unknown_top_level_key": (lambda c: c.update(loader="pickle"), r"'loader'"),
    "shapes_do_not_chain": (lambda c: c["layers"].insert(0, c["layers"].pop(2)),
                            r"layer 1.*Conv2D"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_architecture_is_a_value_error_naming_file_and_problem(tmp_path, case):
    edit, problem = MALFORMED[case]
    path = craft(tmp_path, f"{case}.npz", edit_config=edit)
    with pytest.raises(ValueError, match=rf"{case}\.npz.*{problem}"):
        Sequential.load(path)


def test_bad_json_and_wrong_json_types_are_value_errors_naming_the_file(tmp_path):
    for name, text, problem in [("bad.npz", "{not json", "JSON"),
                                ("list.npz", "[1, 2]", "not a minicnn Sequential"),
                                ("deep.npz", "[" * 100000 + "]" * 100000, "JSON")]:
        with pytest.raises(ValueError, match=rf"{name}.*{problem}"):
            Sequential.load(craft(tmp_path, name, config_text=text))


ARRAY_CASES = {
    "extra_array": (lambda a: a.update({"layers.3.params.extra": np.zeros(1, np.float32)}),
                    r"unexpected.*'layers.3.params.extra'"),
    "stray_member": (lambda a: a.update({"notes": np.zeros(1, np.float32)}),
                     r"unexpected.*'notes'"),
    "missing_array": (lambda a: a.pop("layers.3.params.b"), r"'layers.3.params.b'.*missing"),
    "wrong_dtype": (lambda a: a.update({"layers.3.params.W": np.zeros((18, 1), np.float64)}),
                    r"'layers.3.params.W'.*float64"),
    "wrong_shape": (lambda a: a.update({"layers.3.params.W": np.zeros((3, 1), np.float32)}),
                    r"'layers.3.params.W'.*\(3, 1\).*\(18, 1\)"),
    "object_array": (lambda a: a.update({"layers.3.params.W": np.array([[print]] * 18, object)}),
                     r"'layers.3.params.W'"),
    "nan_weight": (lambda a: a["layers.3.params.W"].__setitem__((0, 0), np.nan),
                   r"'layers.3.params.W'.*1 non-finite"),
    "inf_weight": (lambda a: a["layers.0.params.b"].__setitem__(slice(None), np.inf),
                   r"'layers.0.params.b'.*2 non-finite"),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_arrays_that_do_not_match_the_architecture_are_refused(tmp_path, case):
    edit, problem = ARRAY_CASES[case]
    path = craft(tmp_path, f"{case}.npz", edit_arrays=edit)
    with pytest.raises(ValueError, match=rf"{case}\.npz.*{problem}"):
        Sequential.load(path)


def test_a_raw_pickle_named_npz_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="pickle.npz.*not a readable minicnn model"):
        Sequential.load(tmp_path / "pickle.npz")
    assert not marker.exists()


def write_zip(path, entries):
    """A zip of ``(name, raw_bytes, method, crc, uncompressed_size)`` entries, by hand:
    ``zipfile`` cannot store data that was compressed elsewhere."""
    with open(path, "wb") as f:
        central = b""
        for name, raw, method, crc, size in entries:
            offset = f.tell()
            fields = (20, 0, method, 0, 33, crc, len(raw), size, len(name.encode()), 0)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name.encode() + raw)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                   offset) + name.encode()
        start = f.tell()
        f.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                      len(central), start, 0))


def stored_entries(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info), zipfile.ZIP_STORED, info.CRC, info.file_size)
                for info in archive.infolist()]


def deflated_zeros(size, head=b"", chunk=1 << 20):
    """``(raw deflate data, crc)`` of ``head`` + zeros, ``size`` bytes in all, made without
    compressing ``size`` bytes: after a full flush the compressor forgets what came before,
    so every zero chunk compresses to the same bytes and those can be repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = (compressor.compress(head + bytes(chunk - len(head)))
             + compressor.flush(zlib.Z_FULL_FLUSH))
    zeros = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    raw = first + zeros * (size // chunk - 1) + compressor.flush()
    crc = zlib.crc32(head + bytes(chunk - len(head)))
    block = bytes(chunk)
    for _ in range(size // chunk - 1):
        crc = zlib.crc32(block, crc)
    return raw, crc


def npy_header(shape, dtype="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


# Loads a model file in a subprocess whose address space is capped a little above what it
# uses once imported: an allocation the size of the attack's declaration cannot succeed.
CAPPED_LOAD = r"""
import json, resource, sys, time
from minicnn.model import Sequential
size_kb = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
cap = size_kb * 1024 + (768 << 20)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.perf_counter()
try:
    Sequential.load(sys.argv[1])
    outcome = {"error": None}
except BaseException as error:
    outcome = {"error": type(error).__name__, "message": str(error)}
outcome["seconds"] = time.perf_counter() - start
print(json.dumps(outcome))
"""


def load_capped(path):
    env = dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CAPPED_LOAD, str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.skipif(resource is None or not os.path.exists("/proc/self/status"),
                    reason="needs RLIMIT_AS and /proc (Linux) to cap the loader's memory")
def test_a_tiny_file_declaring_a_huge_dense_layer_fails_fast_without_allocating(tmp_path):
    """Dense(units=10**6) after 30*30*2 features asks for a 7.2 GB kernel; the file holds 18
    floats. The old loader built (and initialised) the layer first: MemoryError."""
    def huge(config):
        config["input_shape"] = [32, 32, 1]
        dense(config)["config"]["units"] = 10**6

    path = craft(tmp_path, "dense.npz", edit_config=huge)
    assert os.path.getsize(path) < 10_000
    outcome = load_capped(path)
    assert outcome["error"] == "ValueError", outcome
    assert re.search(r"dense.npz.*layer 3.*Dense.*\(1800, 1000000\).*limit",
                     outcome["message"]), outcome
    assert outcome["seconds"] < 5, outcome


@pytest.mark.skipif(resource is None or not os.path.exists("/proc/self/status"),
                    reason="needs RLIMIT_AS and /proc (Linux) to cap the loader's memory")
def test_an_unused_2_gib_member_is_never_inflated(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    size = 2 << 30
    raw, crc = deflated_zeros(size, head=npy_header((size - 128,), "|u1"))
    write_zip(tmp_path / "bomb.npz",
              stored_entries(good) + [("unused.npy", raw, zipfile.ZIP_DEFLATED, crc, size)])
    assert os.path.getsize(tmp_path / "bomb.npz") < 3 << 20
    outcome = load_capped(tmp_path / "bomb.npz")
    assert outcome["error"] == "ValueError", outcome
    assert re.search(r"bomb.npz.*unexpected.*'unused'", outcome["message"]), outcome
    assert outcome["seconds"] < 5, outcome


@pytest.mark.skipif(resource is None or not os.path.exists("/proc/self/status"),
                    reason="needs RLIMIT_AS and /proc (Linux) to cap the loader's memory")
def test_a_used_member_whose_header_declares_a_huge_array_is_refused_before_reading(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "layers.3.params.W.npy"]
    fake = npy_header((100_000, 100_000)) + bytes(64)  # says 40 GB, holds 64 bytes
    entries.append(("layers.3.params.W.npy", fake, zipfile.ZIP_STORED, zlib.crc32(fake), len(fake)))
    write_zip(tmp_path / "header.npz", entries)
    outcome = load_capped(tmp_path / "header.npz")
    assert outcome["error"] == "ValueError", outcome
    assert re.search(r"header.npz.*'layers.3.params.W'.*\(100000, 100000\)",
                     outcome["message"]), outcome


def test_a_member_far_larger_than_its_array_is_refused_before_inflating(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "layers.3.params.W.npy"]
    head = npy_header((18, 1)) + np.zeros(18, np.float32).tobytes()
    size = 64 << 20
    raw, crc = deflated_zeros(size, head=head)
    # A wrong CRC, which zipfile only notices at the member's end: a loader that inflated
    # the member would fail with "Bad CRC-32" instead of naming its size.
    entries.append(("layers.3.params.W.npy", raw, zipfile.ZIP_DEFLATED, crc ^ 1, size))
    write_zip(tmp_path / "padded.npz", entries)
    with pytest.raises(ValueError, match=r"padded.npz.*'layers.3.params.W'.*67,108,864 bytes"):
        Sequential.load(tmp_path / "padded.npz")


def test_a_file_is_refused_when_its_weights_exceed_the_size_limit(tmp_path):
    model = Sequential([Flatten(), Dense(64)], input_shape=(16, 16, 1), seed=0)
    path = model.save(tmp_path / "m.npz")
    assert load_model(path, Sequential).count_params() == 256 * 64 + 64
    with pytest.raises(ValueError, match=r"m.npz.*layer 1.*Dense.*limit of 1,000 bytes.*max_bytes"):
        load_model(path, Sequential, max_bytes=1000)


# --- the parameter shapes known before building, checked against the layers themselves ------
LAYER_SAMPLES = {
    "Conv2D": [({"filters": 3, "kernel_size": [2, 3]}, (6, 7, 2)),
               ({"filters": 1, "kernel_size": 1, "use_bias": False}, (4, 4, 5))],
    "Dense": [({"units": 4}, (7,)), ({"units": 2, "use_bias": False}, (3,))],
    "BatchNormalization": [({}, (5,)), ({"momentum": 0.5}, (4, 4, 3))],
    "Dropout": [({"rate": 0.5}, (3, 2))],
    "Flatten": [({}, (2, 3, 4))],
    "GlobalAveragePooling2D": [({}, (4, 4, 3))],
    "MaxPool2D": [({"pool_size": 2}, (4, 4, 3))],
    "ReLU": [({}, (5,))],
    "Sigmoid": [({}, (5,))],
    "Softmax": [({}, (5,))],
}


def library_layer_classes():
    saving.schema.import_all_layer_modules()
    return {name: cls for name, cls in LAYER_REGISTRY.items()
            if cls.__module__.startswith("minicnn.layers.")}


def test_every_library_layer_has_samples_here():
    assert set(library_layer_classes()) == set(LAYER_SAMPLES), \
        "a layer was added or removed: add samples here and, if it has arrays, a shape rule"


@pytest.mark.parametrize("name", sorted(LAYER_SAMPLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predicted_array_shapes_match_what_build_makes(name, dtype):
    for config, input_shape in LAYER_SAMPLES[name]:
        layer = library_layer_classes()[name](**config)
        predicted = saving.expected_arrays(layer, input_shape)
        layer.build(input_shape, rng=np.random.default_rng(0), dtype=dtype)
        built = {"params": {k: v.shape for k, v in layer.params.items()},
                 "state": {k: v.shape for k, v in layer.state.items()}}
        assert predicted == built
        assert tuple(layer.compute_output_shape(input_shape)) == layer.output_shape


@pytest.mark.parametrize("name", sorted(LAYER_SAMPLES))
def test_the_argument_schema_is_the_constructor_signature(name):
    cls = library_layer_classes()[name]
    signature = inspect.signature(cls.__init__)
    expected = [p for p in list(signature.parameters)[1:]
                if signature.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                        inspect.Parameter.VAR_KEYWORD)]
    assert list(saving.layer_schema(cls)) == expected
    config, _ = LAYER_SAMPLES[name][0]
    assert sorted(cls(**config).get_config()) == sorted(expected)


# --- metadata for prediction -----------------------------------------------------------------
def image_model(channels=1):
    return Sequential([Conv2D(2, 3), Flatten(), Dense(1)], input_shape=(8, 8, channels), seed=0)


def test_check_metadata_returns_the_validated_settings_and_documented_defaults():
    model = image_model()
    model.metadata = {"threshold": 0.31, "class_names": ["NORMAL", "PNEUMONIA"],
                      "image_size": [8, 8], "color_mode": "grayscale", "other": "kept"}
    assert check_metadata(model) == {"threshold": 0.31, "class_names": ["NORMAL", "PNEUMONIA"],
                                     "image_size": (8, 8), "color_mode": "grayscale"}
    model.metadata = {}
    assert check_metadata(model) == {"threshold": 0.5, "class_names": ["0", "1"],
                                     "image_size": (8, 8), "color_mode": "grayscale"}
    assert check_metadata(image_model(3))["color_mode"] == "rgb"


BAD_METADATA = [
    ({"threshold": "abc"}, "threshold"), ({"threshold": float("nan")}, "threshold"),
    ({"threshold": 1.5}, "threshold"), ({"threshold": -0.1}, "threshold"),
    ({"threshold": True}, "threshold"), ({"threshold": None}, "threshold"),
    ({"class_names": []}, "class_names"), ({"class_names": ["only one"]}, "class_names"),
    ({"class_names": [0, 1]}, "class_names"), ({"class_names": "ab"}, "class_names"),
    ({"class_names": ["a", "a"]}, "class_names"), ({"class_names": ["a", "b", "c"]}, "class_names"),
    ({"image_size": [16, 16]}, "image_size"), ({"image_size": "big"}, "image_size"),
    ({"image_size": [8]}, "image_size"), ({"image_size": [8.0, 8]}, "image_size"),
    ({"color_mode": "rgb"}, "color_mode"), ({"color_mode": "cmyk"}, "color_mode"),
    ({"color_mode": 1}, "color_mode"),
]


@pytest.mark.parametrize("metadata, key", BAD_METADATA)
def test_bad_metadata_is_a_value_error_naming_the_file_and_key(tmp_path, metadata, key):
    path = image_model().save(tmp_path / "meta.npz", metadata=metadata)
    loaded = Sequential.load(path)
    with pytest.raises(ValueError, match=rf"meta.npz.*'{key}'"):
        check_metadata(loaded, path)


def test_check_metadata_refuses_image_keys_for_a_model_without_image_input():
    model = Sequential([Dense(1)], input_shape=(4,), seed=0)
    assert check_metadata(model)["image_size"] is None
    model.metadata = {"image_size": [4, 1]}
    with pytest.raises(ValueError, match="image_size"):
        check_metadata(model)


def test_an_architecture_string_declaring_gigabytes_is_refused_before_allocating(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "__minicnn_config__.npy"]
    fake = npy_header((), "<U100000000") + b"{}\0\0\0"  # says 400 MB of text, holds 5 bytes
    entries.append(("__minicnn_config__.npy", fake, zipfile.ZIP_STORED, zlib.crc32(fake), len(fake)))
    write_zip(tmp_path / "text.npz", entries)
    with pytest.raises(ValueError, match=r"text.npz.*400,000,000-byte string"):
        Sequential.load(tmp_path / "text.npz")


# --- the optimizer in the file (include_optimizer, Keras's default) ---------------------------
def trained_with(optimizer, epochs=2):
    model = Sequential([Conv2D(2, 3), BatchNormalization(), ReLU(), Flatten(), Dense(1)],
                       input_shape=(5, 5, 1), seed=0)
    model.compile(optimizer)
    x, y = data(shape=(5, 5, 1))
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model, x, y


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


def craft_optimizer(tmp_path, edit_config=None, edit_arrays=None):
    model, _, _ = trained_with(Adam(0.01))
    config, arrays = members(model.save(tmp_path / "good.npz"))
    if edit_config is not None:
        edit_config(config["optimizer"])
    if edit_arrays is not None:
        edit_arrays(arrays)
    np.savez(tmp_path / "bad.npz", __minicnn_config__=np.array(json.dumps(config)), **arrays)
    return tmp_path / "bad.npz"


def _set(key, value):
    return lambda entry: entry.__setitem__(key, value)


@pytest.mark.parametrize("edit_config, edit_arrays, message", [
    (_set("class_name", "RMSprop"), None, r"optimizer 'RMSprop'; minicnn can load \['Adam', 'SGD'\]"),
    (lambda e: e["config"].update(amsgrad=True), None, r"unknown argument 'amsgrad'"),
    (lambda e: e["config"].update(beta_1="high"), None, r"'beta_1' must be a number"),
    (lambda e: e["config"].update(beta_1=1.5), None, r"cannot be made.*beta_1"),
    (_set("iterations", -1), None, r"'iterations' must be an integer >= 0"),
    (_set("iterations", 0), None, r"0 step\(s\) but 6 slot\(s\)"),
    (lambda e: e.pop("slots"), None, r"exactly the keys"),
    (lambda e: e["slots"].pop(), None, r"one entry per parameter of the model \(6\)"),
    (lambda e: e["slots"][1].update(param="layers.0.params.W"), None, r"slot 1 must be .*not named"),
    (lambda e: e["slots"][0].update(param="layers.9.params.W"), None, r"slot 0 must be"),
    (lambda e: e["slots"][0].update(arrays=["m", "v", "velocity"]), None,
     r"slot 0 arrays must be distinct names among \['m', 'v', 'average'\]"),
    (None, lambda a: a.pop("optimizer.2.v"), r"'optimizer.2.v' is missing"),
    (None, lambda a: a.update({"optimizer.0.m": np.zeros((3, 3, 1, 3), np.float32)}),
     r"'optimizer.0.m' holds float32 \(3, 3, 1, 3\); the optimizer \(Adam\) for "
     r"'layers.0.params.W' needs float32 \(3, 3, 1, 2\)"),
    (None, lambda a: a.update({"optimizer.0.m": a["optimizer.0.m"].astype(np.float64)}),
     r"holds float64"),
    (None, lambda a: a.update({"optimizer.7.m": np.zeros(2, np.float32)}),
     r"unexpected member\(s\) 'optimizer.7.m'"),
    (None, lambda a: a["optimizer.4.v"].__setitem__((0, 0), np.nan), r"non-finite"),
])
def test_a_damaged_optimizer_is_refused_naming_the_file(tmp_path, edit_config, edit_arrays, message):
    path = craft_optimizer(tmp_path, edit_config, edit_arrays)
    with pytest.raises(ValueError, match=r"bad.npz.*" + message):
        Sequential.load(path)


def test_the_optimizer_arrays_count_towards_the_size_limit(tmp_path):
    model, _, _ = trained_with(Adam(0.01))
    weights = sum(a.nbytes for a in model.get_weights())
    path = model.save(tmp_path / "m.npz")
    load_model(path, Sequential, max_bytes=3 * weights)  # weights + m + v fit
    with pytest.raises(ValueError, match=r"the optimizer \(Adam\): array 'optimizer.* above the limit"):
        load_model(path, Sequential, max_bytes=2 * weights)
    load_model(model.save(tmp_path / "w.npz", include_optimizer=False), Sequential,
               max_bytes=weights)


def test_a_training_state_round_trips_and_must_be_a_dict(tmp_path):
    model, _, _ = trained_with(Adam(0.01))
    state = {"epoch": 3, "note": [1, 2.5, None]}
    path = saving.save_model(model, tmp_path / "s.npz", training_state=state)
    loaded, read = load_model(path, Sequential, with_training_state=True)
    assert read == state and load_model(model.save(tmp_path / "p.npz"), Sequential,
                                        with_training_state=True)[1] is None
    with pytest.raises(ValueError, match="training_state must be a dict"):
        saving.save_model(model, tmp_path / "x.npz", training_state=[1])
