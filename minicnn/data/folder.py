"""``image_dataset_from_directory``: a folder of class folders -> a batch dataset.

Keras's rules, which decide which label each image gets, so they are kept exactly:

* classes are the sub-folder names of ``directory`` in sorted order (``sorted``, so by
  code point: ``"B" < "a"``), hidden ones (starting with ".") ignored. Label i is
  ``class_names[i]``, never an accident of ``os.listdir`` order;
* inside each class folder, files are found recursively: folders are visited in sorted
  path order and files in sorted name order within each; extensions .bmp .gif .jpeg
  .jpg .png in any case count as images, anything else (a stray ``notes.txt``) is
  ignored;
* ``validation_split`` with ``subset``: the file list is permuted with ``seed`` (if
  ``shuffle``) and the last ``int(validation_split * n)`` files are the validation set.

Where we differ from Keras (on purpose):

* hidden files (``.DS_Store``, macOS's ``._image.jpeg`` copies, which are not images)
  are ignored inside class folders too;
* ``file_paths`` and ``labels`` stay in the sorted order above even when shuffling;
  Keras exposes its one-time shuffled order. Iteration order is what shuffling changes;
* bad files are found before they can shift a label: zero-byte files are skipped when
  the folder is scanned, and files that fail to decode are skipped by ``cache()``; both
  with a warning naming every skipped file, removing each file together with its label.
  Iterating an uncached dataset that meets an unreadable file raises an error naming it;
* an empty class folder is an error (a half-finished copy or unzip, most likely),
  where Keras would silently train with a class that has no examples.
"""

import os
import warnings

import numpy as np

from .dataset import Dataset, FileSource, _check_label_mode
from .decode import IMAGE_EXTENSIONS, check_color_mode, check_image_size, check_interpolation

__all__ = ["image_dataset_from_directory", "find_image_files"]


def _is_hidden(name):
    return name.startswith(".")


def _image_files_under(folder):
    """Image files below ``folder``: sorted folders, sorted names, extension filter."""
    walk = list(os.walk(folder))
    found = []
    for root, dirs, files in sorted(walk, key=lambda entry: entry[0]):
        rel = os.path.relpath(root, folder)
        if rel != "." and any(_is_hidden(part) for part in rel.split(os.sep)):
            continue  # inside a hidden folder
        for name in sorted(files):
            if not _is_hidden(name) and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.join(root, name))
    return found


def find_image_files(directory, labels="inferred", class_names=None):
    """List the image files of ``directory`` with their labels, as Keras would.

    Parameters
    ----------
    directory : str or path-like
        With ``labels="inferred"``: one sub-folder per class. Otherwise any folder.
    labels : "inferred", None, or a sequence of int
        "inferred": the label of a file is the position of its class folder in
        ``class_names``. A sequence: one label per image file, in the sorted order of
        the paths found below ``directory``. None: no labels.
    class_names : sequence of str, optional
        With "inferred": use these class folders, in this order (the others are ignored).

    Returns
    -------
    paths : list of str
    labels : numpy.ndarray of int64, or None
    class_names : list of str
    """
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise FileNotFoundError(f"directory {directory!r} does not exist; pass the folder "
                                f"that holds one sub-folder per class (e.g. train/ with "
                                f"train/NORMAL and train/PNEUMONIA)")
    if not os.path.isdir(directory):
        raise ValueError(f"directory {directory!r} is a file, not a folder of class folders")

    if isinstance(labels, str) and labels == "inferred":
        found = sorted(name for name in os.listdir(directory)
                       if not _is_hidden(name) and os.path.isdir(os.path.join(directory, name)))
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            missing = [c for c in class_names if c not in found]
            if missing:
                raise ValueError(f"class_names {missing} are not sub-folders of {directory!r}; "
                                 f"its class folders are {found}")
            if len(set(class_names)) != len(class_names):
                raise ValueError(f"class_names has duplicates: {class_names}")
        else:
            class_names = found
        if not class_names:
            raise ValueError(
                f"directory {directory!r} has no class sub-folders. labels='inferred' needs one "
                f"folder per class (e.g. {directory}/NORMAL/*.jpeg and {directory}/PNEUMONIA/*.jpeg); "
                f"for a flat folder of images pass labels=None.")
        paths, label_list = [], []
        for index, name in enumerate(class_names):
            files = _image_files_under(os.path.join(directory, name))
            if not files:
                raise ValueError(
                    f"class folder {os.path.join(directory, name)!r} contains no image files "
                    f"({', '.join(IMAGE_EXTENSIONS)}); fill it, remove it, or choose the "
                    f"classes with class_names=[...]")
            paths += files
            label_list += [index] * len(files)
        return paths, np.asarray(label_list, dtype=np.int64), class_names

    if class_names is not None:
        raise ValueError('class_names can only be given with labels="inferred"')
    paths = _image_files_under(directory)
    if labels is None:
        return paths, None, []
    if isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise ValueError(f'labels must be "inferred", None, or a list of integer labels; got {labels!r}')
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or not np.issubdtype(label_array.dtype, np.integer):
        raise ValueError("labels must be a flat list of integers, one per image file")
    if len(label_array) != len(paths):
        raise ValueError(f"labels has {len(label_array)} entries but {directory!r} holds "
                         f"{len(paths)} image files; give one label per file, in sorted path order")
    if label_array.size and label_array.min() < 0:
        raise ValueError("labels must be >= 0")
    num_classes = int(label_array.max()) + 1 if label_array.size else 0
    return paths, label_array.astype(np.int64), [str(i) for i in range(num_classes)]


