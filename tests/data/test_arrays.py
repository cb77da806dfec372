"""Datasets from arrays and from MedMNIST .npz files: the folder interface, the same batches."""

import os

import numpy as np
import pytest

from minicnn.data import array_dataset, load_medmnist, medmnist_dataset

MEDMNIST_28 = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                           "medmnist", "pneumoniamnist_28.npz")


def medmnist_path():
    candidates = [MEDMNIST_28, "/work/shared/data/medmnist/pneumoniamnist_28.npz"]
    root = os.environ.get("MINICNN_DATA")
    if root:
        candidates.insert(0, os.path.join(root, "..", "medmnist", "pneumoniamnist_28.npz"))
    for path in candidates:
        if os.path.exists(path):
            return path
    pytest.skip("pneumoniamnist_28.npz not found (shared/data/medmnist)")


# --- array_dataset ----------------------------------------------------------------------

def test_array_dataset_batches_like_the_folder_dataset():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 4, 5), dtype=np.uint8)  # (N, H, W): grayscale
    labels = (np.arange(10) % 2).reshape(-1, 1)                  # (N, 1) as MedMNIST stores them
    ds = array_dataset(images, labels, batch_size=4, shuffle=False)
    assert len(ds) == 3 and ds.image_size == (4, 5) and ds.color_mode == "grayscale"
    assert ds.class_names == ["0", "1"] and ds.file_paths is None
    x, y = next(iter(ds))
    assert x.dtype == np.float32 and x.shape == (4, 4, 5, 1) and np.array_equal(x[..., 0], images[:4])
    assert y.dtype == np.float32 and y[:, 0].tolist() == [0, 1, 0, 1]
    # The uint8 array is kept as is (1 byte per pixel), not copied to float.
    assert ds._source.images.dtype == np.uint8 and np.shares_memory(ds._source.images, images)
    assert ds.cache() is ds


def test_array_dataset_shuffle_keeps_pairs_and_label_modes():
    images = np.arange(12, dtype=np.uint8).reshape(12, 1, 1, 1)
    labels = np.arange(12) % 3
    ds = array_dataset(images, labels, batch_size=12, seed=0, label_mode="int")
    x, y = next(iter(ds))
    assert y.dtype == np.int32 and np.array_equal(y, x[:, 0, 0, 0].astype(int) % 3)
    assert sorted(x[:, 0, 0, 0].astype(int)) == list(range(12))
    cat = array_dataset(images, labels, label_mode="categorical", class_names=["a", "b", "c"])
    assert next(iter(cat))[1].shape[1] == 3
    with pytest.raises(ValueError, match="exactly 2 classes; got 3"):
        array_dataset(images, labels)  # binary by default
    assert isinstance(next(iter(array_dataset(images, None))), np.ndarray)


def test_array_dataset_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(N, H, W\)"):
        array_dataset(np.zeros((3, 4)), [0, 1, 0])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        array_dataset(np.zeros((3, 4, 4)), [0, 1])
    with pytest.raises(ValueError, match="integers"):
        array_dataset(np.zeros((3, 4, 4)), [0, 0.5, 1])
    with pytest.raises(ValueError, match="batch_size"):
        array_dataset(np.zeros((3, 4, 4)), [0, 1, 1], batch_size=0)


# --- MedMNIST ---------------------------------------------------------------------------

def test_pneumoniamnist_splits_counts_and_classes():
    path = medmnist_path()
    expected = {"train": (4708, 1214), "val": (524, 135), "test": (624, 234)}
    for split, (count, normal) in expected.items():
        ds = medmnist_dataset(path, split, batch_size=64, shuffle=False)
        assert ds.num_examples == count and int((ds.labels == 0).sum()) == normal
        assert ds.class_names == ["0", "1"]                   # one name per label value
        named = medmnist_dataset(path, split, shuffle=False, class_names=["NORMAL", "PNEUMONIA"])
        assert named.class_names == ["NORMAL", "PNEUMONIA"]
        assert ds.file_paths[3] == f"pneumoniamnist_28.npz:{split}/00003"
    images, labels = load_medmnist(path, "test")
    assert images.shape == (624, 28, 28) and labels.shape == (624,)
    x, y = next(iter(medmnist_dataset(path, "test", batch_size=624, shuffle=False)))
    assert x.shape == (624, 28, 28, 1) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 255 and np.array_equal(x[..., 0], images)
    assert np.array_equal(y[:, 0], labels)


def test_pneumoniamnist_rgb_and_resize():
    path = medmnist_path()
    grey = medmnist_dataset(path, "val", batch_size=8, shuffle=False)
    rgb = medmnist_dataset(path, "val", batch_size=8, shuffle=False, color_mode="rgb")
    xg, _ = next(iter(grey))
    xr, _ = next(iter(rgb))
    assert xr.shape == (8, 28, 28, 3) and np.all(xr == xg)  # grey copied to 3 channels
    assert rgb._source.images.shape[3] == 1                 # stored once, expanded per batch
    big = medmnist_dataset(path, "val", batch_size=8, shuffle=False, image_size=(56, 56))
    xb, _ = next(iter(big))
    assert xb.shape == (8, 56, 56, 1)
    # Upsampling by 2 keeps each image's mean brightness.
    assert np.abs(xb.mean(axis=(1, 2, 3)) - xg.mean(axis=(1, 2, 3))).max() < 2.0


def test_medmnist_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="bloodmnist_64.npz.*does not exist"):
        medmnist_dataset(str(tmp_path / "bloodmnist_64.npz"))
    other = tmp_path / "other.npz"
    np.savez(other, images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="not a MedMNIST file.*train_images"):
        medmnist_dataset(str(other))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ValueError, match="cannot read"):
        medmnist_dataset(str(broken))
    with pytest.raises(ValueError, match="split"):
        medmnist_dataset(medmnist_path(), split="training")
