"""--task 3class's labels (examples/chest_xray/classes.py) and the patient split they go through.

NORMAL 0, BACTERIA 1, VIRUS 2 from the Kaggle file names; a file whose name does not say its
class is an error naming it. The split is the binary one: a child's films stay on one side,
whatever the kind of pneumonia on each (on a tiny folder, on the embedded set, and on the real
file names when MINICNN_DATA is set).
"""

import os
import sys
import warnings

import numpy as np
import pytest

from chest_xray import classes, data
from chest_xray.patients import patient_ids
from minicnn.data import array_dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_data import TRAIN, kaggle_folder  # noqa: E402  (the tiny Kaggle folder)


def test_labels_come_from_the_file_names():
    paths = ["train/NORMAL/IM-0115-0001.jpeg", "train/NORMAL/NORMAL2-IM-0588-0001.jpeg",
             "train/PNEUMONIA/person1_bacteria_1.jpeg", "test/PNEUMONIA/person1_virus_6.jpeg",
             "train/PNEUMONIA/person447_virus_921_1.jpeg", "x/PERSON3_BACTERIA_9.JPEG"]
    labels = classes.three_class_labels(paths, [0, 0, 1, 1, 1, 1], ["NORMAL", "PNEUMONIA"])
    assert labels.tolist() == [0, 0, 1, 2, 2, 1]
    assert classes.num_classes("3class") == 3 and classes.num_classes("binary") == 2


@pytest.mark.parametrize("name, folder_label, said", [
    ("person9_pneumonia_3.jpeg", 1, "neither bacteria nor virus"),
    ("person9_bacteria_virus_3.jpeg", 1, "both bacteria and virus"),
    ("person9_virus_3.jpeg", 0, "in a NORMAL folder but its name says virus"),
])
def test_a_name_that_does_not_say_its_class_is_an_error_naming_the_file(name, folder_label, said):
    with pytest.raises(ValueError, match=f"{name}.*{said}.*(--task binary)"):
        classes.three_class_labels([f"train/X/{name}"], [folder_label], ["NORMAL", "PNEUMONIA"])
    with pytest.raises(ValueError, match="NORMAL and PNEUMONIA"):
        classes.three_class_labels(["a.png"], [0], ["CAT", "DOG"])


def test_as_three_classes_relabels_a_dataset_in_its_order():
    names = ["IM-0001-0001.png", "person1_virus_1.png", "person2_bacteria_2.png"]
    ds = array_dataset(np.zeros((3, 4, 4), np.uint8), [0, 1, 1], shuffle=False,
                       class_names=["NORMAL", "PNEUMONIA"], file_paths=names)
    three = classes.as_three_classes(ds)
    assert three.class_names == ["NORMAL", "BACTERIA", "VIRUS"] and three.label_mode == "int"
    assert three.labels.tolist() == [0, 2, 1] and three.file_paths == names


