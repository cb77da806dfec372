"""Leak-free splits: whole patients per side, class ratios kept, duplicates together, balanced sampling."""

import os
from pathlib import Path

import numpy as np
import pytest

from minicnn.data.splits import (
    ClassBalancedSampler,
    class_balanced_indices,
    describe_duplicates,
    find_duplicates,
    group_ids,
    keep_first_mask,
    merge_duplicate_groups,
    stratified_group_kfold,
    stratified_group_split,
)


def synthetic(n_groups=400, seed=0):
    """Patients with 1-8 images each, about 3:1 class ratio, one class per patient."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=n_groups)
    group_label = (rng.random(n_groups) < 0.75).astype(int)
    groups = np.repeat([f"p{g:04d}" for g in range(n_groups)], sizes)
    labels = np.repeat(group_label, sizes)
    order = rng.permutation(len(labels))                     # files not sorted by patient
    return labels[order], groups[order]


def assert_partition(train, val, n):
    both = np.concatenate([train, val])
    assert both.dtype == np.int64
    assert np.array_equal(np.sort(both), np.arange(n))       # every index exactly once


# --- stratified group split -----------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_keeps_groups_whole_and_ratios_close(fraction):
    labels, groups = synthetic()
    train, val = stratified_group_split(labels, groups, val_fraction=fraction, seed=1)
    assert_partition(train, val, len(labels))
    assert not set(groups[train]) & set(groups[val])
    assert abs(len(val) / len(labels) - fraction) < 0.01
    assert abs(labels[val].mean() - labels.mean()) < 0.01
    assert abs(labels[train].mean() - labels.mean()) < 0.01


def test_split_is_repeatable_and_depends_on_the_seed():
    labels, groups = synthetic()
    a = stratified_group_split(labels, groups, 0.1, seed=3)
    b = stratified_group_split(labels, groups, 0.1, seed=3)
    c = stratified_group_split(labels, groups, 0.1, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_split_accepts_keras_shaped_labels_and_int_groups():
    labels, groups = synthetic(100)
    _, group_ints = np.unique(groups, return_inverse=True)
    train, val = stratified_group_split(labels[:, None].astype(np.float32), group_ints, 0.2, seed=0)
    assert_partition(train, val, len(labels))
    assert not set(group_ints[train]) & set(group_ints[val])


def test_multi_class_groups_follow_their_majority():
    labels = np.array([0, 0, 1] * 50 + [1] * 150)            # 50 mixed groups (majority 0), 50 of class 1
    groups = np.concatenate([np.repeat(np.arange(50), 3), np.repeat(np.arange(50, 100), 3)])
    train, val = stratified_group_split(labels, groups, 0.2, seed=0)
    assert not set(groups[train]) & set(groups[val])
    assert abs(len(val) - 60) <= 3                           # 20% of 300, in whole groups of 3


def test_split_bad_input():
    labels, groups = synthetic(20)
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_group_split(labels, groups, val_fraction=1.0)
    with pytest.raises(ValueError, match="equal length"):
        stratified_group_split(labels[:-1], groups)
    with pytest.raises(ValueError, match="empty"), pytest.warns(UserWarning, match="no image"):
        stratified_group_split([0, 0, 1, 1], ["a", "a", "b", "b"], val_fraction=0.1)
    with pytest.warns(UserWarning, match="no image in validation"):
        stratified_group_split([0] * 10 + [1] * 3, list(range(10)) + ["b"] * 3, val_fraction=0.2)


# --- k-fold ---------------------------------------------------------------------------
def test_kfold_covers_everything_once_with_whole_groups():
    labels, groups = synthetic()
    folds = stratified_group_kfold(labels, groups, k=5, seed=0)
    assert len(folds) == 5
    vals = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(vals), np.arange(len(labels)))
    for train, val in folds:
        assert_partition(train, val, len(labels))
        assert not set(groups[train]) & set(groups[val])
        assert abs(len(val) / len(labels) - 0.2) < 0.01
        assert abs(labels[val].mean() - labels.mean()) < 0.01
    again = stratified_group_kfold(labels, groups, k=5, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    with pytest.raises(ValueError, match="k must be"):
        stratified_group_kfold(labels, groups, k=1)
    with pytest.raises(ValueError, match="at least k groups"):
        stratified_group_kfold([0, 1, 0], ["a", "b", "b"], k=3)


# --- group ids from paths --------------------------------------------------------------
def test_group_ids_applies_the_rule_to_every_path():
    paths = ["scans/a/s01-1.png", Path("scans/b/s01-2.png"), "scans/a/s02-1.png"]
    groups = group_ids(paths, lambda p: os.path.basename(os.fspath(p)).split("-")[0])
    assert groups.tolist() == ["s01", "s01", "s02"] and groups.shape == (3,)
    by_folder = group_ids(paths, lambda p: Path(p).parent.name)      # another rule: the folder
    assert by_folder.tolist() == ["a", "b", "a"]
    # Four subjects of two images each, two per class: each subject lands whole on one side.
    paths = [f"scans/s{k}-{i}.png" for k in range(4) for i in range(2)]
    groups = group_ids(paths, lambda p: os.path.basename(p).split("-")[0])
    train, val = stratified_group_split([0, 0, 0, 0, 1, 1, 1, 1], groups, 0.5, seed=0)
    assert len(val) == 4 and not set(groups[train]) & set(groups[val])


def test_group_ids_bad_rule():
    with pytest.raises(TypeError, match="group_id must be a function"):
        group_ids(["a.png"], "stem")
    with pytest.raises(ValueError, match="None for 'b.png'"):
        group_ids(["a.png", "b.png"], lambda p: None if p == "b.png" else p)


# --- duplicates -----------------------------------------------------------------------
def make_files(tmp_path):
    """Six files: two identical pairs (one pair across patients) and a same-size impostor."""
    contents = {"p1-1.png": b"AAAA", "p1-2.png": b"AAAA",
                "p2-3.png": b"AAAB",                                      # same size, other bytes
                "p3-1.png": b"xyz-image", "p4-1.png": b"xyz-image",
                "p5-1.png": b"unique"}
    paths = []
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    return paths


def test_find_duplicates_and_keep_them_on_one_side(tmp_path):
    paths = make_files(tmp_path)
    dups = find_duplicates(paths)
    assert dups == [[paths[0], paths[1]], [paths[3], paths[4]]]
    labels = np.array([1, 1, 1, 0, 0, 0])
    assert describe_duplicates(dups, paths, labels) == {
        "sets": 2, "files": 4, "redundant": 2, "label_conflicts": 0}
    groups = group_ids(paths, lambda p: os.path.basename(p).split("-")[0])
    merged = merge_duplicate_groups(groups, paths, dups)
    # p3 and p4 share a file, so the two patients become one group.
    assert merged.tolist() == ["p1", "p1", "p2", "p3", "p3", "p5"]
    assert keep_first_mask(paths, dups).tolist() == [True, False, True, True, False, True]
    with pytest.raises(ValueError, match="not among"):
        merge_duplicate_groups(groups, paths, [[paths[0], str(tmp_path / "elsewhere.jpeg")]])
    with pytest.raises(ValueError, match="cannot read"):
        find_duplicates([str(tmp_path / "missing.jpeg")])


def test_merged_duplicates_never_straddle_a_split(tmp_path):
    rng = np.random.default_rng(0)
    paths, groups, labels = [], [], []
    for i in range(120):                                      # 120 patients, 2 files each
        for j in range(2):
            p = tmp_path / f"person{i}_virus_{j}.jpeg"
            p.write_bytes(rng.bytes(16))
            paths.append(str(p))
            groups.append(f"person{i}")
            labels.append(i % 2)
    for a, b in [(0, 7), (10, 51), (100, 233)]:               # copies across patients
        Path(paths[b]).write_bytes(Path(paths[a]).read_bytes())
    dups = find_duplicates(paths)
    assert len(dups) == 3
    merged = merge_duplicate_groups(np.array(groups), paths, dups)
    for seed in range(5):
        train, val = stratified_group_split(np.array(labels), merged, 0.3, seed=seed)
        side = np.zeros(len(paths), bool)
        side[val] = True
        for dup in dups:
            assert len({side[paths.index(p)] for p in dup}) == 1


# --- class-balanced sampling ----------------------------------------------------------
def test_class_balanced_indices():
    labels = np.array([0] * 30 + [1] * 270)
    idx = class_balanced_indices(labels, seed=0)
    assert idx.dtype == np.int64 and len(idx) == 300
    assert (labels[idx] == 0).sum() == 150                    # classes equally often
    counts = np.bincount(idx, minlength=300)
    assert set(counts[:30]) == {5}                            # 150 draws over 30 images: 5 each
    assert counts[30:].max() == 1 and (counts[30:] == 1).sum() == 150   # no repeats in the majority
    assert np.array_equal(idx, class_balanced_indices(labels, seed=0))
    odd = class_balanced_indices(labels[:, None], n=101, seed=1)
    assert len(odd) == 101 and abs((labels[odd] == 0).sum() - 50.5) == 0.5
    sampler = ClassBalancedSampler(labels, n=40, seed=2)
    first, second = list(sampler), list(sampler)
    assert len(sampler) == 40 and len(first) == 40 and first != second   # a new epoch each time
    with pytest.raises(ValueError, match="n must be"):
        class_balanced_indices(labels, n=0)
    with pytest.raises(ValueError, match="labels"):
        ClassBalancedSampler([])
