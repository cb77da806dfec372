"""Datasets from arrays, and from MedMNIST ``.npz`` files, with the folder interface.

``array_dataset(images, labels)`` wraps arrays already in memory; ``medmnist_dataset``
reads one split of a MedMNIST file such as ``bloodmnist_64.npz`` (keys
``{train,val,test}_{images,labels}``, uint8 images ``(N, H, W)`` or ``(N, H, W, 3)``,
labels ``(N, 1)``). Both give the same :class:`~minicnn.data.dataset.Dataset` as
``image_dataset_from_directory``: float32 NHWC batches in [0, 255], the same labels,
shuffling, ``map``, ``prefetch`` and ``subset``.
"""

import os
import zipfile

import numpy as np
from PIL import Image

from .dataset import ArraySource, Dataset
from .decode import check_color_mode, check_image_size, check_interpolation

__all__ = ["array_dataset", "load_medmnist", "medmnist_dataset"]

_SPLITS = {"train": "train", "val": "val", "validation": "val", "test": "test"}


def _as_nhwc(images, what="images"):
    images = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if images.ndim == 3:
        images = images[..., None]  # (N, H, W) grayscale -> (N, H, W, 1), a view
    if images.ndim != 4 or images.shape[3] not in (1, 3, 4):
        raise ValueError(f"{what} must have shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4; "
                         f"got {images.shape}")
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise ValueError(f"{what} must hold numbers; got dtype {images.dtype}")
    return images


def array_dataset(images, labels=None, batch_size=32, shuffle=True, seed=None,
                  label_mode="binary", class_names=None, file_paths=None):
    """A batch dataset over arrays in memory.

    Parameters
    ----------
    images : array of shape (N, H, W) or (N, H, W, C)
        Pixels in [0, 255] (uint8 is kept as is and converted to float32 per batch,
        so the array costs 1 byte per pixel; float arrays are served as float32).
    labels : array of N ints (or shape (N, 1)), or None
    batch_size, shuffle, seed
        As for :func:`image_dataset_from_directory`.
    label_mode : {"binary", "int", "categorical", None}
    class_names : list of str, optional
        Default ``["0", "1", ...]`` up to the largest label (at least 2 for "binary").
    file_paths : list of str, optional
        A name for each example (reported as ``ds.file_paths``).

    Returns
    -------
    Dataset
    """
    images = _as_nhwc(images)
    n = images.shape[0]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},) or ({n}, 1) to match {n} images; "
                             f"got {labels.shape}")
        if labels.size and not np.all(labels == np.round(labels)):
            raise ValueError("labels must be integers (class indices)")
        labels = labels.astype(np.int64)
        if class_names is None:
            top = int(labels.max()) + 1 if labels.size else 0
            class_names = [str(i) for i in range(max(top, 2 if label_mode == "binary" else top))]
    if file_paths is not None and len(file_paths) != n:
        raise ValueError(f"file_paths has {len(file_paths)} names for {n} images")
    source = ArraySource(images, paths=file_paths)
    return Dataset(source, labels, class_names, batch_size=batch_size, shuffle=shuffle,
                   seed=seed, label_mode=label_mode if labels is not None else None)


def load_medmnist(path, split="train"):
    """Read one split of a MedMNIST ``.npz``: ``(images uint8 (N, H, W[, 3]), labels int64 (N,))``."""
    path = os.fspath(path)
    if split not in _SPLITS:
        raise ValueError(f'split must be "train", "val" or "test"; got {split!r}')
    key = _SPLITS[split]
    if not os.path.exists(path):
        raise FileNotFoundError(f"MedMNIST file {path!r} does not exist (the files are on "
                                f"Zenodo, record 10519652; minicnn.data.download fetches "
                                f"one and checks its md5)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {path!r} as a .npz file ({exc}); delete it and "
                         f"download it again") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path!r} holds a single array, not a MedMNIST .npz archive")
    with archive:
        names = set(archive.files)
        wanted = (f"{key}_images", f"{key}_labels")
        if not set(wanted) <= names:
            raise ValueError(f"{path!r} is not a MedMNIST file: it lacks "
                             f"{sorted(set(wanted) - names)} (it has {sorted(names)})")
        images, labels = archive[wanted[0]], archive[wanted[1]]
    labels = labels.reshape(len(labels), -1)
    if labels.shape[1] != 1:
        raise ValueError(f"{path!r}: {split} labels have shape {labels.shape}; expected one label per image "
                         f"(multi-label MedMNIST sets are not supported)")
    return images, labels[:, 0].astype(np.int64)


def _resize_images(images, image_size, interpolation):
    """Resize every image of a uint8 ``(N, H, W, C)`` array with Pillow (as decode.py does)."""
    height, width = image_size
    resample = check_interpolation(interpolation)
    out = np.empty((images.shape[0], height, width, images.shape[3]), dtype=np.uint8)
    for i, image in enumerate(images):
        plane = image[..., 0] if image.shape[2] == 1 else image
        resized = np.asarray(Image.fromarray(plane).resize((width, height), resample=resample))
        out[i] = resized.reshape(height, width, -1)
    return out


def medmnist_dataset(path, split="train", batch_size=32, shuffle=True, seed=None,
                     color_mode="grayscale", image_size=None, interpolation="bilinear",
                     label_mode="binary", class_names=None):
    """A batch dataset over one split of a MedMNIST ``.npz`` file (any size: 28 ... 224).

    Parameters
    ----------
    path : str or path-like
        For example ``bloodmnist_64.npz`` (:func:`minicnn.data.download` fetches one).
    split : {"train", "val", "test"}
    color_mode : {"grayscale", "rgb", "rgba"}
        For a grayscale set, "rgb" copies the grey value into 3 channels batch
        by batch (the stored array stays 1 channel). Colour MedMNIST sets become
        grayscale with the ITU-R 601 luma weights.
    image_size : (int, int), optional
        Resize every image (with Pillow) once, when loading. Default: the file's size.
    class_names : list of str, optional
        Default ``["0", "1", ...]``, one per label value.

    Returns
    -------
    Dataset
        ``file_paths`` are names like ``"bloodmnist_64.npz:train/00042"``.
    """
    channels = check_color_mode(color_mode)
    images, labels = load_medmnist(path, split)
    images = _as_nhwc(images, f"{path}: {split}_images")
    if images.dtype != np.uint8:
        raise ValueError(f"{path!r}: expected uint8 images, got {images.dtype}")
    if images.shape[3] == 3 and channels == 1:
        luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        images = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    elif images.shape[3] == 3 and channels == 4:
        alpha = np.full(images.shape[:3] + (1,), 255, dtype=np.uint8)
        images = np.concatenate([images, alpha], axis=3)
    if image_size is not None and tuple(check_image_size(image_size)) != images.shape[1:3]:
        images = _resize_images(images, check_image_size(image_size), interpolation)
    base = os.path.basename(os.fspath(path))
    if class_names is None:
        class_names = [str(i) for i in range(int(labels.max()) + 1 if labels.size else 0)]
    names = [f"{base}:{_SPLITS[split]}/{i:05d}" for i in range(images.shape[0])]
    source = ArraySource(images, paths=names, channels=channels)
    return Dataset(source, labels, class_names, batch_size=batch_size, shuffle=shuffle,
                   seed=seed, label_mode=label_mode)
