"""Step 1 of the example: find the data, and split it so that no child is on two sides.

:func:`find_and_split` is the step; the rest of this module is how it is done. The data
preparation of a Kaggle folder (:func:`prepare_folder`) in the order it happens, with the
reason for each step:

1. List the files of ``train/``, ``val/`` and ``test/`` (Keras's rules: class = sorted sub-folder).
2. The patient of each file from its Kaggle name (``person1000_virus_1681.jpeg`` -> ``person1000``,
   see ``patients.py``).
3. Byte-identical duplicates (SHA-256): the patients they link are merged into one group, and
   only one copy is kept in ``train/`` (a file also in ``test/`` leaves ``train/``); ``test/``
   and ``val/`` are left complete.
4. Training images of a child who also has images in ``test/`` are dropped: the Kaggle file names
   number children and images in ONE series across the splits (``person1`` has
   ``person1_bacteria_1.jpeg`` in train and ``person1_virus_6.jpeg`` in test), so these are the
   same children, and training on them would grade the model partly on children it has seen.
   The official ``test/`` stays complete, so results compare with other work on it.
5. ``--limit N``: at most N images per split, drawn per class in proportion (a quick look).
6. Decode once into a memory-mapped cache (later runs reopen it in milliseconds).
7. Validation carved out of ``train/`` by patient, stratified by class (``val_fraction``).

The embedded 28x28 set (``minicnn.datasets.chest_xray``, the demo when no folder is found)
keeps the Kaggle file names and official splits, so :func:`prepare_embedded` runs the same
steps 2 to 7 on it (its duplicates were recorded when the file was built from the JPEGs).
"""

import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from minicnn import data as mdata
from minicnn.datasets import chest_xray as embedded_set

from . import classes, pneumoniamnist
from .patients import is_kaggle_name, patient_ids

SPLITS = ("train", "val", "test")
#: A Kaggle folder's default ``--image-size``: chosen on validation within the 15-minute budget
#: (docs/experiments.md); the finding is resolution-bound, not the film's.
FOLDER_IMAGE_SIZE = 96
KAGGLE_HELP = (
    "Get the Kaggle 'Chest X-Ray Images (Pneumonia)' dataset (Kermany et al. 2018, CC BY 4.0):\n"
    "  https://www.kaggle.com/datasets/paultimothymooney/chest-xray-pneumonia  (or Mendeley Data,\n"
    "  'ZhangLabData'), unzip it so that chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg exist,\n"
    "  then run with --data path/to/chest_xray, or set MINICNN_DATA, or put it in ./data/chest_xray.\n"
    "  A PneumoniaMNIST .npz file (https://zenodo.org/records/10519652) also works: --data file.npz,\n"
    "  or --data medmnist:SIZE (28, 64, 128 or 224 pixels) to download it once into $MINICNN_HOME.")

#: ``--data embedded``: the 28x28 set installed with minicnn (also the fallback, see resolve_data).
EMBEDDED = "embedded"
#: MedMNIST v2's published 28 px PneumoniaMNIST results (Yang et al., Scientific Data 2023,
#: table of test AUC and accuracy), beside which the demo's figures stand.
MEDMNIST_28_BASELINES = {"ResNet-18 (28)": {"auc": 0.944, "accuracy": 0.854}}


class DataError(Exception):
    """No usable data: the script prints the message and exits with code 2 (no traceback)."""


