"""The embedded 28x28 chest X-ray set: contents, checks on a bad file, the dataset view, the rebuild."""

import csv
import importlib.util
import os
import shutil
import sys
import warnings

import numpy as np
import pytest

from minicnn import data as mdata
from minicnn.datasets import chest_xray

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "examples")


def example_patient_ids(paths):
    """The pneumonia example's patient ids (examples/chest_xray/patients.py) for ``paths``."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    from chest_xray import patients  # the example's package, not minicnn.datasets.chest_xray
    return patients.patient_ids(paths)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "make_chest_xray_28.py")
SHARED = os.path.join(REPO, "..", "..", "shared", "data")  # /work/wt/<name> -> /work/shared/data


def shared_file(name):
    """A file of the shared data folder (next to $MINICNN_DATA), or skip."""
    candidates = [os.path.join(SHARED, name), os.path.join("/work/shared/data", name)]
    if os.environ.get("MINICNN_DATA"):
        candidates.insert(0, os.path.join(os.environ["MINICNN_DATA"], "..", name))
    for path in candidates:
        if os.path.exists(path):
            return path
    pytest.skip(f"{name} not found next to $MINICNN_DATA (shared/data)")


@pytest.fixture(scope="module")
def manifest():
    """[(split, class, file name, sha256)] of the 5,856 official files."""
    with open(shared_file("chest_xray_official_manifest.tsv"), newline="", encoding="utf-8") as f:
        return [(r["split"], r["class"], r["filename"], r["sha256"])
                for r in csv.DictReader(f, delimiter="\t")]


@pytest.fixture(scope="module")
def named():
    return chest_xray.load_data(with_file_names=True)


def load_tool():
    spec = importlib.util.spec_from_file_location("make_chest_xray_28", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- what is in the file ----------------------------------------------------------------

def test_shapes_dtypes_and_counts_per_split_and_class():
    splits = chest_xray.load_data()
    assert len(splits) == 3 and all(len(s) == 2 for s in splits)
    for (x, y), name in zip(splits, ("train", "val", "test")):
        normal, pneumonia = chest_xray.COUNTS[name]
        assert x.shape == (normal + pneumonia, 28, 28) and x.dtype == np.uint8
        assert y.shape == (normal + pneumonia,) and y.dtype == np.uint8
        assert np.bincount(y, minlength=2).tolist() == [normal, pneumonia]
        assert 0 < x.std() and x.min() < 30 and x.max() > 220  # real X-rays, not a blank array
    counts = {name: chest_xray.COUNTS[name] for name in ("train", "val", "test")}
    assert counts == {"train": (1341, 3875), "val": (8, 8), "test": (234, 390)}
    assert sum(len(y) for _, y in splits) == 5856


def test_names_are_the_official_files_in_the_documented_order(named, manifest):
    paths = [p for _, _, names in named for p in names]
    expected = sorted(manifest, key=lambda r: (("train", "val", "test").index(r[0]),
                                               r[1], r[2]))
    assert paths == [f"{s}/{c}/{n}" for s, c, n, _ in expected]
    for (_, y, names), split in zip(named, ("train", "val", "test")):
        for label, path in zip(y.tolist(), names):
            assert path.split("/")[:2] == [split, chest_xray.CLASS_NAMES["binary"][label]]


def test_file_is_at_most_5_mb_and_its_checksum_is_the_constant():
    assert os.path.getsize(chest_xray.DATA_PATH) <= 5 * 1024 * 1024
    with np.load(chest_xray.DATA_PATH, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    assert len(arrays) == 12
    assert chest_xray.arrays_sha256(arrays) == chest_xray.ARRAYS_SHA256
    arrays["val_images"] = arrays["val_images"].copy()
    arrays["val_images"][0, 0, 0] ^= 1  # one bit of one pixel
    assert chest_xray.arrays_sha256(arrays) != chest_xray.ARRAYS_SHA256


def test_three_class_labels_follow_the_file_names(named, manifest):
    three = chest_xray.load_data(labels="3class")
    assert chest_xray.CLASS_NAMES["3class"] == ["NORMAL", "BACTERIA", "VIRUS"]
    for (x, y_binary, names), (x3, y3) in zip(named, three):
        assert np.array_equal(x, x3) and y3.dtype == np.uint8
        for name, b, t in zip(names, y_binary.tolist(), y3.tolist()):
            expected = 0 if "/NORMAL/" in name else (1 if "_bacteria_" in name else 2)
            assert t == expected and (t > 0) == (b == 1)
    # Counts from the manifest's own names (bacteria 2530 / virus 1345 in train).
    virus = sum(1 for s, c, n, _ in manifest if s == "train" and "_virus_" in n)
    assert np.bincount(three[0][1]).tolist() == [1341, 3875 - virus, virus]
    assert virus == 1345


def test_three_class_labels_reject_names_that_disagree_with_the_class():
    with pytest.raises(ValueError, match="IM-0001-0001.jpeg"):
        chest_xray.three_class_labels(["IM-0001-0001.jpeg"], [1])
    with pytest.raises(ValueError, match="person1_virus_bacteria_1"):
        chest_xray.three_class_labels(["person1_virus_bacteria_1.jpeg"], [1])
    assert chest_xray.three_class_labels(["a/person2_virus_3.jpeg"], [1]).tolist() == [2]
    with pytest.raises(ValueError, match='"binary" or "3class"'):
        chest_xray.load_data(labels="multi")


def test_duplicate_groups_match_the_official_sha256(named, manifest):
    by_hash = {}
    for s, c, n, h in manifest:
        by_hash.setdefault(h, []).append(f"{s}/{c}/{n}")
    official = sorted(sorted(g) for g in by_hash.values() if len(g) > 1)
    paths = [p for _, _, names in named for p in names]
    found = chest_xray.find_duplicates(paths)
    assert len(found) == 30 and sum(len(g) for g in found) == 62
    assert sorted(sorted(g) for g in found) == official
    # The contract of minicnn.data.find_duplicates: input order inside a group, groups by first.
    position = {p: i for i, p in enumerate(paths)}
    assert all([position[p] for p in g] == sorted(position[p] for p in g) for g in found)
    assert [position[g[0]] for g in found] == sorted(position[g[0]] for g in found)


def test_find_duplicates_on_part_of_the_set_and_on_unknown_names(named):
    paths = [p for _, _, names in named for p in names]
    group = chest_xray.find_duplicates(paths)[0]
    assert chest_xray.find_duplicates(group[:1] + paths[:0]) == []          # one copy: no group
    assert chest_xray.find_duplicates(list(reversed(group))) == [list(reversed(group))]
    with pytest.raises(ValueError, match="not an image of the embedded set"):
        chest_xray.find_duplicates(["train/NORMAL/no-such-file.jpeg"])


def test_medmnist_reader_reads_it_too():
    (x_train, y_train), _, _ = chest_xray.load_data()
    ds = mdata.medmnist_dataset(chest_xray.DATA_PATH, "train", shuffle=False, class_names=["N", "P"])
    assert ds.num_examples == 5216 and np.array_equal(ds.labels, y_train)
    assert np.array_equal(ds.load(np.arange(5))[0][..., 0], x_train[:5])


# --- as a minicnn dataset -------------------------------------------------------------------

def test_load_dataset_has_the_folder_dataset_interface(named):
    (x_train, y_train, names), _, _ = named
    ds = chest_xray.load_dataset("train", batch_size=64, shuffle=False)
    assert ds.num_examples == 5216 and len(ds) == 82 and ds.image_size == (28, 28)
    assert ds.class_names == ["NORMAL", "PNEUMONIA"] and ds.file_paths == names
    assert np.array_equal(ds.labels, y_train) and ds.cache() is ds
    x, y = next(iter(ds))
    assert x.shape == (64, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (64, 1) and y.dtype == np.float32
    assert np.array_equal(x[..., 0], x_train[:64].astype(np.float32))
    # The example's steps: patients from the names (all recognised), subsets that keep names.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        patients = example_patient_ids(ds.file_paths)
    assert len(set(patients.tolist())) < ds.num_examples
    assert "person1000" in set(patients.tolist()) and "IM-0115" in set(patients.tolist())
    train_idx, val_idx = mdata.stratified_group_split(ds.labels, patients, val_fraction=0.1, seed=0)
    val = ds.subset(val_idx, shuffle=False)
    assert val.file_paths == [names[i] for i in val_idx]
    assert not set(patients[train_idx].tolist()) & set(patients[val_idx].tolist())
    batch_x, batch_y = val.load(np.arange(3))
    assert np.array_equal(batch_x[..., 0], x_train[val_idx[:3]])
    assert np.array_equal(batch_y[:, 0], y_train[val_idx[:3]])


def test_load_dataset_3class_and_shuffling():
    test = chest_xray.load_dataset("test", labels="3class", batch_size=700, seed=3)
    assert test.class_names == ["NORMAL", "BACTERIA", "VIRUS"] and test.label_mode == "int"
    x, y = next(iter(test))
    assert x.shape == (624, 28, 28, 1) and y.dtype == np.int32
    assert np.bincount(y).tolist() == [234, 242, 148]
    assert not np.array_equal(y, np.asarray(test.labels))  # shuffled, yet same multiset
    cat = chest_xray.load_dataset("val", labels="3class", label_mode="categorical")
    assert next(iter(cat))[1].shape == (16, 3)
    with pytest.raises(ValueError, match='"train", "val" or "test"'):
        chest_xray.load_dataset("validation_set")


# --- a wrong or damaged file ----------------------------------------------------------------

def rewrite(tmp_path, change):
    """A copy of the packaged file with ``change(arrays)`` applied."""
    with np.load(chest_xray.DATA_PATH, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    path = tmp_path / "chest_xray_28.npz"
    np.savez_compressed(path, **arrays)
    return path


def flip_pixel(a):
    a["test_images"] = a["test_images"].copy()
    a["test_images"][10, 5, 5] += 1


@pytest.mark.parametrize("change, message", [
    (flip_pixel, "corrupted or not the file"),
    (lambda a: a.pop("val_names"), r"lacks \['val_names'\]"),
    (lambda a: a.update(train_images=a["train_images"].astype(np.int16)), "dtype int16"),
    (lambda a: a.update(val_images=a["val_images"][:15]), r"shape \(15, 28, 28\)"),
    (lambda a: a.update(test_labels=a["test_labels"][:, 0]), r"test_labels has shape \(624,\)"),
])
def test_a_changed_file_gives_a_clear_error(tmp_path, change, message):
    path = rewrite(tmp_path, change)
    with pytest.raises(ValueError, match=message) as info:
        chest_xray.load_data(path=path)
    assert str(path) in str(info.value) and "make_chest_xray_28.py" in str(info.value)
    assert "reinstall" in str(info.value)


def test_the_checksum_can_be_skipped_for_a_self_built_file(tmp_path):
    path = rewrite(tmp_path, flip_pixel)
    (x, _), _, (x_test, _) = chest_xray.load_data(path=path, sha256=None)
    assert x.shape == (5216, 28, 28) and x_test[10, 5, 5] == chest_xray.load_data()[2][0][10, 5, 5] + 1


def test_damaged_bytes_and_missing_files_give_a_clear_error(tmp_path):
    raw = bytearray(open(chest_xray.DATA_PATH, "rb").read())
    cases = {"truncated.npz": raw[: len(raw) // 2], "garbage.npz": b"not a zip file at all",
             "flipped.npz": raw[:1000] + bytes(b ^ 0xFF for b in raw[1000:1100]) + raw[1100:]}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(bytes(content))
        with pytest.raises(ValueError, match="make_chest_xray_28.py") as info:
            chest_xray.load_data(path=path)
        assert str(path) in str(info.value), name
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match="cannot read"):
        chest_xray.load_data(path=tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        chest_xray.load_data(path=tmp_path / "missing.npz")


# --- the rebuild ----------------------------------------------------------------------------

def test_the_tool_rejects_an_incomplete_folder(tmp_path):
    tool = load_tool()
    (tmp_path / "train" / "NORMAL").mkdir(parents=True)
    shutil.copy(chest_xray.DATA_PATH, tmp_path / "train" / "NORMAL" / "ignored.npz")
    with pytest.raises(SystemExit, match="not the complete Kaggle chest X-ray folder") as info:
        tool.list_files(str(tmp_path))
    assert "train/NORMAL has 0 .jpeg files, the official set 1341" in str(info.value)
    assert "PNEUMONIA is not a folder" in str(info.value)


def test_rebuild_from_minicnn_data_gives_the_same_arrays(tmp_path, capsys):
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("MINICNN_DATA is not set (it points to shared/data/chest_xray)")
    out = tmp_path / "rebuilt.npz"
    assert load_tool().main([root, "--out", str(out)]) == 0
    assert "= chest_xray.ARRAYS_SHA256" in capsys.readouterr().out
    rebuilt = chest_xray.load_data(with_file_names=True, path=out)  # verifies the checksum
    packaged = chest_xray.load_data(with_file_names=True)
    for (x1, y1, n1), (x2, y2, n2) in zip(rebuilt, packaged):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and n1 == n2


def test_the_examples_patient_and_duplicate_steps_run_on_it():
    """examples/chest_xray/data.py's steps 2-4 (patients, duplicates, leaks), with find_duplicates swapped in."""
    found = {s: chest_xray.load_dataset(s, shuffle=False) for s in ("test", "val", "train")}
    paths = [p for ds in found.values() for p in ds.file_paths]
    split_of = np.array([s for s, ds in found.items() for _ in range(ds.num_examples)])
    patients = example_patient_ids(paths)
    duplicates = chest_xray.find_duplicates(paths)
    groups = mdata.merge_duplicate_groups(patients, paths, duplicates)
    keep = mdata.keep_first_mask(paths, duplicates) | (split_of != "train")
    assert int(np.sum(~keep)) == sum(len(d) - 1 for d in duplicates if d[0].startswith("train/"))
    leak = (split_of == "train") & np.isin(groups, list(set(groups[split_of == "test"].tolist())))
    assert 0 < leak.sum() < (split_of == "train").sum()   # children numbered across the splits
    kept = keep & ~leak & (split_of == "train")
    train = found["train"].subset(np.flatnonzero(kept[split_of == "train"]))
    assert train.file_paths == [p for p, k in zip(paths, kept) if k]
    assert np.array_equal(train.labels, [int("/PNEUMONIA/" in p) for p in train.file_paths])