def _no_child_on_two_sides(prepared):
    """No patient group, and no patient read afresh from the file names, on two sides."""
    names = [r[0] for r in prepared.rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the tiny folder's scan_x.png: its own patient, on purpose
        fresh = patient_ids(names).tolist()
    for patients in ([r[1] for r in prepared.rows], fresh):
        sides = {}
        for patient, row in zip(patients, prepared.rows):
            sides.setdefault(patient, set()).add(row[3])
        both = {p: s for p, s in sides.items() if {"train", "val"} <= s or {"train", "test"} <= s}
        assert not both, list(both.items())[:5]


def test_a_tiny_kaggle_folder_splits_by_patient_with_three_classes(tmp_path):
    root = kaggle_folder(tmp_path / "chest_xray")
    prepared = data.prepare_folder(str(root), 8, "grayscale", 4, 0, None, "memory", 0.3,
                                   task="3class")
    assert prepared.class_names == ["NORMAL", "BACTERIA", "VIRUS"]
    found = prepared.summary["files found"]
    assert found["train"] == {"NORMAL": len(TRAIN["NORMAL"]), "BACTERIA": 2, "VIRUS": 4}
    assert found["test"] == {"NORMAL": 2, "BACTERIA": 0, "VIRUS": 2}
    for _, ds in (("train", prepared.train), ("val", prepared.val), ("test", prepared.test)):
        expected = [0 if "/NORMAL/" in p else 1 if "_bacteria_" in p else 2 for p in ds.file_paths]
        assert ds.labels.tolist() == expected
    assert {r[2] for r in prepared.rows} <= {"NORMAL", "BACTERIA", "VIRUS"}
    _no_child_on_two_sides(prepared)
    # person1 has a film in test/: their training films left, as for --task binary.
    assert not any("person1_" in p for p in prepared.train.file_paths + prepared.val.file_paths)


def test_a_pneumonia_file_without_a_kind_stops_the_run_naming_it(tmp_path):
    root = kaggle_folder(tmp_path / "chest_xray")
    os.rename(root / "train/PNEUMONIA/person5_virus_6.png", root / "train/PNEUMONIA/scan_z.png")
    with pytest.raises(data.DataError, match="(?s)--task 3class.*scan_z.png.*neither bacteria"):
        data.prepare_folder(str(root), 8, "grayscale", 4, 0, None, "memory", 0.3, task="3class")
    binary = data.prepare_folder(str(root), 8, "grayscale", 4, 0, None, "memory", 0.3)
    assert binary.class_names == ["NORMAL", "PNEUMONIA"]              # --task binary reads it


def test_a_medmnist_file_has_no_three_classes(tmp_path):
    from types import SimpleNamespace
    npz = tmp_path / "pneumoniamnist.npz"
    x = np.zeros((4, 8, 8), np.uint8)
    np.savez(npz, **{f"{s}_{k}": (x if k == "images" else np.array([[0], [1], [0], [1]]))
                     for s in ("train", "val", "test") for k in ("images", "labels")})
    args = SimpleNamespace(cache="memory", data=str(npz), image_size=None, color_mode="grayscale",
                           batch_size=4, seed=0, limit=None, val_fraction=0.1, task="3class")
    with pytest.raises(data.DataError, match="MedMNIST .npz.*no file names.*--task binary"):
        data.find_and_split(args)


def test_the_embedded_set_gives_three_classes_and_keeps_each_child_on_one_side():
    prepared = data.prepare_embedded(None, "grayscale", 64, 0, None, 0.1, task="3class")
    assert prepared.class_names == ["NORMAL", "BACTERIA", "VIRUS"]
    test = prepared.summary["images used"]["test"]
    assert test == {"NORMAL": 234, "BACTERIA": 242, "VIRUS": 148}      # the official test/, whole
    for ds in (prepared.train, prepared.val, prepared.test):
        assert ds.label_mode == "int" and set(np.unique(ds.labels)) == {0, 1, 2}
    _no_child_on_two_sides(prepared)
    # The same children on each side as the binary split of the same seed (patients, not labels,
    # decide; only the stratification differs, so compare the test side and the dropped films).
    binary = data.prepare_embedded(None, "grayscale", 64, 0, None, 0.1)
    assert prepared.test.file_paths == binary.test.file_paths
    assert sorted(prepared.trainval.file_paths) == sorted(binary.trainval.file_paths)


@pytest.mark.skipif(not os.environ.get("MINICNN_DATA"),
                    reason="MINICNN_DATA is not set (the real Kaggle folder)")
def test_the_real_file_names_give_three_classes_and_a_patient_split():
    root = os.environ["MINICNN_DATA"]
    # At 8 px and at most 600 films per split: the file names and the split are what is tested.
    prepared = data.prepare_folder(root, 8, "grayscale", 64, 0, 600, "memory", 0.1, task="3class")
    for ds in (prepared.train, prepared.val, prepared.test):
        names = [os.path.basename(p) for p in ds.file_paths]
        expected = [0 if "person" not in n else 1 if "_bacteria_" in n else 2 for n in names]
        assert ds.labels.tolist() == expected and set(expected) == {0, 1, 2}
    _no_child_on_two_sides(prepared)