def find_and_split(args):
    """Step 1: the data ``args`` point to, prepared and split by patient (a :class:`PreparedData`).

    Prints where the data came from. A Kaggle folder is read at ``--image-size`` (default
    :data:`FOLDER_IMAGE_SIZE`), which is written back into ``args``; a ``.npz`` keeps its own size
    unless asked; the embedded set is 28x28.
    """
    cache_dir = args.cache or os.path.join(mdata.minicnn_home(), "cache")
    if cache_dir != "memory":
        os.makedirs(cache_dir, exist_ok=True)
    kind, path, how = resolve_data(args.data, mdata.minicnn_home(), args.image_size)
    if how == "fallback":
        print(DEMO_LINE)
    else:
        print(f"Using {path} (from {how}).")
    task = getattr(args, "task", "binary")
    if kind == EMBEDDED:
        return prepare_embedded(args.image_size, args.color_mode, args.batch_size, args.seed,
                                args.limit, args.val_fraction, task)
    if kind == "folder":
        args.image_size = args.image_size or FOLDER_IMAGE_SIZE
        return prepare_folder(path, args.image_size, args.color_mode, args.batch_size,
                              args.seed, args.limit, cache_dir, args.val_fraction, task)
    if task != "binary":
        raise DataError(f"--task {task}: {path!r} is a MedMNIST .npz, whose labels say only "
                        "NORMAL or PNEUMONIA (no file names tell bacterial from viral). Use "
                        "the Kaggle folder (--data path/to/chest_xray), the embedded set "
                        "(--data embedded), or --task binary.")
    prepared = prepare_npz(path, args.image_size, args.color_mode, args.batch_size,
                           args.seed, args.limit)
    args.image_size = prepared.train.image_size[0]
    return prepared


# --------------------------------------------------------------------------------------
# Where the data is.
# --------------------------------------------------------------------------------------
DEMO_LINE = ("No chest X-ray data found (no --data, no $MINICNN_DATA, no ./data/chest_xray): "
             "running the embedded 28x28 demo; for the full-size Kaggle set, see "
             "'pneumonia.py train --help' (--data).")


def uses_embedded(arg):
    """Whether ``--data`` = ``arg`` resolves to the embedded set (asked for, or the fallback)."""
    if arg:
        return arg == EMBEDDED
    return not os.environ.get("MINICNN_DATA") and not os.path.exists(os.path.join("data", "chest_xray"))


def medmnist_size(arg, image_size):
    """The PneumoniaMNIST size of ``--data medmnist:SIZE`` (or ``medmnist`` and ``--image-size``)."""
    sizes = sorted(pneumoniamnist.MD5)
    _, _, size = arg.partition(":")
    if not size:
        if image_size is None:
            raise DataError(f"--data medmnist needs a size: medmnist:SIZE with SIZE one of "
                            f"{sizes}, or --image-size SIZE")
        size = str(image_size)
    if not size.isdigit() or int(size) not in pneumoniamnist.MD5:
        raise DataError(f"--data {arg}: PneumoniaMNIST is published at {sizes} pixels; "
                        f"got {size!r} (use --image-size to resize one of them)")
    return int(size)


def resolve_data(arg, cache_dir, image_size):
    """``("folder" | "npz" | "embedded", path, how it was found)`` for ``--data``, or raise DataError.

    Order: ``--data`` (a folder, a ``.npz``, ``embedded``, or ``medmnist:SIZE``: PneumoniaMNIST
    at SIZE pixels, downloaded into ``cache_dir`` once); ``$MINICNN_DATA``;
    ``./data/chest_xray``; else the embedded 28x28 set (how = "fallback"). Nothing is ever
    downloaded unless ``medmnist`` was asked for.
    """
    if arg == EMBEDDED:
        return EMBEDDED, embedded_set.DATA_PATH, "--data embedded"
    if arg and arg.split(":")[0] == "medmnist" and not os.path.exists(arg):
        size = medmnist_size(arg, image_size)
        try:
            return "npz", pneumoniamnist.fetch(size, cache_dir=cache_dir), f"--data {arg}"
        except (mdata.DownloadError, OSError) as error:
            raise DataError(f"--data {arg}: the download of PneumoniaMNIST at {size}x{size} "
                            f"failed:\n  {error}\n{KAGGLE_HELP}") from None
    if arg:
        path, how = arg, "--data"
    elif os.environ.get("MINICNN_DATA"):
        path, how = os.environ["MINICNN_DATA"], "$MINICNN_DATA"
    elif os.path.exists(os.path.join("data", "chest_xray")):
        path, how = os.path.join("data", "chest_xray"), "./data/chest_xray"
    else:
        return EMBEDDED, embedded_set.DATA_PATH, "fallback"
    if os.path.isfile(path) and path.endswith(".npz"):
        return "npz", path, how
    if os.path.isdir(path):
        missing = [s for s in ("train", "test") if not os.path.isdir(os.path.join(path, s))]
        if missing:
            raise DataError(f"{how} {path!r} is a folder but has no {' or '.join(missing)}/ "
                            f"sub-folder; the Kaggle layout is {{train,val,test}}/"
                            f"{{NORMAL,PNEUMONIA}}.\n{KAGGLE_HELP}")
        return "folder", path, how
    what = "is not a folder or a .npz file" if os.path.exists(path) else "does not exist"
    raise DataError(f"{how} {path!r} {what}.\n{KAGGLE_HELP}")


