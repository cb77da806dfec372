"""The batch dataset: what ``fit`` iterates once per epoch.

A :class:`Dataset` is a list of examples (image files or rows of an array) with their
integer labels, plus how to serve them:

* ``for images, labels in ds`` yields float32 ``(B, H, W, C)`` images in [0, 255] and
  labels shaped by ``label_mode`` ("binary": float32 ``(B, 1)``; "int": int32 ``(B,)``;
  "categorical": float32 one-hot ``(B, K)``; None: the loop gets images only). The last
  batch may be smaller; ``len(ds)`` is the number of batches.
* Shuffling: with ``shuffle=True`` every ``iter(ds)`` (every epoch) draws a new order,
  ``np.random.default_rng([seed, epoch]).permutation(n)`` where ``epoch`` counts the
  iterations of this dataset object from 0. The order is a pure function of
  ``(seed, epoch)``, so one seed replays the same sequence of epochs, and images and
  labels are indexed together so they can never drift apart. ``seed=None`` draws a seed
  once (readable as ``ds.seed``). ``file_paths`` and ``labels`` stay in their sorted
  order whatever the shuffling; only the iteration order changes. Datasets made by
  ``map``, ``prefetch`` and ``cache`` share their parent's epoch counter (iterating any
  of them advances it, so even re-creating ``ds.map(f)`` every epoch gets a new order);
  one made by ``subset`` or ``with_options`` starts its own counter at epoch 0.
* ``cache()`` decodes every image once into a uint8 array in memory, ``cache(path)``
  into a memory-mapped file that later runs reopen in milliseconds (see ``cache.py``).
  Without a cache every epoch decodes its batches again (in parallel threads).
* ``map(fn)`` adds a function applied to every batch as it is drawn, ``prefetch(n)``
  prepares the next ``n`` batches in a background thread, ``subset(indices)`` selects
  examples. Each returns a NEW dataset that shares the source and the decoded cache, so
  a training set with augmentation and its evaluation twin hold the pixels only once.

The map functions always see decoded, cached images: ``cache()`` stores the pixels
*before* any map, whatever the order of the calls (unlike ``tf.data``, where
``ds.map(augment).cache()`` would freeze one random augmentation forever).
"""

import math
import os
import queue
import sys
import threading
import warnings

import numpy as np

from . import cache as _cache
from ..progress import Progress
from .decode import (check_aspect_ratio_mode, check_color_mode, check_image_size, decode_many,
                     interpolation_name)

__all__ = ["Dataset", "FileSource", "ArraySource", "LABEL_MODES", "AUTOTUNE"]

LABEL_MODES = ("binary", "int", "categorical", None)

#: ``prefetch(AUTOTUNE)`` picks a depth for you (2 batches), as in ``tf.data``.
AUTOTUNE = -1


# --- where the pixels come from -------------------------------------------------------

