"""The patient of a Kaggle file name (examples/chest_xray/patients.py), and the split it keys."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from chest_xray.patients import is_kaggle_name, patient_id, patient_ids
from minicnn.data import (describe_duplicates, find_duplicates, merge_duplicate_groups,
                          stratified_group_split)


@pytest.mark.parametrize("name, patient", [
    ("person1000_virus_1681.jpeg", "person1000"),
    ("person1000_bacteria_2931.jpeg", "person1000"),
    ("person447_virus_921_1.jpeg", "person447"),
    ("IM-0115-0001.jpeg", "IM-0115"),
    ("IM-0011-0001-0002.jpeg", "IM-0011"),
    ("NORMAL2-IM-0588-0001.jpeg", "NORMAL2-IM-0588"),
    ("/data/chest_xray/train/NORMAL/NORMAL2-IM-0588-0001.jpeg", "NORMAL2-IM-0588"),
    (Path("train/PNEUMONIA/person1_bacteria_1.JPEG"), "person1"),
])
def test_patient_id_parsing(name, patient):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # recognised names never warn
        assert patient_id(name) == patient
        assert patient_ids([name]).tolist() == [patient]


def test_unrecognised_name_is_its_own_patient_with_a_warning():
    with pytest.warns(UserWarning, match="not a Kaggle"):
        assert patient_id("scan_042.png") == "scan_042"
    with pytest.warns(UserWarning, match="2 file name.*not in the Kaggle patterns"):
        ids = patient_ids(["IM-0001-0001.jpeg", "a.png", "b.png"])
    assert ids.tolist() == ["IM-0001", "a", "b"]
    assert [is_kaggle_name(n) for n in ("IM-0001-0001.jpeg", "a.png")] == [True, False]


def real_training_files():
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("MINICNN_DATA is not set: no real chest X-ray file names to check")
    paths, labels = [], []
    for label, name in enumerate(["NORMAL", "PNEUMONIA"]):
        folder = Path(root) / "train" / name
        files = sorted(str(p) for p in folder.glob("*.jpeg"))
        paths += files
        labels += [label] * len(files)
    if not paths:
        pytest.skip(f"no train/NORMAL or train/PNEUMONIA images under MINICNN_DATA={root}")
    return paths, np.array(labels)


def assert_partition(train, val, n):
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))


def test_real_names_all_parse_and_the_patient_split_does_not_leak():
    paths, labels = real_training_files()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # every real name is recognised
        groups = patient_ids(paths)
    assert len(set(groups)) < len(paths)                     # patients with several images exist
    dups = find_duplicates(paths)
    assert dups                                              # the official set has some
    assert describe_duplicates(dups, paths, labels)["label_conflicts"] == 0
    groups = merge_duplicate_groups(groups, paths, dups)
    train, val = stratified_group_split(labels, groups, 0.1, seed=0)
    assert_partition(train, val, len(paths))
    assert not set(groups[train]) & set(groups[val])
    in_val = np.zeros(len(paths), bool)
    in_val[val] = True
    index = {p: i for i, p in enumerate(paths)}
    assert all(len({in_val[index[p]] for p in dup}) == 1 for dup in dups)
    assert abs(len(val) / len(paths) - 0.1) < 0.01
    assert abs(labels[val].mean() - labels.mean()) < 0.01
