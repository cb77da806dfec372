"""``image_dataset_from_directory``: a folder of class folders -> a batch dataset.

Keras's rules, which decide which label each image gets, so they are kept exactly:

* classes are the sub-folder names of ``directory`` in sorted order (``sorted``, so by
  code point: ``"B" < "a"``), hidden ones (starting with ".") ignored. Label i is
  ``class_names[i]``, never an accident of ``os.listdir`` order;
* inside each class folder, files are found recursively: folders are visited in sorted
  path order and files in sorted name order within each; extensions .bmp .gif .jpeg
  .jpg .png in any case count as images, anything else (a stray ``notes.txt``) is
  ignored. ``labels=None`` or ``label_mode=None`` walks the whole tree the same way
  (files directly in ``directory`` too) and gives ``class_names=None``;
* ``validation_split`` with ``subset``: the file list is permuted with
  ``numpy.random.RandomState(seed)`` (if ``shuffle``) and the last
  ``int(validation_split * n)`` files are the validation set. That is Keras's generator
  and arithmetic, so a Keras seed picks the same validation files as Keras does (for a
  folder without hidden files, see below). It is NumPy's legacy generator, kept here
  because its stream is frozen by NumPy's compatibility policy: the split of a seed never
  changes. Every other random choice in minicnn uses ``numpy.random.Generator``.
  ``validation_split=0`` (or None) without ``subset`` means no split, as in Keras;
* ``crop_to_aspect_ratio`` / ``pad_to_aspect_ratio``: Keras's centred crop (its
  ``smart_resize``) and ``tf.image.resize_with_pad``'s centred fit into zero borders,
  mutually exclusive; the arithmetic is in ``decode.py``.

Where we differ from Keras (on purpose; docs/keras_loader.md has the table):

* the validation subset is never reshuffled (Keras: only with ``subset="both"``), so
  ``model.predict(val)`` lines up with ``val.labels`` and with every later pass. Call
  ``val.with_options(shuffle=True)`` for a shuffled one;
* hidden files (``.DS_Store``, macOS's ``._image.jpeg`` copies, which are not images) and
  everything under hidden sub-folders (``.ipynb_checkpoints/`` holds Jupyter's copies of
  the very images beside it, ``.thumbnails/`` small copies) are ignored inside class
  folders too: Keras would count such copies twice, possibly one in each subset;
* ``file_paths`` and ``labels`` stay in the sorted order above even when shuffling;
  Keras exposes its one-time shuffled order. Iteration order is what shuffling changes:
  ``default_rng([seed, epoch])`` per epoch (Keras: ``tf.data``'s shuffle buffer, which
  no NumPy code reproduces), so the same seed does not give Keras's batches;
* files that cannot be images are found before they can shift a label: when the folder
  is scanned, a symbolic link loop, a dangling link, anything that is not a regular file
  and a zero-byte file are skipped, and files that fail to decode are skipped by
  ``cache()``; both with a warning naming every skipped file, removing each file
  together with its label. Keras would stop with a raw ``OSError`` mid-epoch. Iterating
  an uncached dataset that meets unreadable files raises an error naming every one of
  them in the batch. The split is made before skipping, so a broken file never moves
  another file from one subset to the other;
* an empty class folder is an error (a half-finished copy or unzip, most likely), and so
  is a class left with no readable image, naming the class and its files, where Keras
  would silently train with a class that has no examples;
* ``label_mode`` defaults to "binary" (Keras: "int"), because minicnn's models end in one
  logit; explicit ``labels`` get ``class_names`` "0" .. str(max label) (Keras: the sorted
  distinct labels, which skips a class nobody uses and then mislabels the one-hot width);
* Keras's interpolation names are served by Pillow's filters (see ``decode.py``); its
  "gaussian" and "mitchellcubic" are refused. ``batch_size=None`` (unbatched),
  ``follow_links``, ``data_format`` and ``format`` do not exist: batches are always
  NHWC, links to folders are not followed (Keras's default).
"""

import errno
import os
import stat
import warnings

import numpy as np