class FileSource:
    """Image files, decoded on demand to uint8 ``(H, W, C)`` with fixed settings."""

    def __init__(self, paths, image_size, color_mode="rgb", interpolation="bilinear", draft=True,
                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
        self.paths = [os.fspath(p) for p in paths]
        self.image_size = check_image_size(image_size)
        self.channels = check_color_mode(color_mode)
        self.color_mode = color_mode
        self.interpolation = interpolation_name(interpolation)  # "BILINEAR" -> "bilinear"
        self.draft = bool(draft)
        self.aspect = check_aspect_ratio_mode(crop_to_aspect_ratio, pad_to_aspect_ratio)

    def __len__(self):
        return len(self.paths)

    def settings(self):
        """Everything besides the files that changes the decoded pixels (for cache keys)."""
        settings = {"image_size": list(self.image_size), "color_mode": self.color_mode,
                    "interpolation": self.interpolation, "draft": self.draft}
        if self.aspect is not None:  # only when set, so that existing caches stay valid
            settings["aspect_ratio"] = self.aspect
        return settings

    def decode_options(self):
        """The keyword arguments of :func:`~minicnn.data.decode.decode_many` besides the size."""
        return {"interpolation": self.interpolation, "draft": self.draft,
                "crop_to_aspect_ratio": self.aspect == "crop",
                "pad_to_aspect_ratio": self.aspect == "pad"}

    def read(self, rows):
        """Decode the files at ``rows`` (in parallel): uint8 ``(len(rows), H, W, C)``.

        Unreadable files raise one :class:`~minicnn.data.decode.UnreadableImageError`
        that names every one of them in the batch (``cache()`` skips them instead).
        """
        out = np.empty((len(rows), *self.image_size, self.channels), dtype=np.uint8)
        decode_many([self.paths[r] for r in rows], out, self.image_size, self.color_mode,
                    **self.decode_options())
        return out


class ArraySource:
    """Images already in an array (in memory or memory-mapped) of shape ``(N, H, W, C)``.

    ``channels`` may ask for 3 or 4 channels from a 1-channel array: the grey values are
    copied into the channels batch by batch, so the array itself stays small.
    """

    def __init__(self, images, paths=None, channels=None):
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, H, W, C); got {images.shape}")
        self.images = images
        self.paths = None if paths is None else [os.fspath(p) for p in paths]
        self.image_size = (int(images.shape[1]), int(images.shape[2]))
        self.channels = int(images.shape[3]) if channels is None else int(channels)
        if self.channels != images.shape[3] and not (images.shape[3] == 1 and self.channels in (3, 4)):
            raise ValueError(f"cannot serve {self.channels} channels from images with "
                             f"{images.shape[3]}")
        self.color_mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(self.channels)

    def __len__(self):
        return self.images.shape[0]

    def read(self, rows):
        """The images at ``rows``: ``(len(rows), H, W, channels)`` in the array's dtype."""
        # Reading sorted rows is kinder to a memory-mapped file (sequential pages);
        # we then put them back in the requested order.
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")
        block = np.empty((len(rows), *self.images.shape[1:]), dtype=self.images.dtype)
        block[order] = self.images[rows[order]]
        if block.shape[3] != self.channels:  # grey -> rgb / rgba
            out = np.empty((*block.shape[:3], self.channels), dtype=block.dtype)
            out[..., :3] = block
            if self.channels == 4:
                out[..., 3] = 255 if block.dtype == np.uint8 else 255.0
            block = out
        return block


# --- background batches ---------------------------------------------------------------

_END = object()


class _Failure:
    def __init__(self, exc):
        self.exc = exc


def _produce(batches, out_queue, stop):
    """Worker thread: put each batch (then _END, or the exception) into ``out_queue``.

    Gives up as soon as ``stop`` is set; ``put`` uses a timeout so a full queue nobody
    reads any more cannot block the thread forever.
    """
    def put(item):
        while not stop.is_set():
            try:
                out_queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(batch):
                return
        put(_END)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, re-raised there
        put(_Failure(exc))
    finally:
        batches.close()


class _PrefetchIterator:
    """Iterator that reads batches made by a background thread, ``depth`` ahead.

    ``close()`` (also called when the loop breaks and the iterator is garbage collected)
    stops the thread: it sets the stop flag, empties the queue so a blocked ``put``
    returns, and joins. The thread holds no reference to this object, so dropping the
    iterator is enough to trigger ``__del__``.
    """

    def __init__(self, batches, depth):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_produce, args=(batches, self._queue, self._stop),
                                        name="minicnn-prefetch", daemon=True)
        self._thread.start()
        self._finished = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                # A worker always ends with _END or a _Failure; if it is gone without
                # either (killed from outside), say so rather than wait forever.
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise RuntimeError("the prefetch thread stopped without finishing the epoch") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        return item

    def close(self, timeout=10.0):
        """Stop the worker thread and wait for it (at most ``timeout`` seconds)."""
        self._finished = True
        self._stop.set()
        while True:  # drain, so a put() in progress finds room and the thread sees the flag
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def worker_alive(self):
        """True while the background thread runs (for tests and debugging)."""
        return self._thread.is_alive()

    def __del__(self):
        try:
            self.close(timeout=1.0)
        except Exception:  # noqa: BLE001 - never raise from __del__ (interpreter shutdown)
            pass


# --- the dataset ----------------------------------------------------------------------

def _check_label_mode(label_mode, num_classes):
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}; got {label_mode!r}")
    if label_mode == "binary" and num_classes != 2:
        raise ValueError(f'label_mode="binary" needs exactly 2 classes; got {num_classes}. '
                         f'Use label_mode="int" or "categorical" for other counts.')


def _check_no_class_emptied(labels, keep, class_names, failures):
    """Raise if dropping the unreadable files (``~keep``) leaves a class with no example.

    Training on with an empty class would only surface later as "AUC nan" or a
    classifier that never predicts it; the message names the class and its files.
    """
    if labels is None or keep.all():
        return
    reasons = dict(failures)
    for label in np.unique(labels[~keep]):
        if not keep[labels == label].any():
            rows = np.flatnonzero(labels == label)
            listing = "\n".join(f"  {reasons[i]}" for i in rows)
            raise ValueError(f"class {class_names[label]!r} has no readable image: all "
                             f"{len(rows)} of its files failed to decode:\n{listing}\n"
                             f"Replace the files, or leave the class out with class_names=[...]")


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    return int(batch_size)


