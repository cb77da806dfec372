"""The embedded chest X-ray set: 5,856 pediatric chest X-rays at 28x28, with their file names.

The data
--------
All images of the "Chest X-Ray Images (Pneumonia)" set of Kermany et al., "Identifying Medical
Diagnoses and Treatable Diseases by Image-Based Deep Learning", Cell 172(5), 2018,
https://doi.org/10.1016/j.cell.2018.02.010, licensed CC BY 4.0. Published on Mendeley Data as
"ZhangLabData" (https://data.mendeley.com/datasets/rscbjbr9sj) and on Kaggle as
``paultimothymooney/chest-xray-pneumonia``, whose folder layout and official splits this file keeps:

=======  ======  =========
split    NORMAL  PNEUMONIA
=======  ======  =========
train     1,341      3,875
val           8          8
test        234        390
=======  ======  =========

Each image keeps its original file name, which names the child (``person1000_virus_1681.jpeg``,
``IM-0115-0001.jpeg``; the pneumonia example reads it in ``examples/chest_xray/patients.py``), so splits by patient
work as on the full set. The file names also give a 3-class label for PNEUMONIA images
(``_bacteria_`` or ``_virus_``): ``labels="3class"`` is NORMAL 0, BACTERIA 1, VIRUS 2.

How the pixels were made (``tools/make_chest_xray_28.py`` rebuilds them)
------------------------------------------------------------------------
Each JPEG is decoded with Pillow, converted to grayscale (``"L"``) and resized to 28x28 with
Pillow's BOX filter: each output pixel is the area-weighted mean of the source pixels under it
(for a 224x224 source the mean of an 8x8 block, to within one grey level: Pillow resizes in two
passes, each rounded to 8 bits). No crop: the whole image is squashed to a square, as
``minicnn.data.image_dataset_from_directory`` (and Keras, by default) does for the full-size
pipeline, so the demo sees the same field of view. The packaged file was built from a copy of
the set already squashed to 224x224, so it is (up to rounding and one more JPEG round trip) a
squash of each original. MedMNIST's PneumoniaMNIST instead centre-crops each original to a
square of its short edge before resizing: it keeps the aspect ratio but cuts off the sides of
wide images. The two 28x28 sets therefore differ pixel for pixel (and MedMNIST re-splits the
official train and val images 9:1 into its own train and val, while this file keeps the
official splits; both have the official test split).

File layout (``chest_xray_28.npz``, read with ``allow_pickle=False``)
--------------------------------------------------------------------
For each split ``s`` in train, val, test, rows ordered by class (NORMAL, PNEUMONIA) and then by
sorted file name:

* ``s_images``: uint8 (N, 28, 28), grey values 0..255
* ``s_labels``: uint8 (N, 1), 0 NORMAL, 1 PNEUMONIA (the same keys as MedMNIST, so
  :func:`minicnn.data.medmnist_dataset` reads it too, without the names)
* ``s_names``: str (N,), the original file name (``person1_bacteria_1.jpeg``)
* ``s_duplicate_groups``: int16 (N,), -1 for a unique file; images whose source JPEG files are
  byte-identical share a number >= 0 (the official set has 30 such groups, 62 files)

:data:`ARRAYS_SHA256` is the checksum of these arrays (see :func:`arrays_sha256`); every load
verifies it.
"""

import hashlib
import os
import zipfile
import zlib

import numpy as np

__all__ = ["ARRAYS_SHA256", "CLASS_NAMES", "COUNTS", "DATA_PATH", "arrays_sha256",
           "find_duplicates", "load_data", "load_dataset", "three_class_label",
           "three_class_labels"]

#: The packaged file.
DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chest_xray_28.npz")

#: sha256 over the arrays of the packaged file, as :func:`arrays_sha256` computes it.
ARRAYS_SHA256 = "5c5b71a2744f22d8494493e89c8fb5a1baa2e1a241f49e75099aa51355607e92"

SPLITS = ("train", "val", "test")
IMAGE_SIZE = (28, 28)

#: Images per split and (binary) class: {split: (NORMAL, PNEUMONIA)}.
COUNTS = {"train": (1341, 3875), "val": (8, 8), "test": (234, 390)}

#: Class names of each labelling, in label order.
CLASS_NAMES = {"binary": ["NORMAL", "PNEUMONIA"], "3class": ["NORMAL", "BACTERIA", "VIRUS"]}

_FIELDS = ("images", "labels", "names", "duplicate_groups")
_REMEDY = ("reinstall minicnn (pip install --force-reinstall . in its repository), or rebuild "
           "the file from the Kaggle folder with: python tools/make_chest_xray_28.py path/to/chest_xray")


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _layout(split):
    """The shape and dtype kind each key of ``split`` must have: {key: (shape, dtype or "str")}."""
    n = sum(COUNTS[split])
    return {f"{split}_images": ((n, *IMAGE_SIZE), np.dtype(np.uint8)),
            f"{split}_labels": ((n, 1), np.dtype(np.uint8)),
            f"{split}_names": ((n,), "str"),
            f"{split}_duplicate_groups": ((n,), np.dtype(np.int16))}


