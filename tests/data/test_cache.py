"""The memory-mapped disk cache: reopened fast, rebuilt when stale, never used when corrupt."""

import json
import os
import subprocess
import sys
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


# --- attacks: concurrent writers, a killed build, a rewrite that hides itself ----------------
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Each worker builds ITS dataset (every pixel = its value, its own key) into the SAME stem,
# ROUNDS times; before each round the workers meet at a file barrier so that their builds
# overlap. A worker prints one line per round: the values it was served.
CONCURRENT_WORKER = r"""
import json, os, sys, time
import numpy as np
from minicnn.data.cache import open_or_build
folder, value, workers, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
shape = (32, 64, 64, 1)
key = f"{value:064x}"

def fill(out):
    out[...] = value
    return []

for r in range(rounds):
    open(os.path.join(folder, f"ready-{r}-{value}"), "w").close()
    while len([n for n in os.listdir(folder) if n.startswith(f"ready-{r}-")]) < workers:
        time.sleep(0.0005)
    pixels, failures, status = open_or_build(os.path.join(folder, f"cache-{r}"), key, shape, fill)
    print(json.dumps({"round": r, "status": status,
                      "served": sorted(int(v) for v in np.unique(pixels))}), flush=True)
"""


def run_python(script, *args, timeout=300, **kwargs):
    env = dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_concurrent_builds_of_different_datasets_never_serve_each_other(tmp_path):
    """The old build renamed its file into place, then reopened it BY NAME: a second writer's
    rename in between served the first process the second one's pixels (4 of 6 tries)."""
    workers, rounds = 3, 12
    procs = [run_python(CONCURRENT_WORKER, tmp_path, value, workers, rounds)
             for value in range(1, workers + 1)]
    for value, proc in enumerate(procs, start=1):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == rounds
        wrong = [line for line in lines if line["served"] != [value]]
        assert not wrong, f"worker {value} was served another dataset: {wrong}"
    # Whatever pair of files the race left on disk, opening it never serves the wrong pixels.
    for r in range(rounds):
        for value in range(1, workers + 1):
            npy, header = cache_paths(str(tmp_path / f"cache-{r}"), "")
            pixels, _, reason = open_cache(npy, header, f"{value:064x}", (32, 64, 64, 1))
            assert pixels is None or set(np.unique(pixels)) == {value}, reason


KILLED_WORKER = r"""
import os, sys, time
from minicnn.data.cache import build_cache
npy, header, marker = sys.argv[1:4]

def fill(out):
    out[...] = 3
    open(marker, "w").close()  # the chosen point: pixels half written, nothing renamed yet
    time.sleep(120)
    return []

build_cache(npy, header, "k" * 64, (4, 8, 8, 1), fill)
"""


def start_and_stop_in_fill(tmp_path, name):
    """A build in a subprocess, stopped inside ``fill`` (it has written its temp file)."""
    marker = tmp_path / f"{name}.marker"
    proc = run_python(KILLED_WORKER, tmp_path / "c.npy", tmp_path / "c.json", marker)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the worker never reached fill"
        time.sleep(0.01)
    marker.unlink()
    return proc


def cache_files(folder):
    return sorted(name for name in os.listdir(folder) if not name.endswith(".marker"))


def test_a_killed_build_leaves_a_temp_file_that_the_next_build_removes(tmp_path):
    proc = start_and_stop_in_fill(tmp_path, "killed")
    proc.kill()  # SIGKILL: no except, no finally, no cleanup in the worker
    proc.communicate()
    leftover = cache_files(tmp_path)
    assert leftover and all(".tmp" in name for name in leftover), leftover

    pixels, failures = build_cache(str(tmp_path / "c.npy"), str(tmp_path / "c.json"), "k" * 64,
                                   (4, 8, 8, 1), lambda out: out.fill(5) or [])
    assert (pixels == 5).all() and failures == []
    assert cache_files(tmp_path) == ["c.json", "c.npy"]


def test_the_temp_file_of_a_build_still_running_is_left_alone(tmp_path):
    proc = start_and_stop_in_fill(tmp_path, "alive")
    try:
        running = cache_files(tmp_path)
        assert running
        build_cache(str(tmp_path / "c.npy"), str(tmp_path / "c.json"), "k" * 64,
                    (4, 8, 8, 1), lambda out: out.fill(5) or [])
        assert set(running) <= set(cache_files(tmp_path))  # its temp file is still there
    finally:
        proc.kill()
        proc.communicate()


def save_stored_png(path, value):
    """A PNG without compression: its byte size depends on the image size only."""
    Image.fromarray(np.full((16, 20), value, np.uint8)).save(path, compress_level=0)


@pytest.mark.parametrize("how", ["in place", "replaced"])
def test_a_rewritten_image_with_its_size_and_mtime_restored_is_not_served_stale(tmp_path, how):
    root = make_folder(str(tmp_path / "imgs"))
    path = os.path.join(root, "NORMAL", "0.png")
    save_stored_png(path, 10)
    stem = str(tmp_path / "c")
    before = load(root).cache(stem, verbose=False)
    assert all_pixels(before)[0].max() == 10
    st = os.stat(path)
    if how == "in place":
        save_stored_png(path, 200)
    else:
        save_stored_png(path + ".new.png", 200)
        os.replace(path + ".new.png", path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what `touch -r` or a restore does
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    after = load(root).cache(stem, verbose=False)
    assert after.cache_status.startswith("rebuilt (stale")
    assert all_pixels(after)[0].min() == 200


def test_another_writers_rename_right_after_ours_changes_nothing_we_serve(tmp_path, monkeypatch):
    """The race above, made certain: a second build lands its file on the name between our
    rename and our return. We still serve our pixels, and the pair left on disk (our header,
    its pixels) is recognised as not belonging together."""
    npy, header = str(tmp_path / "c.npy"), str(tmp_path / "c.json")
    shape = (4, 8, 8, 1)
    real_replace = os.replace
    intruded = []

    def replace_then_intrude(src, dst):
        real_replace(src, dst)
        if dst == npy and not intruded:
            intruded.append(True)
            build_cache(npy, header, "b" * 64, shape, lambda out: out.fill(2) or [])

    monkeypatch.setattr(os, "replace", replace_then_intrude)
    pixels, _ = build_cache(npy, header, "a" * 64, shape, lambda out: out.fill(1) or [])
    monkeypatch.undo()
    assert intruded and (np.asarray(pixels) == 1).all()
    for key in ("a" * 64, "b" * 64):
        served, _, reason = open_cache(npy, header, key, shape)
        assert served is None and reason.startswith("stale"), reason