from .dataset import Dataset, FileSource, _check_label_mode
from .decode import (IMAGE_EXTENSIONS, check_aspect_ratio_mode, check_color_mode,
                     check_image_size, check_interpolation)

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
    class_names : list of str, or None (for ``labels=None``, as in Keras)
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
        return paths, None, None
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


def _unusable_reason(path):
    """Why ``path`` cannot be an image file (a short phrase), or None if it may be one.

    One ``stat`` per file, which follows symbolic links: a loop fails with ELOOP, a link
    whose target is gone with ENOENT. Decoding (``cache()``) finds the rest.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (the link leads back to itself)"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return f"a dangling symbolic link (its target {os.readlink(path)!r} does not exist)"
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a folder, device or pipe named like an image)"
    if info.st_size == 0:
        return "the file is empty (0 bytes)"
    return None


def _find_unusable(paths, labels, class_names):
    """A boolean mask of the usable files; warns naming the others.

    A class whose files are all unusable is an error naming the class and its files:
    training on without it would only show up later (an AUC of nan, a class never
    predicted).
    """
    reasons = {i: r for i, r in ((i, _unusable_reason(p)) for i, p in enumerate(paths)) if r}
    usable = np.ones(len(paths), dtype=bool)
    if not reasons:
        return usable
    usable[list(reasons)] = False
    if labels is not None:
        for label in np.unique(labels[~usable]):
            if not usable[labels == label].any():
                rows = np.flatnonzero(labels == label)
                listing = "\n".join(f"  {paths[i]}: {reasons[i]}" for i in rows)
                raise ValueError(f"class {class_names[label]!r} has no readable image: all "
                                 f"{len(rows)} of its files are unusable:\n{listing}\n"
                                 f"Replace the files, or leave the class out with "
                                 f"class_names=[...]")
    listing = "\n".join(f"  {paths[i]}: {reason}" for i, reason in sorted(reasons.items()))
    warnings.warn(f"Skipped {len(reasons)} unreadable image file(s); their labels are dropped "
                  f"with them:\n{listing}", RuntimeWarning, stacklevel=3)
    return usable


def _check_split(validation_split, subset, shuffle, seed):
    """Keras's rules for ``validation_split`` / ``subset``; returns the split as a float."""
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f'subset must be "training", "validation" or "both"; got {subset!r}')
    try:
        split = float(validation_split or 0.0)
    except (TypeError, ValueError):
        raise ValueError(f"validation_split must be a number between 0 and 1; "
                         f"got {validation_split!r}") from None
    if split and not 0.0 < split < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1 (exclusive); got {split}")
    if bool(split) != (subset is not None):
        raise ValueError("validation_split and subset go together: give both or neither "
                         f"(got validation_split={validation_split!r}, subset={subset!r}; "
                         "validation_split=0 means no split)")
    if split and shuffle:
        if seed is None:
            raise ValueError("validation_split with shuffle=True needs a seed, so that the "
                             "training and validation subsets are cut from the same "
                             "permutation and never overlap")
        if not 0 <= int(seed) < 2**32:
            raise ValueError(f"seed must be in 0..2**32 - 1 with validation_split (the range "
                             f"of Keras's generator, which makes the split); got {seed}")
    return split


def _split_rows(n, split, shuffle, seed):
    """``(train_rows, val_rows)``: Keras's permutation, then the last ``int(split * n)``."""
    order = np.random.RandomState(int(seed)).permutation(n) if shuffle else np.arange(n)
    n_val = int(split * n)
    return np.sort(order[:n - n_val]), np.sort(order[n - n_val:])


