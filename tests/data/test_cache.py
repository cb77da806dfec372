"""The memory-mapped disk cache: reopened fast, rebuilt when stale, never used when corrupt."""

import json
import os
import time

import numpy as np
import pytest
from PIL import Image

import minicnn.data.decode as decode_module
from minicnn.data import image_dataset_from_directory
from minicnn.data.cache import build_cache, cache_paths, open_cache


def make_folder(root, n=5, size=(20, 16)):
    rng = np.random.default_rng(0)
    for label, name in enumerate(["NORMAL", "PNEUMONIA"]):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 256, size[::-1], dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, name, f"{i}.png"))
    return root


def load(root, **kwargs):
    kwargs = {"image_size": (8, 6), "shuffle": False, "verbose": False, **kwargs}
    return image_dataset_from_directory(root, **kwargs)


def all_pixels(ds):
    return np.concatenate([x for x, _ in ds.with_options(shuffle=False)])


def forbid_decoding(monkeypatch):
    monkeypatch.setattr(decode_module, "decode_image",
                        lambda *a, **k: pytest.fail("decoded although the cache is valid"))


def test_build_then_reopen_without_decoding(tmp_path, monkeypatch):
    root = make_folder(str(tmp_path / "imgs"))
    stem = str(tmp_path / "cache" / "train")
    first = load(root).cache(stem, verbose=False)
    assert first.cache_status == "built"
    assert os.path.exists(stem + ".npy") and os.path.exists(stem + ".json")
    reference = all_pixels(load(root).cache(verbose=False))
    assert np.array_equal(all_pixels(first), reference)

    forbid_decoding(monkeypatch)
    start = time.perf_counter()
    second = load(root).cache(stem, verbose=False)
    assert time.perf_counter() - start < 1.0
    assert second.cache_status == "opened"
    assert isinstance(second._source.images, np.memmap)
    assert not second._source.images.flags.writeable  # opened read-only
    assert np.array_equal(all_pixels(second), reference)
    assert second.labels.tolist() == [0] * 5 + [1] * 5


def test_directory_path_names_the_file_by_key(tmp_path):
    root = make_folder(str(tmp_path / "imgs"))
    folder = tmp_path / "cachedir"
    folder.mkdir()
    a = load(root).cache(str(folder), verbose=False)
    b = load(root, image_size=(4, 4)).cache(str(folder), verbose=False)  # other settings
    assert a.cache_status == "built" and b.cache_status == "built"
    assert len(list(folder.glob("images-*.npy"))) == 2
    assert load(root).cache(str(folder), verbose=False).cache_status == "opened"


@pytest.mark.parametrize("change", ["touch", "rewrite", "add", "settings"])
def test_a_stale_cache_is_rebuilt(tmp_path, change):
    root = make_folder(str(tmp_path / "imgs"))
    stem = str(tmp_path / "c")
    load(root).cache(stem, verbose=False)
    path = os.path.join(root, "NORMAL", "0.png")
    kwargs = {}
    if change == "touch":
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    elif change == "rewrite":
        Image.new("L", (20, 16), 255).save(path)
    elif change == "add":
        Image.new("L", (20, 16), 7).save(os.path.join(root, "NORMAL", "9.png"))
    else:
        kwargs["color_mode"] = "grayscale"
    ds = load(root, **kwargs).cache(stem, verbose=False)
    assert ds.cache_status.startswith("rebuilt (stale")
    assert np.array_equal(all_pixels(ds), all_pixels(load(root, **kwargs).cache(verbose=False)))
    assert load(root, **kwargs).cache(stem, verbose=False).cache_status == "opened"


def corrupt_truncate(stem):
    with open(stem + ".npy", "r+b") as f:
        f.truncate(os.path.getsize(stem + ".npy") - 100)


def corrupt_pixels(stem):
    with open(stem + ".npy", "r+b") as f:
        f.seek(-50, os.SEEK_END)
        f.write(b"\xff" * 50)


def corrupt_header_field(stem):
    with open(stem + ".json") as f:
        header = json.load(f)
    header["shape"][0] += 1  # an edited field, without a new checksum
    with open(stem + ".json", "w") as f:
        json.dump(header, f)


