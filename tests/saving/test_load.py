"""minicnn.saving.load: every crafted or damaged file is refused with a ValueError naming it,
before anything the file declares is allocated (checked under a capped address space): arrays
that do not match the architecture, unexpected members, weights above the size limit, a
damaged optimizer."""

import json
import os
import pickle
import re
import zipfile

import numpy as np
import pytest

try:
    import resource
except ImportError:  # not on Windows
    resource = None

from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.optimizers import Adam
from minicnn.saving import load_model

from saving_support import craft, dense, members, small_model, trained_with
from zip_support import deflated_zeros, load_capped, npy_header, stored_entries, write_zip


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


# --- attacks: crafted files ------------------------------------------------------------------
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


# --- attacks: zips made by hand, loaded under a memory cap -----------------------------------
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


def test_a_file_is_refused_when_its_weights_exceed_the_size_limit(tmp_path):
    model = Sequential([Flatten(), Dense(64)], input_shape=(16, 16, 1), seed=0)
    path = model.save(tmp_path / "m.npz")
    assert load_model(path, Sequential).count_params() == 256 * 64 + 64
    with pytest.raises(ValueError, match=r"m.npz.*layer 1.*Dense.*limit of 1,000 bytes.*max_bytes"):
        load_model(path, Sequential, max_bytes=1000)


# --- a damaged optimizer in the file ---------------------------------------------------------
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
