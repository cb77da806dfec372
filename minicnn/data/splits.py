"""Splits that do not leak: by patient, stratified by class, with duplicates kept together.

Why: a medical image set often holds several images of one patient (and a few
byte-identical files). Split by IMAGE and the same patient sits in training and validation;
the model is then graded partly on patients it has seen, and every validation metric comes
out too good. So we split by GROUP (the patient), keep each class's share equal on both
sides, and make byte-identical files share a group.

Typical use::

    groups = group_ids(paths, patient_of)                     # your rule: path -> patient
    dups = find_duplicates(paths)                             # [[path, path], ...]
    groups = merge_duplicate_groups(groups, paths, dups)      # no duplicate straddles the split
    train_idx, val_idx = stratified_group_split(labels, groups, val_fraction=0.1, seed=0)

Indices are int64 arrays into ``paths`` / ``labels``, sorted ascending.
"""

import hashlib
import os
import warnings
from collections import defaultdict

import numpy as np

__all__ = [
    "ClassBalancedSampler",
    "class_balanced_indices",
    "describe_duplicates",
    "find_duplicates",
    "group_ids",
    "keep_first_mask",
    "merge_duplicate_groups",
    "stratified_group_kfold",
    "stratified_group_split",
]


# --------------------------------------------------------------------------------------
# Group split and k-fold.
# --------------------------------------------------------------------------------------
def _group_table(labels, groups, owner):
    """Per-group image counts by class: (group_of (N,), counts (G, K), classes (K,))."""
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    if labels.ndim == 2 and labels.shape[1] == 1:        # Keras-style (N, 1) binary labels
        labels = labels[:, 0]
    if labels.ndim != 1 or groups.ndim != 1 or len(labels) != len(groups):
        raise ValueError(
            f"{owner}: labels and groups must be 1-D and of equal length, got shapes "
            f"{np.shape(labels)} and {np.shape(groups)}"
        )
    if len(labels) == 0:
        raise ValueError(f"{owner}: no samples to split")
    classes, label_of = np.unique(labels, return_inverse=True)
    _, group_of = np.unique(groups, return_inverse=True)
    counts = np.zeros((group_of.max() + 1, len(classes)), dtype=np.int64)
    np.add.at(counts, (group_of, label_of), 1)
    return group_of, counts, classes


def stratified_group_split(labels, groups, val_fraction=0.1, seed=0):
    """Split into training and validation so that no group has images on both sides.

    Each group goes whole to one side. Groups are assigned by their MAJORITY label (ties:
    the smallest label), so a group mixing classes moves its minority images along with it;
    when each patient has one diagnosis, every group is one class. Within each class, groups are visited
    in a random order and a group joins validation if that brings the class's validation
    count closer to ``val_fraction`` of the class. So each side keeps the overall class
    ratio and validation holds about ``val_fraction`` of the images (off by at most about
    half of one group per class).

    Parameters
    ----------
    labels : array_like, shape (N,) or (N, 1)
    groups : array_like, shape (N,)
        Any sortable ids (patient names, ints).
    val_fraction : float in (0, 1)
    seed : int, SeedSequence or Generator
        Same seed, same split.

    Returns
    -------
    train_idx, val_idx : int64 arrays, together every index exactly once.
    """
    if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
        raise ValueError(f"stratified_group_split: val_fraction must be in (0, 1), got {val_fraction!r}")
    group_of, counts, classes = _group_table(labels, groups, "stratified_group_split")
    size, majority = counts.sum(axis=1), counts.argmax(axis=1)
    rng = np.random.default_rng(seed)
    in_val = np.zeros(len(size), dtype=bool)
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(majority == k))
        target = val_fraction * size[members].sum()
        taken = 0
        for g in members:
            if abs(taken + size[g] - target) < abs(taken - target):
                in_val[g] = True
                taken += size[g]
        if taken == 0:
            warnings.warn(
                f"stratified_group_split: class {classes[k].tolist()!r} has no image in validation "
                f"({len(members)} groups; its groups are too large for val_fraction={val_fraction})",
                stacklevel=2,
            )
    val_mask = in_val[group_of]
    if not val_mask.any():
        raise ValueError(
            f"stratified_group_split: validation came out empty ({len(size)} groups); "
            "raise val_fraction or provide more groups"
        )
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def stratified_group_kfold(labels, groups, k=5, seed=0):
    """K folds of whole groups, each fold with about 1/k of every class.

    Groups (by majority label, as in :func:`stratified_group_split`) are shuffled, then taken
    largest first and each put in the fold that has the fewest images of its class so far
    (ties: the fold with the fewest images, then the lowest fold number). Largest-first
    keeps the folds even; the shuffle decides the order among groups of equal size.

    Returns
    -------
    list of k pairs (train_idx, val_idx): every index is in exactly one val_idx, and each
    train_idx is the complement of its val_idx.
    """
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"stratified_group_kfold: k must be an integer >= 2, got {k!r}")
    group_of, counts, classes = _group_table(labels, groups, "stratified_group_kfold")
    if k > len(counts):
        raise ValueError(f"stratified_group_kfold: k={k} folds need at least k groups, got {len(counts)}")
    size, majority = counts.sum(axis=1), counts.argmax(axis=1)
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(len(size), dtype=np.int64)
    per_class = np.zeros((k, len(classes)), dtype=np.int64)
    total = np.zeros(k, dtype=np.int64)
    order = rng.permutation(len(size))
    order = order[np.argsort(-size[order], kind="stable")]     # largest first, ties shuffled
    for g in order:
        c = majority[g]
        fold = np.lexsort((np.arange(k), total, per_class[:, c]))[0]
        fold_of_group[g] = fold
        per_class[fold] += counts[g]
        total[fold] += size[g]
    fold_of = fold_of_group[group_of]
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