def corrupt_header_garbage(stem):
    with open(stem + ".json", "w") as f:
        f.write("{not json")


def remove_header(stem):
    os.remove(stem + ".json")  # as if the build was interrupted before its last step


@pytest.mark.parametrize("damage", [corrupt_truncate, corrupt_pixels, corrupt_header_field,
                                    corrupt_header_garbage, remove_header])
def test_a_corrupt_cache_is_detected_and_rebuilt_never_used(tmp_path, damage):
    root = make_folder(str(tmp_path / "imgs"))
    stem = str(tmp_path / "c")
    good = all_pixels(load(root).cache(stem, verbose=False))
    damage(stem)
    with pytest.warns(RuntimeWarning, match="corrupt"):
        ds = load(root).cache(stem, verbose=False)
    assert ds.cache_status.startswith("rebuilt (corrupt")
    assert np.array_equal(all_pixels(ds), good)
    assert load(root).cache(stem, verbose=False).cache_status == "opened"


def test_an_interrupted_build_leaves_no_cache_and_no_temporary_files(tmp_path):
    npy, header = str(tmp_path / "c.npy"), str(tmp_path / "c.json")

    def fill(out):
        out[0] = 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_cache(npy, header, "k" * 64, (3, 2, 2, 1), fill)
    assert os.listdir(tmp_path) == []
    pixels, failures, reason = open_cache(npy, header, "k" * 64, (3, 2, 2, 1))
    assert pixels is None and reason == "missing"


def test_unreadable_files_are_remembered_by_the_cache(tmp_path, monkeypatch):
    root = make_folder(str(tmp_path / "imgs"))
    with open(os.path.join(root, "PNEUMONIA", "2.png"), "r+b") as f:
        f.truncate(60)
    stem = str(tmp_path / "c")
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 1 .*PNEUMONIA.2\.png"):
        first = load(root).cache(stem, verbose=False)
    forbid_decoding(monkeypatch)
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 1 .*PNEUMONIA.2\.png"):
        second = load(root).cache(stem, verbose=False)
    assert second.cache_status == "opened"
    assert second.file_paths == first.file_paths and len(second.file_paths) == 9
    assert second.labels.tolist() == [0] * 5 + [1] * 4


def test_cache_paths_stem_and_directory(tmp_path):
    assert cache_paths(str(tmp_path / "x.npy"), "ab" * 32) == (str(tmp_path / "x.npy"),
                                                               str(tmp_path / "x.json"))
    npy, header = cache_paths(str(tmp_path), "ab" * 32)
    assert npy == os.path.join(str(tmp_path), "images-" + "ab" * 8 + ".npy")
    new_folder = str(tmp_path / "new") + os.sep  # not there yet: the trailing "/" says folder
    assert cache_paths(new_folder, "cd" * 32)[1] == os.path.join(new_folder, "images-" + "cd" * 8 + ".json")
    assert cache_paths("~/c", "ab" * 32)[0] == os.path.join(os.path.expanduser("~"), "c.npy")


def test_cache_into_a_new_folder(tmp_path):
    root = make_folder(str(tmp_path / "imgs"))
    ds = load(root).cache(str(tmp_path / "made" / "here") + "/", verbose=False)
    assert ds.cache_status == "built" and len(list((tmp_path / "made" / "here").glob("images-*.json"))) == 1


def test_real_splits_reopen_fast(tmp_path):
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("MINICNN_DATA is not set (it points to shared/data/chest_xray)")
    test_dir = os.path.join(root, "test")  # 624 images: the build takes a second or two
    built = load(test_dir, image_size=(224, 224), color_mode="grayscale").cache(str(tmp_path), verbose=False)
    assert built.cache_status == "built" and built.num_examples == 624
    start = time.perf_counter()
    again = load(test_dir, image_size=(224, 224), color_mode="grayscale").cache(str(tmp_path), verbose=False)
    elapsed = time.perf_counter() - start
    assert again.cache_status == "opened" and elapsed < 1.0
    assert int((again.labels == 0).sum()) == 234