# --------------------------------------------------------------------------------------
# The prepared data.
# --------------------------------------------------------------------------------------
@dataclass
class PreparedData:
    """Cached, unshuffled datasets (pixels in [0, 255]) and what the report says about them."""
    kind: str                       # "folder" or "npz"
    class_names: list
    train: object                   # minicnn.data.Dataset
    val: object
    test: object
    official_val: object = None     # the 16-image Kaggle val/, evaluated for information only
    rows: list = field(default_factory=list)     # (file, patient, label, split) for split.csv
    summary: dict = field(default_factory=dict)  # for the report and the console
    notes: list = field(default_factory=list)
    groups_train: object = None     # patient group of each training+validation image (k-fold)
    trainval: object = None         # train and val together (k-fold)


def limit_indices(labels, limit, rng):
    """At most ``limit`` positions, drawn per class in proportion (at least 2 per class if there)."""
    labels = np.asarray(labels)
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = max(min(2, len(members)), int(round(limit * len(members) / len(labels))))
        chosen.append(rng.choice(members, size=min(k, len(members)), replace=False))
    chosen = np.sort(np.concatenate(chosen))
    if len(chosen) > limit:  # the "at least 2" rule may overshoot by a few: trim the largest class
        extra = len(chosen) - limit
        big = np.bincount(labels[chosen]).argmax()
        drop = rng.choice(np.flatnonzero(labels[chosen] == big), size=extra, replace=False)
        chosen = np.delete(chosen, drop)
    return chosen


def _counts(labels, class_names):
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(class_names))
    return {name: int(n) for name, n in zip(class_names, counts)}


def prepare_folder(root, image_size, color_mode, batch_size, seed, limit, cache, val_fraction,
                   task="binary"):
    """Prepare the Kaggle folder ``root`` (steps in the module docstring); returns PreparedData.

    ``task="3class"``: NORMAL, BACTERIA, VIRUS from the file names (``classes.py``), read
    before step 2, so that the limit, the stratified split and the counts use three classes.
    """
    found = {}
    for split in SPLITS:
        folder = os.path.join(root, split)
        if not os.path.isdir(folder):
            continue
        try:
            ds = mdata.image_dataset_from_directory(
                folder, color_mode=color_mode, image_size=(image_size, image_size),
                batch_size=batch_size, shuffle=False, verbose=False)
        except (ValueError, FileNotFoundError) as error:
            raise DataError(f"cannot read {folder!r}: {error}\n{KAGGLE_HELP}") from None
        found[split] = ds
    class_names = found["train"].class_names
    if len(class_names) != 2:
        raise DataError(f"{root}/train has {len(class_names)} class folders {class_names}; "
                        f"this example needs exactly two (NORMAL and PNEUMONIA)")
    for split, ds in found.items():
        if ds.class_names != class_names:
            raise DataError(f"{root}/{split} has classes {ds.class_names}, train/ has {class_names}")
    if task == "3class":
        found = relabel_three_classes(found, root)
    return split_by_patient(found, root, mdata.find_duplicates, seed, limit, cache, val_fraction,
                            source=f"{root} (Kaggle folder layout)")