def _drop_empty_files(paths, labels):
    """Remove zero-byte files (and their labels) with one warning that names them all."""
    empty = [i for i, p in enumerate(paths) if os.path.getsize(p) == 0]
    if not empty:
        return paths, labels
    listing = "\n".join(f"  {paths[i]}: the file is empty (0 bytes)" for i in empty)
    warnings.warn(f"Skipped {len(empty)} unreadable image file(s); their labels are dropped "
                  f"with them:\n{listing}", RuntimeWarning, stacklevel=3)
    keep = np.ones(len(paths), dtype=bool)
    keep[empty] = False
    paths = [p for p, k in zip(paths, keep) if k]
    return paths, None if labels is None else labels[keep]


def image_dataset_from_directory(directory, labels="inferred", label_mode="binary",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 verbose=True, draft=True):
    """A batch dataset of the images in ``directory``, with Keras's semantics.

    Parameters
    ----------
    directory : str or path-like
        A folder with one sub-folder of images per class (for ``labels="inferred"``).
    labels : "inferred", None, or a list of int
        See :func:`find_image_files`.
    label_mode : {"binary", "int", "categorical", None}
        "binary": float32 ``(B, 1)`` labels, exactly 2 classes needed. "int": int32 ``(B,)``.
        "categorical": float32 one-hot ``(B, K)``. None: iteration yields images only.
    class_names : list of str, optional
        Choose and order the class folders (default: all, sorted).
    color_mode : {"grayscale", "rgb", "rgba"}
        1, 3 or 4 channels.
    batch_size : int
    image_size : (int, int)
        ``(height, width)``; every image is resized to it (aspect ratio not kept).
    shuffle : bool
        New order every epoch, repeatable for a ``seed`` (see ``minicnn.data.dataset``).
    seed : int, optional
        Needed with ``validation_split`` when shuffling, so that both subsets agree.
    validation_split : float in (0, 1), optional
    subset : {"training", "validation", "both"}, optional
        Which part of the split to return; "both" returns ``(training, validation)``.
    interpolation : str
        Resize filter; "bilinear" is Pillow's antialiased bilinear (see ``decode.py``).
    verbose : bool
        Print "Found N files belonging to K classes." (stdout, as Keras does) and show
        progress bars later.
    draft : bool
        Allow JPEG draft decoding for images much larger than ``image_size``.

    Returns
    -------
    Dataset, or (Dataset, Dataset) for ``subset="both"``
        Images are decoded lazily, per batch, in parallel threads. Call ``.cache()``
        (memory) or ``.cache(path)`` (memory-mapped file) to decode once for all epochs.
    """
    check_image_size(image_size)
    check_color_mode(color_mode)
    check_interpolation(interpolation)
    if label_mode not in ("binary", "int", "categorical", None):
        raise ValueError(f'label_mode must be "binary", "int", "categorical" or None; got {label_mode!r}')
    if validation_split is not None:
        validation_split = float(validation_split)
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be between 0 and 1 (exclusive); "
                             f"got {validation_split}")
    if (validation_split is None) != (subset is None):
        raise ValueError("validation_split and subset go together: give both or neither")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f'subset must be "training", "validation" or "both"; got {subset!r}')
    if validation_split is not None and shuffle and seed is None:
        raise ValueError("validation_split with shuffle=True needs a seed, so that the "
                         "training and validation subsets are cut from the same permutation "
                         "and never overlap")

    paths, label_array, class_names = find_image_files(directory, labels, class_names)
    if labels is None:
        label_mode = None
    if label_mode is not None:
        _check_label_mode(label_mode, len(class_names))
    if not paths:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found in {os.fspath(directory)!r}")
    if verbose:
        if label_array is not None:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
        else:
            print(f"Found {len(paths)} files.")
    paths, label_array = _drop_empty_files(paths, label_array)

    source = FileSource(paths, image_size, color_mode, interpolation, draft)

    def make(rows):
        return Dataset(source, None if label_array is None else label_array[rows], class_names,
                       rows=rows, batch_size=batch_size, shuffle=shuffle, seed=seed,
                       label_mode=label_mode)

    n = len(paths)
    if validation_split is None:
        return make(np.arange(n))
    # Keras: permute (when shuffling), then the last int(split * n) files validate.
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    n_val = int(validation_split * n)
    train_rows, val_rows = np.sort(order[:n - n_val]), np.sort(order[n - n_val:])
    if subset in ("training", "both") and not len(train_rows) or \
            subset in ("validation", "both") and not len(val_rows):
        raise ValueError(f"validation_split={validation_split} of {n} files leaves an empty "
                         f"{subset} subset")
    if verbose and subset in ("training", "both"):
        print(f"Using {len(train_rows)} files for training.")
    if verbose and subset in ("validation", "both"):
        print(f"Using {len(val_rows)} files for validation.")
    if subset == "training":
        return make(train_rows)
    if subset == "validation":
        return make(val_rows)
    return make(train_rows), make(val_rows)