def image_dataset_from_directory(directory, labels="inferred", label_mode="binary",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 verbose=True, draft=True):
    """A batch dataset of the images in ``directory``, with Keras's semantics.

    The module docstring lists the rules, and every place where minicnn differs from
    Keras and why.

    Parameters
    ----------
    directory : str or path-like
        A folder with one sub-folder of images per class (for ``labels="inferred"``).
    labels : "inferred", None, or a list of int
        See :func:`find_image_files`.
    label_mode : {"binary", "int", "categorical", None}
        "binary": float32 ``(B, 1)`` labels, exactly 2 classes needed. "int": int32 ``(B,)``.
        "categorical": float32 one-hot ``(B, K)``. None: iteration yields images only,
        and the folder is read as with ``labels=None`` (Keras).
    class_names : list of str, optional
        Choose and order the class folders (default: all, sorted).
    color_mode : {"grayscale", "rgb", "rgba"}
        1, 3 or 4 channels.
    batch_size : int
    image_size : int or (int, int)
        ``(height, width)``, or one int for a square; every image is resized to it.
    shuffle : bool
        New order every epoch, repeatable for a ``seed`` (see ``minicnn.data.dataset``).
        The validation subset is never shuffled.
    seed : int, optional
        Needed with ``validation_split`` when shuffling, so that both subsets agree.
    validation_split : float in [0, 1), optional
        0 or None: no split.
    subset : {"training", "validation", "both"}, optional
        Which part of the split to return; "both" returns ``(training, validation)``.
    interpolation : str
        Resize filter, any case; "bilinear" is Pillow's antialiased bilinear (see
        ``decode.py`` for how Keras's names map to Pillow's filters).
    crop_to_aspect_ratio : bool
        Resize the largest centred window with the target's proportions (Keras's
        ``smart_resize``): nothing is squashed, the edges of the longer side are lost.
    pad_to_aspect_ratio : bool
        Resize the whole picture to fit and fill the rest with zeros, centred (Keras,
        via ``tf.image.resize_with_pad``): nothing is squashed or lost. For the chest
        X-ray originals, whose film shape differs between the classes, this keeps the
        shape from leaking into squashed anatomy, though the black bands still show it.
        At most one of the two may be True.
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
    image_size = check_image_size(image_size)
    check_color_mode(color_mode)
    check_interpolation(interpolation)
    check_aspect_ratio_mode(crop_to_aspect_ratio, pad_to_aspect_ratio)
    if label_mode not in ("binary", "int", "categorical", None):
        raise ValueError(f'label_mode must be "binary", "int", "categorical" or None; got {label_mode!r}')
    split = _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:  # Keras: either one means "no labels"
        if class_names is not None:
            raise ValueError(f"class_names={class_names!r} needs labels, but labels={labels!r} "
                             f"and label_mode={label_mode!r} read the folder without labels "
                             f"(as Keras does); drop class_names or choose a label_mode")
        labels = label_mode = None

    paths, label_array, class_names = find_image_files(directory, labels, class_names)
    if label_mode is not None:
        _check_label_mode(label_mode, len(class_names))
    if not paths:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found in {os.fspath(directory)!r}")
    if verbose:
        if label_array is not None:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
        else:
            print(f"Found {len(paths)} files.")
    usable = _find_unusable(paths, label_array, class_names)

    source = FileSource(paths, image_size, color_mode, interpolation, draft,
                        crop_to_aspect_ratio, pad_to_aspect_ratio)

    def make(rows, shuffle):
        return Dataset(source, None if label_array is None else label_array[rows], class_names,
                       rows=rows, batch_size=batch_size, shuffle=shuffle, seed=seed,
                       label_mode=label_mode)

    n = len(paths)
    if not split:
        return make(np.flatnonzero(usable), shuffle)
    # Split all the files found, as Keras does, THEN leave out the unusable ones: a
    # broken file never moves another file from one subset to the other.
    train_rows, val_rows = _split_rows(n, split, shuffle, seed)
    train_rows, val_rows = train_rows[usable[train_rows]], val_rows[usable[val_rows]]
    if subset in ("training", "both") and not len(train_rows) or \
            subset in ("validation", "both") and not len(val_rows):
        raise ValueError(f"validation_split={split} of {n} files leaves an empty "
                         f"{subset} subset")
    if verbose and subset in ("training", "both"):
        print(f"Using {len(train_rows)} files for training.")
    if verbose and subset in ("validation", "both"):
        print(f"Using {len(val_rows)} files for validation.")
    # The validation half is never reshuffled (Keras does the same for subset="both"),
    # so predict(val) lines up with val.labels and with any later pass over it.
    if subset == "training":
        return make(train_rows, shuffle)
    if subset == "validation":
        return make(val_rows, False)
    return make(train_rows, shuffle), make(val_rows, False)