def split_by_patient(found, root, find_duplicates, seed, limit, cache, val_fraction, source):
    """Steps 2 to 7 on ``found`` ({split: unshuffled Dataset with Kaggle file paths}).

    ``find_duplicates(paths)`` returns the groups of byte-identical files; ``root`` is what
    ``split.csv`` names files relative to (None: the paths as they are).
    """
    class_names = found["train"].class_names
    # Every file of every split, test first (so that a duplicate in test keeps its test copy).
    order = [s for s in ("test", "val", "train") if s in found]
    paths = [p for s in order for p in found[s].file_paths]
    split_of = np.array([s for s in order for _ in range(found[s].num_examples)])
    labels = np.concatenate([found[s].labels for s in order])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the summary counts them instead
        patients = patient_ids(paths)
    unknown_names = sum(not is_kaggle_name(p) for p in paths)
    duplicates = find_duplicates(paths)
    groups = mdata.merge_duplicate_groups(patients, paths, duplicates)
    # Only redundant TRAINING copies go: test/ stays the complete official test set.
    keep = mdata.keep_first_mask(paths, duplicates) | (split_of != "train")
    dup_removed = int(np.sum(~keep))

    # Children with images in test/ leave train/ (see the module docstring, step 4).
    test_groups = set(groups[split_of == "test"].tolist())
    leak = (split_of == "train") & np.isin(groups, list(test_groups)) & keep
    keep &= ~leak

    rng = np.random.default_rng([seed, 1])
    datasets, kept_paths = {}, {}
    for split in order:
        positions = np.flatnonzero(split_of == split)          # into `paths`
        positions = positions[keep[positions]]
        positions = positions[limit_indices(labels[positions], limit, rng)]
        first = int(np.flatnonzero(split_of == split)[0])      # `paths` offset of this split
        ds = found[split].subset(positions - first)
        try:
            ds = ds.cache(None if cache == "memory" else cache)   # decode once; may drop bad files
        except ValueError as error:  # e.g. a class none of whose files decodes (named)
            raise DataError(f"cannot read {split}/ of {root or source}: {error}") from None
        datasets[split] = ds
        kept_paths[split] = ds.file_paths
    group_of = dict(zip(paths, groups.tolist()))

    # Validation carved out of train/ by patient, stratified by class.
    trainval = datasets["train"]
    tv_groups = np.array([group_of[p] for p in trainval.file_paths])
    train_idx, val_idx = mdata.stratified_group_split(trainval.labels, tv_groups,
                                                      val_fraction=val_fraction, seed=seed)
    prepared = PreparedData("folder", class_names, trainval.subset(train_idx),
                            trainval.subset(val_idx), datasets["test"],
                            official_val=datasets.get("val"), groups_train=tv_groups,
                            trainval=trainval)
    for split, ds in (("train", prepared.train), ("val", prepared.val), ("test", prepared.test)):
        for path, label in zip(ds.file_paths, ds.labels):
            name = path if root is None else os.path.relpath(path, root)
            prepared.rows.append((name, group_of[path], class_names[label], split))

    parts = {"train": prepared.train, "val (from train/)": prepared.val, "test": prepared.test}
    if prepared.official_val is not None:
        parts["official val/ (information only)"] = prepared.official_val
    prepared.summary = {
        "source": source,
        "files found": {s: _counts(found[s].labels, class_names) for s in order[::-1]},
        "images used": {name: _counts(ds.labels, class_names) for name, ds in parts.items()},
        "patients used": {name: len({group_of[p] for p in ds.file_paths})
                          for name, ds in parts.items()},
        "duplicates": {"byte-identical sets": len(duplicates),
                       "files in them": sum(len(d) for d in duplicates),
                       "copies removed from train/": dup_removed},
        "train images dropped (child also in test/)": int(leak.sum()),
        "file names without a Kaggle patient id": unknown_names,
    }
    prepared.notes += [
        f"Validation: {len(val_idx)} images of {len(set(tv_groups[val_idx].tolist()))} patients "
        f"carved out of train/ by patient (stratified, {val_fraction:.0%}); no patient is on "
        "both sides, and byte-identical duplicates share a patient group.",
        f"{int(leak.sum())} training images of children who also have images in test/ were "
        "dropped from training (the Kaggle names number children across all splits); test/ is "
        "complete and was used for nothing but the final evaluation.",
        "The official val/ folder (16 images) is not the validation set: it is too small to "
        "choose anything on. It is evaluated at the chosen threshold for information only.",
    ]
    if limit is not None:
        prepared.notes.append(f"--limit {limit}: at most {limit} images per official split; "
                              "the figures are a quick look, not results.")
    return prepared


