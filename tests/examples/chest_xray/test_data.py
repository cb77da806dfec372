"""Step 1 on a tiny Kaggle-shaped folder (examples/chest_xray/data.py): every leak rule, counted."""

import shutil

import numpy as np
import pytest
from PIL import Image

from chest_xray import data

TRAIN = {
    "NORMAL": ["IM-0001-0001", "IM-0001-0002", "IM-0002-0001", "IM-0003-0001", "IM-0004-0001",
               "scan_x", "scan_y"],
    "PNEUMONIA": ["person1_virus_1", "person1_virus_2", "person2_bacteria_3", "person3_virus_4",
                  "person4_bacteria_5", "person5_virus_6"],
}
TEST = {"NORMAL": ["IM-0010-0001", "IM-0011-0001"],
        "PNEUMONIA": ["person1_virus_9", "person9_virus_10"]}   # person1 is also in train/


def kaggle_folder(root):
    rng = np.random.default_rng(0)
    for split, classes in (("train", TRAIN), ("test", TEST)):
        for label, stems in classes.items():
            (root / split / label).mkdir(parents=True)
            for stem in stems:
                pixels = rng.integers(0, 256, (12, 12), dtype=np.uint8)  # all different
                Image.fromarray(pixels).save(root / split / label / f"{stem}.png")
    # A byte-identical copy under another patient's name: IM-0004 and IM-0003 become one group.
    shutil.copyfile(root / "train/NORMAL/IM-0003-0001.png", root / "train/NORMAL/IM-0004-0001.png")
    return root


def test_prepare_folder_splits_by_patient_and_counts_every_removal(tmp_path):
    root = kaggle_folder(tmp_path / "chest_xray")
    prepared = data.prepare_folder(str(root), image_size=8, color_mode="grayscale", batch_size=4,
                                   seed=0, limit=None, cache="memory", val_fraction=0.3)
    s = prepared.summary
    assert s["duplicates"] == {"byte-identical sets": 1, "files in them": 2,
                               "copies removed from train/": 1}
    assert s["train images dropped (child also in test/)"] == 2        # person1's two films
    assert s["file names without a Kaggle patient id"] == 2            # scan_x, scan_y
    assert prepared.official_val is None and prepared.test.num_examples == 4   # test/ complete
    assert prepared.train.num_examples + prepared.val.num_examples == 13 - 1 - 2
    patients = {split: {p for _, p, _, sp in prepared.rows if sp == split}
                for split in ("train", "val", "test")}
    assert patients["val"] and not patients["train"] & patients["val"]
    assert not (patients["train"] | patients["val"]) & patients["test"]
    assert "person1" not in patients["train"] | patients["val"]
    # The duplicate's patients share a group: IM-0003 (the smaller id) names it.
    assert {p for f, p, _, _ in prepared.rows if "IM-0003" in f} == {"IM-0003"}
    assert len(prepared.rows) == 10 + 4 and len({f for f, *_ in prepared.rows}) == 14


def test_resolve_data_names_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    with pytest.raises(data.DataError, match="(?s)does not exist.*kaggle.com"):
        data.resolve_data(str(tmp_path / "nowhere"), str(tmp_path), None)
    (tmp_path / "flat" / "NORMAL").mkdir(parents=True)
    with pytest.raises(data.DataError, match="no train or test/ sub-folder"):
        data.resolve_data(str(tmp_path / "flat"), str(tmp_path), None)
    root = kaggle_folder(tmp_path / "chest_xray")
    assert data.resolve_data(str(root), str(tmp_path), None) == ("folder", str(root), "--data")
    monkeypatch.setenv("MINICNN_DATA", str(root))
    assert data.resolve_data(None, str(tmp_path), None) == ("folder", str(root), "$MINICNN_DATA")


def test_limit_and_class_weights():
    labels = np.array([0] * 30 + [1] * 70)
    chosen = data.limit_indices(labels, 10, np.random.default_rng(0))
    assert len(chosen) == 10 and np.bincount(labels[chosen]).tolist() == [3, 7]
    assert data.limit_indices(labels, None, None).tolist() == list(range(100))
    weights = data.keras_class_weights(labels)
    assert weights == pytest.approx({0: 100 / 60, 1: 100 / 140})      # n / (2 n_c)


def test_without_data_the_embedded_set_is_used_and_nothing_is_downloaded(tmp_path, monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data.pneumoniamnist.data, "download",
                        lambda *a, **k: pytest.fail("downloaded without being asked"))
    kind, path, how = data.resolve_data(None, str(tmp_path), None)
    assert (kind, how) == (data.EMBEDDED, "fallback") and path == data.embedded_set.DATA_PATH
    assert data.uses_embedded(None) and data.uses_embedded("embedded")
    assert not data.uses_embedded(str(tmp_path))
    (tmp_path / "data" / "chest_xray").mkdir(parents=True)          # ./data/chest_xray wins
    assert not data.uses_embedded(None)
    with pytest.raises(data.DataError, match="no train or test/ sub-folder"):
        data.resolve_data(None, str(tmp_path), None)


def test_medmnist_size_is_asked_for_never_224_silently(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(data.pneumoniamnist, "fetch",
                        lambda size, cache_dir=None: fetched.append(size) or f"p_{size}.npz")
    assert data.resolve_data("medmnist:64", str(tmp_path), None)[:2] == ("npz", "p_64.npz")
    assert data.resolve_data("medmnist", str(tmp_path), 128)[:2] == ("npz", "p_128.npz")
    with pytest.raises(data.DataError, match=r"needs a size: medmnist:SIZE"):
        data.resolve_data("medmnist", str(tmp_path), None)
    with pytest.raises(data.DataError, match=r"published at \[28, 64, 128, 224\]"):
        data.resolve_data("medmnist:100", str(tmp_path), None)
    assert fetched == [64, 128]


def test_prepare_embedded_keeps_every_leak_rule():
    prepared = data.prepare_embedded(None, "grayscale", 32, seed=0, limit=None, val_fraction=0.1)
    s = prepared.summary
    assert prepared.kind == data.EMBEDDED and prepared.train.image_size == (28, 28)
    assert s["duplicates"]["byte-identical sets"] == 30 and s["duplicates"]["files in them"] == 62
    assert s["train images dropped (child also in test/)"] > 0
    assert prepared.test.num_examples == 624 and prepared.official_val.num_examples == 16
    patients = {split: {p for _, p, _, sp in prepared.rows if sp == split}
                for split in ("train", "val", "test")}
    assert not patients["train"] & patients["val"]
    assert not (patients["train"] | patients["val"]) & patients["test"]
    assert "0.944" in prepared.notes[0] and "28x28 DEMO" in prepared.notes[0]
    with pytest.raises(data.DataError, match="28x28 grayscale"):
        data.prepare_embedded(64, "grayscale", 32, 0, None, 0.1)


def test_a_class_with_no_decodable_file_is_a_data_error_naming_it(tmp_path):
    root = kaggle_folder(tmp_path / "chest_xray")
    for f in (root / "train" / "NORMAL").iterdir():
        f.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")      # non-empty, undecodable
    with pytest.raises(data.DataError, match="(?s)'NORMAL' has no readable image"):
        data.prepare_folder(str(root), image_size=8, color_mode="grayscale", batch_size=4,
                            seed=0, limit=None, cache="memory", val_fraction=0.3)