class _EpochCounter:
    """How many epochs a family of datasets has started (shared by map/prefetch/cache)."""

    def __init__(self):
        self._next = 0
        self._lock = threading.Lock()

    def advance(self):
        """Return the current epoch number and move on to the next."""
        with self._lock:
            epoch, self._next = self._next, self._next + 1
            return epoch


def _draw_seed():
    # seed=None means "a different order each run": draw the seed itself from the OS
    # once, and keep it, so `ds.seed` can replay this run.
    return int(np.random.default_rng().integers(2**63 - 1))


class Dataset:
    """Batches of ``(images, labels)`` from a source of images.

    Build one with :func:`minicnn.data.image_dataset_from_directory`,
    :func:`minicnn.data.array_dataset` or :func:`minicnn.data.medmnist_dataset`
    rather than directly.

    Parameters
    ----------
    source : FileSource or ArraySource
        Where pixels come from, indexed by "row".
    labels : array-like of int or None
        One integer label per example (aligned with ``rows``), or None (no labels).
    class_names : list of str, or None
        Names of the label values 0, 1, ... (None for a dataset without labels, as Keras).
    rows : array-like of int, optional
        The source rows in this dataset, in their fixed order (default: all rows).
    batch_size : int
    shuffle : bool
        Draw a new order every epoch (see the module docstring).
    seed : int or None
    label_mode : {"binary", "int", "categorical", None}
    """

    def __init__(self, source, labels, class_names, rows=None, batch_size=32, shuffle=True,
                 seed=None, label_mode="binary"):
        self._source = source
        self._rows = np.arange(len(source)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.class_names = list(class_names) if class_names is not None else None
        names = self.class_names or []
        if labels is None or label_mode is None:
            self._labels, label_mode = None, None
        else:
            self._labels = np.asarray(labels, dtype=np.int64).reshape(-1)
            if self._labels.shape[0] != self._rows.shape[0]:
                raise ValueError(f"{self._labels.shape[0]} labels for {self._rows.shape[0]} images")
            if self._labels.size and (self._labels.min() < 0 or self._labels.max() >= len(names)):
                raise ValueError(f"labels must be in 0..{len(names) - 1} "
                                 f"(one per class name {self.class_names})")
        _check_label_mode(label_mode, len(names))
        self.label_mode = label_mode
        self._batch_size = _check_batch_size(batch_size)
        self._shuffle = bool(shuffle)
        self._seed = _draw_seed() if seed is None else int(seed)
        self._maps = ()
        self._prefetch = 0
        self._epochs = _EpochCounter()
        self.cache_status = None  # set by cache(): what happened ("built", "opened", ...)

    # --- what is in it ----------------------------------------------------------------
    def __len__(self):
        """Number of batches per epoch (the last one may be smaller)."""
        return math.ceil(len(self._rows) / self._batch_size)

    @property
    def num_examples(self):
        """Number of images (not batches)."""
        return len(self._rows)

    @property
    def file_paths(self):
        """The file of each example, in the dataset's fixed order (None for plain arrays)."""
        if self._source.paths is None:
            return None
        return [self._source.paths[r] for r in self._rows]

    @property
    def labels(self):
        """Integer label of each example, aligned with ``file_paths`` (None if unlabeled)."""
        if self._labels is None:
            return None
        view = self._labels.view()
        view.flags.writeable = False  # a copy would hide mistakes; a writeable view would invite them
        return view

    @property
    def image_size(self):
        """``(height, width)`` of every image."""
        return self._source.image_size

    @property
    def color_mode(self):
        return self._source.color_mode

    @property
    def num_channels(self):
        return self._source.channels

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def shuffle(self):
        """Whether each epoch draws a new order."""
        return self._shuffle

    @property
    def seed(self):
        """The seed of the per-epoch orders (drawn once if None was given)."""
        return self._seed

    @property
    def is_cached(self):
        """True when the pixels are in memory or in a memory-mapped cache file."""
        return isinstance(self._source, ArraySource)

    def __repr__(self):
        where = "cached" if self.is_cached else "decoded per batch"
        return (f"Dataset({self.num_examples} images {self.image_size[0]}x{self.image_size[1]}"
                f"x{self.num_channels}, classes={self.class_names}, batch_size={self._batch_size}, "
                f"shuffle={self._shuffle}, {len(self._maps)} maps, prefetch={self._prefetch}, {where})")

    @property
    def epochs_started(self):
        """How many epochs (iterations) this family of datasets has started: the ``epoch``
        of the next ``epoch_order``. Settable, so that a resumed run
        (``callbacks.BackupAndRestore``) continues the same sequence of orders."""
        return self._epochs._next

    @epochs_started.setter
    def epochs_started(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"epochs_started must be an integer >= 0, got {value!r}")
        with self._epochs._lock:
            self._epochs._next = int(value)

    # --- iteration --------------------------------------------------------------------
    def epoch_order(self, epoch):
        """The order in which epoch ``epoch`` (0, 1, ...) visits the examples.

        ``arange(n)`` when not shuffling, else ``default_rng([seed, epoch]).permutation(n)``.
        """
        n = len(self._rows)
        if not self._shuffle:
            return np.arange(n)
        return np.random.default_rng([self._seed, int(epoch)]).permutation(n)

    def load(self, positions):
        """Images (float32, no maps) and labels of the examples at ``positions``.

        Returns ``images`` or ``(images, labels)`` shaped as in iteration.
        """
        positions = np.asarray(positions, dtype=np.int64)
        raw = self._source.read(self._rows[positions])
        images = raw.astype(np.float32, copy=False)  # uint8 -> float32 in [0, 255]
        if self._labels is None:
            return images
        return images, self._format_labels(self._labels[positions])

    def _format_labels(self, y):
        if self.label_mode == "binary":
            return y.astype(np.float32).reshape(-1, 1)
        if self.label_mode == "int":
            return y.astype(np.int32)
        onehot = np.zeros((y.shape[0], len(self.class_names)), dtype=np.float32)
        onehot[np.arange(y.shape[0]), y] = 1.0
        return onehot

    def _batches(self, order):
        """Generator of mapped batches in ``order`` (runs in the prefetch thread if any)."""
        for start in range(0, len(order), self._batch_size):
            batch = self.load(order[start:start + self._batch_size])
            for fn in self._maps:
                batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
            yield batch

    def __iter__(self):
        order = self.epoch_order(self._epochs.advance())
        batches = self._batches(order)
        if self._prefetch > 0:
            return _PrefetchIterator(batches, self._prefetch)
        return batches

    # --- new datasets from this one -------------------------------------------------
    def _derive(self, source=None, rows=None, labels=None, **changes):
        new = object.__new__(Dataset)
        new.__dict__.update(self.__dict__)
        if source is not None:
            new._source = source
        if rows is not None:
            new._rows = rows
            new._labels = labels
        for name, value in changes.items():
            setattr(new, "_" + name, value)
        return new

    def with_options(self, batch_size=None, shuffle=None, seed=None):
        """A dataset over the same examples with another batch size, shuffling or seed."""
        return self._derive(
            batch_size=self._batch_size if batch_size is None else _check_batch_size(batch_size),
            shuffle=self._shuffle if shuffle is None else bool(shuffle),
            seed=self._seed if seed is None else int(seed), epochs=_EpochCounter())

    def subset(self, indices, shuffle=None, seed=None):
        """A dataset over the examples at ``indices`` (positions in ``file_paths``).

        ``indices`` are integer positions (repeats allowed, e.g. for oversampling) or a
        boolean mask of length ``num_examples``. The new dataset keeps this one's maps,
        prefetch and batch size, shares its source and cache, and lists the selected
        files in the order given. ``shuffle`` / ``seed`` override this dataset's.
        """
        idx = np.asarray(indices)
        n = len(self._rows)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise ValueError(f"a boolean mask for subset() must have shape ({n},); got {idx.shape}")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)
        elif not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"subset() takes integer positions or a boolean mask; got dtype {idx.dtype}")
        idx = idx.reshape(-1).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"subset() positions must be in 0..{n - 1}; got {idx.min()}..{idx.max()}")
        return self._derive(
            rows=self._rows[idx], labels=None if self._labels is None else self._labels[idx],
            shuffle=self._shuffle if shuffle is None else bool(shuffle),
            seed=self._seed if seed is None else int(seed), epochs=_EpochCounter())

    def with_labels(self, labels, class_names, label_mode=None):
        """A dataset over the same images, in the same order, with other labels and class names.

        ``labels``: one integer in ``0..len(class_names) - 1`` per example, in the order of
        ``file_paths`` (e.g. a finer class read from each file name). ``label_mode``
        (default: this dataset's) shapes them as in the constructor; "binary" needs two
        class names. Shares the source and cache, keeps maps, prefetch and batching.
        """
        labels = np.asarray(labels)
        if labels.shape != (len(self._rows),) or not (
                labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
            raise ValueError(f"with_labels() needs one integer label per example, shape "
                             f"({len(self._rows)},); got shape {labels.shape}, dtype {labels.dtype}")
        names = list(class_names)
        if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
            raise ValueError(f"with_labels(): labels must be in 0..{len(names) - 1} (one per "
                             f"class name {names}); got {labels.min()}..{labels.max()}")
        label_mode = self.label_mode if label_mode is None else label_mode
        if label_mode is None:
            raise ValueError('with_labels(): this dataset has no labels; give label_mode '
                             '("binary", "int" or "categorical")')
        _check_label_mode(label_mode, len(names))
        new = self._derive(rows=self._rows, labels=labels.astype(np.int64),
                           epochs=_EpochCounter())
        new.class_names, new.label_mode = names, label_mode
        return new

    def map(self, fn):
        """A dataset that applies ``fn`` to every batch as it is drawn.

        ``fn(images, labels) -> (images, labels)`` for labeled datasets, ``fn(images) ->
        images`` when ``label_mode`` is None. For an augmentation of the images alone:
        ``ds.map(lambda x, y: (augment(x), y))``. Maps run in the order they were added,
        on float32 copies of the cached pixels (never in place on the cache), in the
        prefetch thread when there is one.
        """
        if not callable(fn):
            raise ValueError(f"map() needs a callable; got {fn!r}")
        return self._derive(maps=self._maps + (fn,))

    def prefetch(self, n=AUTOTUNE):
        """A dataset that prepares the next ``n`` batches in a background thread.

        ``n=0`` turns prefetching off; ``AUTOTUNE`` (-1) means 2. An exception in the
        thread (an unreadable file, a failing map) is raised in the loop that iterates;
        leaving the loop early stops the thread.
        """
        if n == AUTOTUNE:
            n = 2
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"prefetch() takes a number of batches >= 0 or AUTOTUNE; got {n!r}")
        return self._derive(prefetch=int(n))

    def cache(self, path=None, verbose=True):
        """A dataset that decodes every image once and keeps the uint8 pixels.

        Parameters
        ----------
        path : str or path-like, optional
            None: keep the pixels in memory. Otherwise a memory-mapped cache file:
            ``path`` is either a folder (existing, or written with a trailing "/"; the
            files inside are named after the cache key) or a file stem (``<path>.npy``
            plus ``<path>.json``).
            A valid cache for exactly these files (names, sizes, mtimes, ctimes, inodes)
            and load settings is opened without decoding anything; a stale, truncated
            or corrupt one is rebuilt (see ``minicnn/data/cache.py``).
        verbose : bool
            Progress bar while decoding (only on a terminal) and a note about rebuilds.

        Returns
        -------
        Dataset
            Same order, batch size, shuffling, maps and prefetch. Files that turn out to
            be unreadable (truncated or corrupt) are left out together with their labels,
            and a warning names each of them: the new dataset may be smaller.

        Arrays (``array_dataset``, ``medmnist_dataset``) are in memory already:
        ``cache()`` returns them unchanged.
        """
        if self.is_cached:
            return self
        paths = self.file_paths
        shape = (len(paths), *self.image_size, self.num_channels)
        progress = Progress(len(paths), desc="Decoding images", enabled=verbose)
        status = "in memory"

        def fill(out):
            with progress:
                return decode_many(paths, out, self.image_size, self.color_mode,
                                   errors="collect", progress=progress,
                                   **self._source.decode_options())

        if path is None:
            pixels = np.empty(shape, dtype=np.uint8)
            failures = fill(pixels)
        else:
            key = _cache.cache_key(paths, self._source.settings())
            pixels, failures, status = _cache.open_or_build(path, key, shape, fill)
            if verbose and status != "opened":
                print(f"Image cache {status}.", file=sys.stderr)
        keep = np.ones(len(paths), dtype=bool)
        keep[[i for i, _ in failures]] = False
        _check_no_class_emptied(self._labels, keep, self.class_names, failures)
        if failures:
            listing = "\n".join(f"  {message}" for _, message in failures)
            warnings.warn(f"Skipped {len(failures)} unreadable image file(s); their labels "
                          f"are dropped with them:\n{listing}", RuntimeWarning, stacklevel=2)
        kept = np.flatnonzero(keep)
        source = ArraySource(pixels, paths=paths)
        new = self._derive(source=source, rows=kept,
                           labels=None if self._labels is None else self._labels[kept])
        new.cache_status = status
        return new