def relabel_three_classes(found, root):
    """``found`` ({split: Dataset}) with NORMAL, BACTERIA, VIRUS labels from the file names."""
    try:
        return {split: classes.as_three_classes(ds) for split, ds in found.items()}
    except ValueError as error:  # a file whose name does not say its class: named
        raise DataError(f"--task 3class, {root}: {error}") from None


def prepare_embedded(image_size, color_mode, batch_size, seed, limit, val_fraction,
                     task="binary"):
    """The embedded 28x28 set through the same patient split as a Kaggle folder (PreparedData).

    Its file paths are the Kaggle ones (``train/NORMAL/IM-0115-0001.jpeg``), so patients,
    the children shared with test/ and the duplicates (recorded from the source JPEGs when
    the file was built) are handled exactly as in :func:`prepare_folder`.
    """
    if image_size not in (None, 28) or color_mode != "grayscale":
        raise DataError(f"the embedded set is 28x28 grayscale; got --image-size {image_size} "
                        f"--color-mode {color_mode}. For other sizes use --data DIR (the Kaggle "
                        f"folder) or --data medmnist:SIZE.\n{KAGGLE_HELP}")
    try:  # one read of the file, its checksum verified (load_dataset would read it per split)
        splits = embedded_set.load_data(labels=task, with_file_names=True)
    except (ValueError, FileNotFoundError) as error:
        raise DataError(str(error)) from None
    found = {split: mdata.array_dataset(x, y, batch_size=batch_size, shuffle=False,
                                        label_mode="binary" if task == "binary" else "int",
                                        class_names=embedded_set.CLASS_NAMES[task],
                                        file_paths=paths)
             for split, (x, y, paths) in zip(SPLITS, splits)}

    def find_duplicates(paths):  # the file was verified a moment ago: skip the second checksum
        return embedded_set.find_duplicates(paths, sha256=None)

    prepared = split_by_patient(
        found, None, find_duplicates, seed, limit, "memory", val_fraction,
        source="the embedded 28x28 demo set (minicnn.datasets.chest_xray: the 5,856 Kaggle "
               "images at 28x28, official splits, file names kept)")
    prepared.kind = EMBEDDED
    prepared.summary["image size"] = "28x28 (the embedded demo set)"
    prepared.summary["MedMNIST v2 baselines, 28 px, test"] = {
        name: dict(row) for name, row in MEDMNIST_28_BASELINES.items()}
    prepared.notes.insert(0, demo_note())
    return prepared


def demo_note():
    """The report's and the console's statement that this is the 28 px demo, with the baselines."""
    baselines = "; ".join(f"{name}: AUC {row['auc']:.3f}, accuracy {row['accuracy']:.3f}"
                          for name, row in MEDMNIST_28_BASELINES.items())
    return ("This is the 28x28 DEMO, run on the set embedded in minicnn (the Kaggle images "
            "squashed to 28x28), with settings for 28 px (--recipe demo): a quick look at the "
            "whole pipeline, not the full-size result. For comparison, MedMNIST v2's published "
            f"PneumoniaMNIST baselines at 28 px on the same official test split: {baselines} "
            "(MedMNIST crops each film to a square before resizing, so the pixels differ). "
            "For the full-size set, run with --data path/to/chest_xray.")