# --------------------------------------------------------------------------------------
# Groups from file paths.
# --------------------------------------------------------------------------------------
def group_ids(paths, group_id):
    """The group of every file, by a rule you supply: ``group_id(path) -> id``.

    The rule is what the dataset knows about who is who: a patient number in the file
    name, the sub-folder of one subject, a lookup in a table. Files with the same id are
    kept on one side of every split.

    Parameters
    ----------
    paths : sequence of N paths
    group_id : callable
        Maps one path to a hashable, sortable id (str or int). It must not return None.

    Returns
    -------
    ndarray, shape (N,), for :func:`stratified_group_split` and :func:`stratified_group_kfold`.
    """
    if not callable(group_id):
        raise TypeError(f"group_ids: group_id must be a function path -> id, got {group_id!r}")
    ids = []
    for path in paths:
        gid = group_id(path)
        if gid is None:
            raise ValueError(f"group_ids: group_id returned None for {os.fspath(path)!r}; "
                             "return an id for every file (e.g. the file stem for a file of its own)")
        ids.append(gid)
    return np.array(ids)


# --------------------------------------------------------------------------------------
# Byte-identical duplicates.
# --------------------------------------------------------------------------------------
def _file_hash(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def find_duplicates(paths):
    """Groups of byte-identical files among ``paths``.

    Only files whose SIZE equals another file's size are read and hashed (SHA-256): a
    unique size cannot have a twin, and reading thousands of images costs far more than
    as many stats.

    Returns
    -------
    list of lists of paths (as given), each of length >= 2, files in input order, groups
    ordered by their first file.
    """
    paths = list(paths)
    by_size = defaultdict(list)
    for i, p in enumerate(paths):
        try:
            by_size[os.path.getsize(p)].append(i)
        except OSError as error:
            raise ValueError(f"find_duplicates: cannot read {os.fspath(p)!r}: {error}") from error
    by_hash = defaultdict(list)
    for size, members in by_size.items():
        if len(members) > 1:
            for i in members:
                by_hash[(size, _file_hash(paths[i]))].append(i)
    groups = sorted(members for members in by_hash.values() if len(members) > 1)
    return [[paths[i] for i in members] for members in groups]


def _index_of(paths, owner):
    index = {}
    for i, p in enumerate(paths):
        index.setdefault(os.path.normpath(os.fspath(p)), i)
    def lookup(p):
        key = os.path.normpath(os.fspath(p))
        if key not in index:
            raise ValueError(f"{owner}: duplicate {key!r} is not among the given paths")
        return index[key]
    return lookup


def merge_duplicate_groups(groups, paths, duplicates):
    """Groups in which every set of duplicate files shares one group.

    If a duplicate pair links patient A and patient B, ALL images of A and B get one group
    (a union-find over group ids), so that no duplicate can straddle a split boundary. The
    merged group is named after its smallest member id.

    Parameters
    ----------
    groups : array_like, shape (N,)
    paths : sequence of N paths, aligned with ``groups``
    duplicates : list of lists of paths, from :func:`find_duplicates`

    Returns
    -------
    ndarray, shape (N,), the dtype of ``groups``.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != len(paths):
        raise ValueError(
            f"merge_duplicate_groups: groups must be 1-D and aligned with paths, got "
            f"{groups.shape} for {len(paths)} paths"
        )
    lookup = _index_of(paths, "merge_duplicate_groups")
    parent = {g: g for g in groups.tolist()}

    def root(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]        # path halving keeps the trees flat
            g = parent[g]
        return g

    for dup in duplicates:
        ids = [groups[lookup(p)].item() for p in dup]
        for other in ids[1:]:
            a, b = root(ids[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)    # the smallest id names the merged group
    return np.array([root(g) for g in groups.tolist()], dtype=groups.dtype)


def keep_first_mask(paths, duplicates):
    """Boolean mask, True for every file except the 2nd, 3rd ... copy of each duplicate set."""
    lookup = _index_of(paths, "keep_first_mask")
    keep = np.ones(len(paths), dtype=bool)
    for dup in duplicates:
        keep[sorted(lookup(p) for p in dup)[1:]] = False
    return keep


def describe_duplicates(duplicates, paths=None, labels=None):
    """Counts for the report: sets, files, redundant copies, sets whose labels disagree.

    ``label_conflicts`` needs ``paths`` and ``labels`` (aligned); it is None without them.
    """
    conflicts = None
    if labels is not None and paths is not None:
        lookup = _index_of(paths, "describe_duplicates")
        labels = np.asarray(labels).reshape(len(paths), -1)[:, 0]
        conflicts = sum(len({labels[lookup(p)].item() for p in dup}) > 1 for dup in duplicates)
    files = sum(len(dup) for dup in duplicates)
    return {"sets": len(duplicates), "files": files, "redundant": files - len(duplicates),
            "label_conflicts": conflicts}


# --------------------------------------------------------------------------------------
# Class-balanced sampling.
# --------------------------------------------------------------------------------------
def class_balanced_indices(labels, n=None, seed=None):
    """One epoch of indices in which every class is drawn equally often.

    Each of the K classes gets n // K draws (the n % K left over go to randomly chosen
    classes). Within a class, images are drawn as whole shuffled passes: with q draws from
    m images, each image appears floor(q/m) or ceil(q/m) times. A minority class is thus
    repeated as evenly as possible, a majority class subsampled without repeats. The epoch
    is then shuffled.

    An alternative to class weights, with a different trade-off:

    * class weights see every image once per epoch and scale the loss; the gradient noise of
      the rare class grows with its weight (few images, large steps).
    * balanced sampling gives every batch both classes in equal numbers, with ordinary
      loss scale; but minority images repeat (more overfitting, so pair it with augmentation)
      and an epoch may skip some majority images.
    * both train the model as if the classes were equally frequent: its probabilities are
      not calibrated to the true prevalence, so choose the decision threshold on validation.

    Parameters
    ----------
    labels : array_like, shape (N,) or (N, 1)
    n : int, optional
        Length of the epoch; default N.
    seed : int, SeedSequence or Generator, optional
        Pass a Generator to draw a new epoch each call from one stream.

    Returns
    -------
    int64 array, shape (n,).
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"class_balanced_indices: labels must be a non-empty 1-D array, got {labels.shape}")
    n = len(labels) if n is None else n
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"class_balanced_indices: n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    classes, label_of = np.unique(labels, return_inverse=True)
    quota = np.full(len(classes), n // len(classes))
    quota[rng.choice(len(classes), n % len(classes), replace=False)] += 1
    drawn = []
    for k, q in enumerate(quota):
        members = np.flatnonzero(label_of == k)
        passes = -(-q // len(members))                        # ceil(q / m)
        drawn.append(np.concatenate([rng.permutation(members) for _ in range(passes)])[:q])
    return rng.permutation(np.concatenate(drawn)).astype(np.int64)


class ClassBalancedSampler:
    """Draws a new class-balanced epoch of indices on each iteration (see :func:`class_balanced_indices`)."""

    def __init__(self, labels, n=None, seed=None):
        self.labels = np.asarray(labels)
        self.n = len(self.labels) if n is None else n
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        class_balanced_indices(self.labels, self.n, np.random.default_rng(0))   # check arguments now

    def __len__(self):
        return self.n

    def epoch(self):
        return class_balanced_indices(self.labels, self.n, self.rng)

    def __iter__(self):
        return iter(self.epoch().tolist())