def arrays_sha256(arrays):
    """The checksum of a dict of arrays: sha256 over every key in sorted order.

    For each key: the key, its dtype and shape, then its bytes in C order; a string array
    counts as its entries joined by newlines in UTF-8 (so the checksum does not depend on the
    width numpy picked for the strings). Returns the hex digest.
    """
    digest = hashlib.sha256()
    for key in sorted(arrays):
        a = np.asarray(arrays[key])
        is_str = a.dtype.kind == "U"
        digest.update(f"{key}\0{'str' if is_str else a.dtype.str}\0{a.shape}\0".encode())
        digest.update("\n".join(a.tolist()).encode() if is_str else np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def _check_headers(archive, path):
    """Check every key's shape and dtype from the .npy headers, before anything is decompressed."""
    expected = {k: v for split in SPLITS for k, v in _layout(split).items()}
    members = {name[:-4] for name in archive.zip.namelist() if name.endswith(".npy")}
    missing = sorted(set(expected) - members)
    if missing:
        raise ValueError(f"{path!r} is not the embedded chest X-ray file: it lacks {missing}; "
                         f"{_REMEDY}")
    for key, (shape, dtype) in expected.items():
        with archive.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            if version not in _HEADER_READERS:
                raise ValueError(f"{path!r}: {key} is in .npy format {version}, not 1.0 or 2.0; "
                                 f"{_REMEDY}")
            got_shape, _, got_dtype = _HEADER_READERS[version](f)
        dtype_ok = got_dtype.kind == "U" if dtype == "str" else got_dtype == dtype
        if tuple(got_shape) != shape or not dtype_ok:
            raise ValueError(f"{path!r}: {key} has shape {tuple(got_shape)} and dtype {got_dtype}; "
                             f"expected {shape} and {dtype}; {_REMEDY}")


def _read(path=None, sha256=ARRAYS_SHA256):
    """All arrays of the file, checked: {key: array}."""
    path = DATA_PATH if path is None else os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the embedded chest X-ray file {path!r} does not exist; {_REMEDY}")
    if not zipfile.is_zipfile(path):  # also a truncated copy: its zip directory is at the end
        raise ValueError(f"cannot read {path!r}: it is not an .npz (zip) archive; {_REMEDY}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            _check_headers(archive, path)
            arrays = {key: archive[key] for split in SPLITS for key in _layout(split)}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"cannot read {path!r} as the embedded chest X-ray .npz ({error}); "
                         f"{_REMEDY}") from None
    except ValueError as error:
        if str(error).startswith(repr(path)):  # one of ours, which names the file already
            raise
        raise ValueError(f"cannot read {path!r} as the embedded chest X-ray .npz ({error}); "
                         f"{_REMEDY}") from None
    if sha256 is not None:
        got = arrays_sha256(arrays)
        if got != sha256:
            raise ValueError(f"{path!r} is corrupted or not the file this minicnn expects: its "
                             f"arrays' sha256 is {got}, expected {sha256}; {_REMEDY}")
    return arrays


def three_class_label(name, is_pneumonia):
    """NORMAL 0, BACTERIA 1 or VIRUS 2 for one file name (``person1_bacteria_1.jpeg``).

    ``is_pneumonia``: whether the file is in the PNEUMONIA class (else NORMAL). A PNEUMONIA
    file names exactly one of ``_bacteria_`` / ``_virus_``, a NORMAL file neither; any other
    name is a ValueError naming the file and what its name says.
    """
    lower = os.path.basename(os.fspath(name)).lower()
    bacteria, virus = "_bacteria_" in lower, "_virus_" in lower
    if not is_pneumonia:
        if bacteria or virus:
            raise ValueError(f"{os.fspath(name)!r} is in a NORMAL folder but its name says "
                             f"{'bacteria' if bacteria else 'virus'}")
        return 0
    if bacteria == virus:
        said = "both bacteria and virus" if bacteria else "neither bacteria nor virus"
        raise ValueError(f"{os.fspath(name)!r} is a PNEUMONIA file whose name says {said}")
    return 1 if bacteria else 2


def three_class_labels(names, binary_labels):
    """:func:`three_class_label` of every name; ``binary_labels`` 0 NORMAL, 1 PNEUMONIA.

    Returns uint8 (N,).
    """
    binary = np.asarray(binary_labels).reshape(-1)
    if not np.isin(binary, (0, 1)).all():
        raise ValueError(f"binary_labels must be 0 (NORMAL) or 1 (PNEUMONIA); got "
                         f"{sorted(set(binary.tolist()) - {0, 1})}")
    return np.array([three_class_label(name, label == 1) for name, label in zip(names, binary)],
                    dtype=np.uint8)


def _check_labels(labels):
    if labels not in CLASS_NAMES:
        raise ValueError(f'labels must be "binary" or "3class"; got {labels!r}')


def _split_arrays(arrays, split, labels):
    """(images (N, 28, 28) uint8, labels (N,) uint8, names [N str]) of one split."""
    names = arrays[f"{split}_names"].tolist()
    y = arrays[f"{split}_labels"][:, 0]
    if labels == "3class":
        y = three_class_labels(names, y)
    return arrays[f"{split}_images"], y, names


def load_data(labels="binary", with_file_names=False, path=None, sha256=ARRAYS_SHA256):
    """The embedded chest X-ray set as arrays, in the official splits.

    Parameters
    ----------
    labels : {"binary", "3class"}
        "binary": 0 NORMAL, 1 PNEUMONIA. "3class": 0 NORMAL, 1 BACTERIA, 2 VIRUS (from the
        file names). :data:`CLASS_NAMES` holds the names in label order.
    with_file_names : bool
        Add each image's Kaggle path (``"train/PNEUMONIA/person1_bacteria_1.jpeg"``) as a
        third element of each split's tuple.
    path : str or path-like, optional
        Another copy of the file (default: the one installed with minicnn).
    sha256 : str or None
        The arrays' expected checksum (default :data:`ARRAYS_SHA256`); None skips the check
        (for a file you built from another source folder, whose checksum differs).

    Returns
    -------
    ``(x_train, y_train), (x_val, y_val), (x_test, y_test)`` as ``keras.datasets.mnist``:
    ``x`` uint8 (N, 28, 28), ``y`` uint8 (N,). With ``with_file_names=True`` each tuple is
    ``(x, y, names)``, ``names`` a list of N str. Rows are ordered by class, then file name.

    Raises
    ------
    ValueError
        The file is not the expected one (missing keys, shapes, dtypes, checksum); the message
        names the file and how to get a good one.
    """
    _check_labels(labels)
    arrays = _read(path, sha256)
    out = []
    for split in SPLITS:
        x, y, names = _split_arrays(arrays, split, labels)
        cls = CLASS_NAMES["binary"]
        binary = arrays[f"{split}_labels"][:, 0]
        paths = [f"{split}/{cls[b]}/{n}" for b, n in zip(binary.tolist(), names)]
        out.append((x, y, paths) if with_file_names else (x, y))
    return tuple(out)


def load_dataset(split, labels="binary", batch_size=32, shuffle=True, seed=None,
                 label_mode="auto", path=None, sha256=ARRAYS_SHA256):
    """One split as a :class:`minicnn.data.Dataset`, like a Kaggle folder's.

    Batches are float32 ``(B, 28, 28, 1)`` in [0, 255] with labels as ``label_mode`` says
    (``"auto"``: "binary" float32 ``(B, 1)`` for binary labels, "int" for 3class). ``file_paths``
    are the Kaggle paths (``"train/NORMAL/IM-0115-0001.jpeg"``), so patient ids, subsets and
    :func:`find_duplicates` work on it as on a folder dataset. The pixels stay uint8 in memory
    (``cache()`` returns the dataset itself).

    Parameters
    ----------
    split : {"train", "val", "test"}
    labels, path, sha256
        As for :func:`load_data`.
    batch_size, shuffle, seed, label_mode
        As for :func:`minicnn.data.array_dataset`.
    """
    from minicnn.data import array_dataset  # here, so `minicnn.datasets` imports without Pillow

    if split not in SPLITS:
        raise ValueError(f'split must be "train", "val" or "test"; got {split!r}')
    _check_labels(labels)
    if label_mode == "auto":
        label_mode = "binary" if labels == "binary" else "int"
    data = load_data(labels, with_file_names=True, path=path, sha256=sha256)
    x, y, paths = data[SPLITS.index(split)]
    return array_dataset(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                         label_mode=label_mode, class_names=CLASS_NAMES[labels], file_paths=paths)


def find_duplicates(paths, path=None, sha256=ARRAYS_SHA256):
    """Groups of images whose source files were byte-identical, as :func:`minicnn.data.find_duplicates`.

    ``paths`` are Kaggle paths of this set (``ds.file_paths`` of :func:`load_dataset`, any
    splits, any order). The file cannot be hashed again (it holds pixels, not JPEG bytes), so
    the groups come from ``*_duplicate_groups``, recorded when the file was built.

    Returns
    -------
    list of lists of paths (as given), each of length >= 2, in input order, groups ordered by
    their first path: the same contract as :func:`minicnn.data.find_duplicates`.
    """
    arrays = _read(path, sha256)
    cls = CLASS_NAMES["binary"]
    group_of = {}
    for split in SPLITS:
        binary = arrays[f"{split}_labels"][:, 0].tolist()
        names = arrays[f"{split}_names"].tolist()
        for b, name, g in zip(binary, names, arrays[f"{split}_duplicate_groups"].tolist()):
            group_of[f"{split}/{cls[b]}/{name}"] = g
    members = {}
    for i, p in enumerate(paths):
        key = os.fspath(p).replace(os.sep, "/")
        if key not in group_of:
            raise ValueError(f"find_duplicates: {key!r} is not an image of the embedded set "
                             f"(expected a path like 'train/NORMAL/IM-0115-0001.jpeg')")
        if group_of[key] >= 0:
            members.setdefault(group_of[key], []).append(i)
    groups = sorted(m for m in members.values() if len(m) > 1)
    return [[paths[i] for i in m] for m in groups]