def demo_reminder():
    """The console's last line after a demo run."""
    baselines = "; ".join(f"{name} AUC {row['auc']:.3f}, accuracy {row['accuracy']:.3f}"
                          for name, row in MEDMNIST_28_BASELINES.items())
    return (f"This was the 28x28 demo (MedMNIST v2's 28 px baseline: {baselines}); for the "
            f"full-size set use --data path/to/chest_xray.")


def prepare_npz(path, image_size, color_mode, batch_size, seed, limit):
    """A MedMNIST ``.npz`` (e.g. pneumoniamnist_224.npz) with its own train/val/test splits."""
    size = None if image_size is None else (image_size, image_size)
    known = pneumoniamnist.CLASS_NAMES if pneumoniamnist.is_pneumoniamnist(path) else None
    found = {}
    for split in SPLITS:
        try:
            found[split] = mdata.medmnist_dataset(path, split, batch_size=batch_size, shuffle=False,
                                                  color_mode=color_mode, image_size=size,
                                                  class_names=known)
        except (ValueError, FileNotFoundError) as error:
            raise DataError(f"cannot read {path!r}: {error}") from None
    class_names = found["train"].class_names
    rng = np.random.default_rng([seed, 1])
    for split in SPLITS:
        found[split] = found[split].subset(limit_indices(found[split].labels, limit, rng))
    prepared = PreparedData("npz", class_names, found["train"], found["val"], found["test"])
    for split in SPLITS:
        for name, label in zip(found[split].file_paths, found[split].labels):
            prepared.rows.append((name, "", class_names[label], split))
    prepared.summary = {
        "source": f"{path} (MedMNIST .npz)",
        "images used": {s: _counts(found[s].labels, class_names) for s in SPLITS},
        "image size": f"{found['train'].image_size[0]}x{found['train'].image_size[1]}",
    }
    prepared.notes += [
        "MedMNIST file: there are no file names, so patients are unknown; MedMNIST's own "
        "train/val/test splits are used as they are (validation = its val split), and "
        "duplicates are not checked.",
    ]
    if limit is not None:
        prepared.notes.append(f"--limit {limit}: at most {limit} images per split.")
    return prepared


def keras_class_weights(labels, n_classes=2):
    """Keras-style balanced weights ``w_c = n / (n_classes * n_c)`` as ``{label: weight}``.

    A class absent from ``labels`` gets 0.0 (it contributes no loss either way).
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    return {c: float(len(labels) / (n_classes * counts[c])) if counts[c] else 0.0
            for c in range(n_classes)}


def print_summary(prepared, class_weight):
    """The data summary, as a table on the console."""
    s = prepared.summary
    print(f"Data: {s['source']}")
    tables = [(k, v) for k, v in s.items() if isinstance(v, dict) and k.startswith(("files", "images"))]
    for title, table in tables:
        print(f"  {title}:")
        for split, counts in table.items():
            cells = "  ".join(f"{name} {n:5d}" for name, n in counts.items())
            print(f"    {split:34s} {cells}  total {sum(counts.values()):5d}")
    if "patients used" in s:
        print("  patients: " + ", ".join(f"{k} {v}" for k, v in s["patients used"].items()))
    if "duplicates" in s:
        d = s["duplicates"]
        print(f"  duplicates: {d['byte-identical sets']} sets of byte-identical files "
              f"({d['files in them']} files); copies removed from train/: "
              f"{d['copies removed from train/']}")
        print(f"  training images dropped because the child is also in test/: "
              f"{s['train images dropped (child also in test/)']}")
    if class_weight is not None:
        print(f"  class weights (n / ({len(class_weight)} n_c)): " + ", ".join(
            f"{prepared.class_names[c]} {w:.3f}" for c, w in class_weight.items()))
    for note in prepared.notes:
        print(f"  note: {note}")
