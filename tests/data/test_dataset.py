"""The batch Dataset: order, shuffling, map, subset, in-memory cache sharing, prefetch."""

import gc
import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

from minicnn.data import AUTOTUNE, array_dataset, image_dataset_from_directory


def id_images(n, h=3, w=2):
    """n uint8 images whose every pixel is the image's index: identity survives batching."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, h, w, 1)).copy()


def dataset(n=23, batch_size=5, **kwargs):
    labels = np.arange(n) % 2
    return array_dataset(id_images(n), labels, batch_size=batch_size, **kwargs)


def ids(batch_images):
    return batch_images[:, 0, 0, 0].astype(int).tolist()


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "minicnn-prefetch" and t.is_alive()]


def wait_for_no_prefetch_threads(timeout=5.0):
    end = time.monotonic() + timeout
    while prefetch_threads() and time.monotonic() < end:
        time.sleep(0.01)
    return not prefetch_threads()


# --- order and shuffling ----------------------------------------------------------------

def test_unshuffled_batches_are_in_order_with_a_short_last_batch():
    ds = dataset(shuffle=False)
    assert len(ds) == 5 and ds.num_examples == 23
    batches = list(ds)
    assert [ids(x) for x, _ in batches][-1] == [20, 21, 22]
    assert sum((ids(x) for x, _ in batches), []) == list(range(23))
    for x, y in batches:
        assert x.dtype == np.float32 and y.dtype == np.float32 and y.shape == (len(x), 1)
        assert y[:, 0].astype(int).tolist() == [i % 2 for i in ids(x)]


def test_epoch_orders_are_a_function_of_seed_and_epoch():
    ds = dataset(seed=11)
    first = [sum((ids(x) for x, _ in ds), []) for _ in range(3)]
    assert [list(ds.epoch_order(e)) for e in range(3)] == first
    assert first[0] != first[1] and sorted(first[2]) == list(range(23))
    twin = dataset(seed=11)
    assert [sum((ids(x) for x, _ in twin), []) for _ in range(3)] == first
    assert dataset(seed=None).seed != dataset(seed=None).seed  # drawn, and readable
    replay = dataset(seed=dataset(seed=None).seed)
    assert isinstance(replay.seed, int)


def test_map_shares_the_epoch_counter_subset_starts_its_own():
    ds = dataset(seed=3)
    f = lambda x, y: (x, y)  # noqa: E731
    # Re-creating the mapped dataset every epoch still walks through epochs 0, 1, 2.
    orders = [sum((ids(x) for x, _ in ds.map(f)), []) for _ in range(3)]
    assert orders == [list(ds.epoch_order(e)) for e in range(3)]
    sub = ds.subset(range(23))
    assert sum((ids(x) for x, _ in sub), []) == list(ds.epoch_order(0))


def test_with_options_changes_batching_and_shuffling_only():
    ds = dataset(seed=1)
    plain = ds.with_options(batch_size=23, shuffle=False)
    x, y = next(iter(plain))
    assert ids(x) == list(range(23)) and len(plain) == 1 and ds.batch_size == 5
    reseeded = ds.with_options(seed=2)
    assert reseeded.seed == 2 and not np.array_equal(reseeded.epoch_order(0), ds.epoch_order(0))


# --- subset -----------------------------------------------------------------------------

def test_subset_selects_positions_masks_and_keeps_labels():
    ds = dataset(shuffle=False)
    sub = ds.subset([20, 3, 3, 7])
    x, y = next(iter(sub))
    assert ids(x) == [20, 3, 3, 7] and y[:, 0].tolist() == [0, 1, 1, 1]
    assert sub.labels.tolist() == [0, 1, 1, 1]
    mask = np.zeros(23, dtype=bool)
    mask[[1, 5]] = True
    assert ids(next(iter(ds.subset(mask)))[0]) == [1, 5]
    nested = sub.subset([0, 3])
    assert ids(next(iter(nested))[0]) == [20, 7]
    shuffled = ds.subset(range(10), shuffle=True, seed=5)
    assert shuffled.shuffle and shuffled.seed == 5 and not ds.shuffle
    with pytest.raises(ValueError, match="0..22"):
        ds.subset([23])
    with pytest.raises(ValueError, match="0..22"):
        ds.subset([-1])
    with pytest.raises(ValueError, match="boolean mask"):
        ds.subset(np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="integer positions"):
        ds.subset([0.5])


def test_labels_cannot_be_edited_through_the_property():
    ds = dataset()
    with pytest.raises(ValueError):
        ds.labels[0] = 1


# --- map --------------------------------------------------------------------------------

def test_map_applies_in_order_to_every_batch_and_returns_a_new_dataset():
    ds = dataset(shuffle=False)
    mapped = ds.map(lambda x, y: (x + 1000, y)).map(lambda x, y: (x * 2, y * 0 + 7))
    assert mapped is not ds and len(ds._maps) == 0
    x, y = next(iter(mapped))
    assert ids(x) == [(i + 1000) * 2 for i in range(5)] and np.all(y == 7)
    assert ids(next(iter(ds))[0]) == [0, 1, 2, 3, 4]  # the original is untouched
    unlabeled = array_dataset(id_images(4), None, shuffle=False).map(lambda x: x - 1)
    assert ids(next(iter(unlabeled))) == [-1, 0, 1, 2]
    with pytest.raises(ValueError, match="callable"):
        ds.map(3)


def test_a_map_that_edits_in_place_never_changes_the_stored_pixels():
    ds = dataset(shuffle=False)

    def scribble(x, y):
        x += 100  # in place on the batch it was handed
        return x, y

    mapped = ds.map(scribble)
    for _ in range(2):
        assert ids(next(iter(mapped))[0]) == [100, 101, 102, 103, 104]
    assert ids(next(iter(ds))[0]) == [0, 1, 2, 3, 4]


# --- cache sharing (files) --------------------------------------------------------------

def make_folder(root, n=6):
    for label, name in enumerate(["a", "b"]):
        os.makedirs(os.path.join(root, name))
        for i in range(n):
            Image.new("L", (8, 8), 10 * i + label).save(os.path.join(root, name, f"{i}.png"))
    return root


def test_cache_decodes_once_and_map_and_subset_share_it(tmp_path, monkeypatch):
    root = make_folder(str(tmp_path))
    lazy = image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False,
                                        color_mode="grayscale")
    cached = lazy.cache(verbose=False)
    assert not lazy.is_cached and cached.is_cached and cached.cache_status == "in memory"
    pixels = cached._source.images
    assert pixels.dtype == np.uint8 and pixels.shape == (12, 4, 4, 1)
    for (x1, y1), (x2, y2) in zip(lazy, cached):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    # Derived datasets hold the very same array: no second copy of the pixels.
    train = cached.subset(range(0, 12, 2)).map(lambda x, y: (x / 255.0, y))
    evaluation = cached.subset(range(1, 12, 2), shuffle=False)
    assert train._source.images is pixels and evaluation._source.images is pixels
    # And nothing is decoded again after cache().
    import minicnn.data.decode as decode_module
    monkeypatch.setattr(decode_module, "decode_image",
                        lambda *a, **k: pytest.fail("decoded after cache()"))
    assert sum(len(x) for x, _ in train) == 6
    assert cached.cache() is cached


# --- prefetch ---------------------------------------------------------------------------

def test_prefetch_gives_the_same_batches_in_the_same_order():
    ds = dataset(seed=4).map(lambda x, y: (x * 2, y))
    fetched = dataset(seed=4).map(lambda x, y: (x * 2, y)).prefetch(3)
    for _ in range(2):  # two epochs, each in a new order, identical with and without prefetch
        a = [(ids(x), y.tolist()) for x, y in ds]
        b = [(ids(x), y.tolist()) for x, y in fetched]
        assert a == b
    assert ds.prefetch(AUTOTUNE)._prefetch == 2 and ds.prefetch(0)._prefetch == 0
    with pytest.raises(ValueError, match="prefetch"):
        ds.prefetch(-5)
    assert wait_for_no_prefetch_threads()


class Boom(RuntimeError):
    pass


def test_an_error_in_the_worker_is_raised_in_the_main_thread():
    calls = []

    def fail_on_third(x, y):
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise Boom("map failed on batch 3")
        return x, y

    ds = dataset(shuffle=False).map(fail_on_third).prefetch(2)
    seen = []
    with pytest.raises(Boom, match="batch 3"):
        for x, _ in ds:
            seen.append(ids(x)[0])
    assert seen == [0, 5] and calls[0] == "minicnn-prefetch"
    assert wait_for_no_prefetch_threads()


def test_breaking_out_early_stops_the_thread_without_hanging():
    slow = dataset(n=200, batch_size=2, shuffle=False).map(lambda x, y: (x, y)).prefetch(1)
    start = time.monotonic()
    for i, _ in enumerate(slow):
        if i == 1:
            break  # the worker is now blocked on a full queue
    assert wait_for_no_prefetch_threads(), "prefetch thread still running after break"
    # An iterator dropped without finishing (garbage collection) also stops its thread.
    it = iter(slow)
    next(it)
    assert prefetch_threads()
    del it
    gc.collect()
    assert wait_for_no_prefetch_threads(), "prefetch thread survived garbage collection"
    assert time.monotonic() - start < 5


def test_explicit_close_with_a_slow_map_returns():
    def slow_map(x, y):
        time.sleep(0.05)
        return x, y

    it = iter(dataset(n=50, batch_size=1).map(slow_map).prefetch(2))
    next(it)
    start = time.monotonic()
    it.close()
    assert time.monotonic() - start < 2 and not it.worker_alive
    with pytest.raises(StopIteration):
        next(it)


class FakeTerminal:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


def test_cache_shows_a_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    root = make_folder(str(tmp_path))
    lazy = image_dataset_from_directory(root, image_size=(4, 4), verbose=False)
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    lazy.cache()
    assert "Decoding images" in terminal.text and "12/12" in terminal.text
    terminal.text = ""
    lazy.cache(verbose=False)
    assert terminal.text == ""
    monkeypatch.undo()
    lazy.cache()  # stderr captured by pytest: not a terminal, so silent
    assert capsys.readouterr().err == ""


def test_with_labels_keeps_images_and_order_and_checks_the_labels():
    ds = dataset(n=7, batch_size=3, shuffle=False)
    finer = np.array([0, 2, 1, 2, 0, 1, 1])
    three = ds.with_labels(finer, ["a", "b", "c"], label_mode="int")
    assert three.class_names == ["a", "b", "c"] and three.label_mode == "int"
    assert three.file_paths == ds.file_paths and three.labels.tolist() == finer.tolist()
    batches = list(three)
    assert [ids(x) for x, _ in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert np.concatenate([y for _, y in batches]).tolist() == finer.tolist()
    assert ds.labels.tolist() == [0, 1, 0, 1, 0, 1, 0]          # the original is unchanged
    assert three.subset([1, 3]).labels.tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        ds.with_labels([0, 3, 1, 2, 0, 1, 1], ["a", "b", "c"], label_mode="int")
    with pytest.raises(ValueError, match=r"one integer label per example, shape \(7,\)"):
        ds.with_labels([0, 1], ["a", "b", "c"], label_mode="int")
    with pytest.raises(ValueError, match="binary"):
        ds.with_labels(finer, ["a", "b", "c"])                  # "binary" kept: needs 2 names
