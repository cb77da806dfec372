"""image_dataset_from_directory: Keras's file order and labels, batches, splits, bad input."""

import os

import numpy as np
import pytest
from PIL import Image

from minicnn.data import UnreadableImageError, decode_image, image_dataset_from_directory


def write_png(path, value, size=(6, 5)):
    """A flat grey PNG whose pixel value identifies it (lossless, so it survives decoding)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("L", size, int(value)).save(path)


def make_tree(root, counts=(("cats", 5), ("dogs", 7))):
    """Class folders with files whose grey value encodes the class: value = 100 * label + i."""
    for label, (name, count) in enumerate(counts):
        for i in range(count):
            write_png(os.path.join(root, name, f"img{i:02d}.png"), 100 * label + 10 + i)
    return root


def ids_of(images):
    return images[:, 0, 0, 0].astype(int)


# --- discovery --------------------------------------------------------------------------

def test_keras_file_order_class_order_and_filters(tmp_path, capsys):
    root = str(tmp_path)
    # Classes out of creation order; "B" < "a" in code point order, as Keras sorts.
    write_png(f"{root}/a/z.png", 1)
    write_png(f"{root}/a/sub/b.PNG", 2)   # upper-case extension, in a sub-folder
    write_png(f"{root}/a/m.Jpg", 3)
    write_png(f"{root}/B/x.bmp", 4)
    write_png(f"{root}/.hidden_class/h.png", 5)
    write_png(f"{root}/a/._z.png", 6)     # macOS resource fork: hidden, ignored
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "B" / "y.jpeg.bak").write_text("not an image")
    ds = image_dataset_from_directory(root, image_size=(5, 6), shuffle=False, label_mode="int",
                                      interpolation="nearest")
    assert capsys.readouterr().out.strip() == "Found 4 files belonging to 2 classes."
    assert ds.class_names == ["B", "a"]
    rel = [os.path.relpath(p, root) for p in ds.file_paths]
    assert rel == ["B/x.bmp", "a/m.Jpg", "a/z.png", os.path.join("a", "sub", "b.PNG")]
    assert ds.labels.tolist() == [0, 1, 1, 1]
    images, labels = next(iter(ds))
    assert labels.dtype == np.int32 and labels.tolist() == [0, 1, 1, 1]
    assert ids_of(images).tolist() == [4, 3, 1, 2]


def test_class_names_choose_and_order_the_classes(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 2), ("dogs", 3), ("owls", 1)))
    ds = image_dataset_from_directory(root, class_names=["dogs", "cats"], image_size=(5, 6),
                                      verbose=False)
    assert ds.class_names == ["dogs", "cats"] and ds.labels.tolist() == [0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="'bats'.*not sub-folders"):
        image_dataset_from_directory(root, class_names=["bats", "cats"], verbose=False)


def test_explicit_labels_and_no_labels(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 2), ("dogs", 2)))
    ds = image_dataset_from_directory(root, labels=[1, 0, 0, 1], label_mode="int",
                                      image_size=(5, 6), shuffle=False, verbose=False)
    assert ds.labels.tolist() == [1, 0, 0, 1] and ds.class_names == ["0", "1"]
    with pytest.raises(ValueError, match="3 entries but .* 4 image files"):
        image_dataset_from_directory(root, labels=[1, 0, 0], verbose=False)
    unlabeled = image_dataset_from_directory(root, labels=None, image_size=(5, 6),
                                             shuffle=False, verbose=False)
    batch = next(iter(unlabeled))
    assert isinstance(batch, np.ndarray) and batch.shape == (4, 5, 6, 3)
    assert unlabeled.labels is None


# --- batches ----------------------------------------------------------------------------

def test_batches_shapes_dtypes_and_last_partial_batch(tmp_path):
    root = make_tree(str(tmp_path))  # 12 files
    ds = image_dataset_from_directory(root, batch_size=5, image_size=(4, 3), shuffle=False,
                                      verbose=False, interpolation="nearest")
    assert len(ds) == 3 and ds.num_examples == 12 and ds.image_size == (4, 3)
    batches = list(ds)
    assert [len(x) for x, _ in batches] == [5, 5, 2]
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (5, 4, 3, 3) and y.dtype == np.float32 and y.shape == (5, 1)
    assert 0.0 <= x.min() and x.max() <= 255.0
    gray = image_dataset_from_directory(root, color_mode="grayscale", image_size=(4, 3),
                                        verbose=False)
    assert next(iter(gray))[0].shape[-1] == 1 and gray.color_mode == "grayscale"
    cat = image_dataset_from_directory(root, label_mode="categorical", image_size=(4, 3),
                                       shuffle=False, verbose=False)
    y = np.concatenate([y for _, y in cat])
    assert y.shape == (12, 2) and np.array_equal(y.argmax(1), cat.labels)


def test_shuffle_reshuffles_every_epoch_repeatably_and_keeps_labels(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 9), ("dogs", 11)))

    def epochs(seed, n=3):
        ds = image_dataset_from_directory(root, batch_size=6, image_size=(5, 6), seed=seed,
                                          verbose=False, interpolation="nearest")
        out = []
        for _ in range(n):
            ids, labels = [], []
            for x, y in ds:
                ids += ids_of(x).tolist()
                labels += y[:, 0].astype(int).tolist()
            out.append((ids, labels))
        return out

    first = epochs(7)
    assert first == epochs(7)                       # repeatable for a seed
    assert first[0][0] != epochs(8)[0][0]           # another seed, another order
    orders = [ids for ids, _ in first]
    assert orders[0] != orders[1] != orders[2]      # a new order every epoch
    for ids, labels in first:
        assert sorted(ids) == sorted(orders[0])     # every file once per epoch
        assert labels == [i // 100 for i in ids]    # the label travels with its image


# --- validation split -------------------------------------------------------------------

def test_validation_split_is_disjoint_complete_and_consistent(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 10), ("dogs", 10)))
    common = dict(image_size=(5, 6), seed=3, validation_split=0.25, verbose=False)
    train = image_dataset_from_directory(root, subset="training", **common)
    val = image_dataset_from_directory(root, subset="validation", **common)
    both = image_dataset_from_directory(root, subset="both", **common)
    assert val.num_examples == 5 and train.num_examples == 15   # int(0.25 * 20)
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == 20
    assert both[0].file_paths == train.file_paths and both[1].file_paths == val.file_paths
    for ds in (train, val):
        expected = [1 if os.sep + "dogs" + os.sep in p else 0 for p in ds.file_paths]
        assert ds.labels.tolist() == expected


def test_validation_split_argument_errors(tmp_path):
    root = make_tree(str(tmp_path))
    with pytest.raises(ValueError, match="needs a seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training", verbose=False)
    with pytest.raises(ValueError, match="give both or neither"):
        image_dataset_from_directory(root, validation_split=0.2, seed=1, verbose=False)
    with pytest.raises(ValueError, match="give both or neither"):
        image_dataset_from_directory(root, subset="training", seed=1, verbose=False)
    with pytest.raises(ValueError, match="between 0 and 1"):
        image_dataset_from_directory(root, validation_split=1.5, subset="training", seed=1,
                                     verbose=False)
    with pytest.raises(ValueError, match="subset must be"):
        image_dataset_from_directory(root, validation_split=0.2, subset="test", seed=1,
                                     verbose=False)
    # Without shuffling Keras takes the last files of the sorted list (no seed needed).
    val = image_dataset_from_directory(root, validation_split=0.25, subset="validation",
                                       shuffle=False, verbose=False)
    assert [os.path.basename(p) for p in val.file_paths] == ["img04.png", "img05.png", "img06.png"]


# --- bad input --------------------------------------------------------------------------

def test_missing_folder_no_classes_one_class_empty_class(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        image_dataset_from_directory(str(tmp_path / "nowhere"))
    flat = tmp_path / "flat"
    write_png(str(flat / "a.png"), 1)
    with pytest.raises(ValueError, match="no class sub-folders"):
        image_dataset_from_directory(str(flat))
    one = tmp_path / "one"
    write_png(str(one / "NORMAL" / "a.png"), 1)
    with pytest.raises(ValueError, match='binary.*exactly 2 classes; got 1'):
        image_dataset_from_directory(str(one))
    assert image_dataset_from_directory(str(one), label_mode="int", verbose=False).num_examples == 1
    empty = tmp_path / "emptyclass"
    write_png(str(empty / "NORMAL" / "a.png"), 1)
    (empty / "PNEUMONIA").mkdir()
    (empty / "PNEUMONIA" / "readme.txt").write_text("images go here")
    with pytest.raises(ValueError, match="PNEUMONIA.*contains no image files"):
        image_dataset_from_directory(str(empty))
    with pytest.raises(ValueError, match="label_mode"):
        image_dataset_from_directory(str(one), label_mode="sparse")


def make_bad_tree(root):
    """12 good files plus one empty, one garbage, one truncated file, at known places."""
    make_tree(root)
    open(os.path.join(root, "cats", "img00b_empty.png"), "wb").close()
    with open(os.path.join(root, "dogs", "img00b_garbage.jpg"), "wb") as f:
        f.write(b"not a jpeg" * 20)
    good = os.path.join(root, "dogs", "img03.png")
    data = open(good, "rb").read()
    with open(os.path.join(root, "dogs", "img03b_truncated.png"), "wb") as f:
        f.write(data[: len(data) // 2])
    return root


def test_bad_files_are_skipped_with_a_warning_and_labels_never_shift(tmp_path):
    root = make_bad_tree(str(tmp_path))
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 1 unreadable.*img00b_empty\.png"):
        ds = image_dataset_from_directory(root, image_size=(5, 6), shuffle=False, verbose=False,
                                          interpolation="nearest")
    assert ds.num_examples == 14  # the empty file is gone, the other two are found at decode
    # Decoding per batch meets the garbage file: a clear error naming it.
    with pytest.raises(UnreadableImageError, match="img00b_garbage.jpg"):
        list(ds)
    with pytest.warns(RuntimeWarning) as record:
        cached = ds.cache(verbose=False)
    message = str(record[0].message)
    assert "Skipped 2 unreadable" in message
    assert "img00b_garbage.jpg" in message and "img03b_truncated.png" in message
    assert cached.num_examples == 12 and len(cached.labels) == 12
    assert not any("garbage" in p or "truncated" in p or "empty" in p for p in cached.file_paths)
    x, y = next(iter(cached.with_options(batch_size=12)))
    assert ids_of(x).tolist() == [10, 11, 12, 13, 14, 110, 111, 112, 113, 114, 115, 116]
    assert (y[:, 0].astype(int) == ids_of(x) // 100).all()


def test_decompression_bomb_is_skipped_by_cache(tmp_path, monkeypatch):
    root = make_tree(str(tmp_path), (("cats", 2), ("dogs", 2)))
    Image.new("L", (60, 60), 5).save(os.path.join(root, "dogs", "huge.png"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 60x60 > 2x the limit
    ds = image_dataset_from_directory(root, image_size=(5, 6), verbose=False)
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 1 unreadable.*huge\.png.*decompression"):
        cached = ds.cache(verbose=False)
    assert cached.num_examples == 4 and cached.labels.tolist() == [0, 0, 1, 1]


# --- the real chest X-rays --------------------------------------------------------------

def data_root():
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("MINICNN_DATA is not set (it points to shared/data/chest_xray)")
    return root


def test_real_train_folder_counts():
    ds = image_dataset_from_directory(os.path.join(data_root(), "train"), image_size=(224, 224),
                                      seed=0, verbose=False)
    assert ds.num_examples == 5216 and len(ds.file_paths) == 5216
    assert ds.class_names == ["NORMAL", "PNEUMONIA"]
    assert int((ds.labels == 0).sum()) == 1341 and int((ds.labels == 1).sum()) == 3875
    assert len(ds) == 163  # ceil(5216 / 32)
    for path, label in zip(ds.file_paths[::97], ds.labels[::97]):
        assert os.path.basename(os.path.dirname(path)) == ds.class_names[label]


def test_real_shuffle_is_repeatable_and_keeps_images_with_labels():
    root = os.path.join(data_root(), "train")
    ds = image_dataset_from_directory(root, image_size=(224, 224), color_mode="grayscale",
                                      seed=42, verbose=False)
    again = image_dataset_from_directory(root, image_size=(224, 224), color_mode="grayscale",
                                         seed=42, verbose=False)
    x, y = next(iter(ds))
    x2, y2 = next(iter(again))
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    order = ds.epoch_order(0)[:32]
    for i, position in enumerate(order[:8]):
        path = ds.file_paths[position]
        assert np.array_equal(x[i], decode_image(path, (224, 224), "grayscale"))
        assert y[i, 0] == (os.path.basename(os.path.dirname(path)) == "PNEUMONIA")
    second = next(iter(ds))[1]  # epoch 1 starts with another order
    assert not np.array_equal(ds.epoch_order(1)[:32], order) and second.shape == (32, 1)


def test_real_full_size_originals_load_at_224_in_grayscale_and_rgb():
    root = os.path.join(data_root(), "..", "chest_xray_originals")
    if not os.path.isdir(root):
        pytest.skip("no chest_xray_originals next to MINICNN_DATA")
    total = 0
    for split in ("train", "val", "test"):
        # All 201 in grayscale; rgb on val and test only (41 images), to keep the test short.
        modes = ("grayscale",) if split == "train" else ("grayscale", "rgb")
        loaded = {}
        for color_mode in modes:
            ds = image_dataset_from_directory(os.path.join(root, split), image_size=(224, 224),
                                              color_mode=color_mode, shuffle=False,
                                              verbose=False).cache(verbose=False)
            assert ds.class_names == ["NORMAL", "PNEUMONIA"]
            x, y = next(iter(ds.with_options(batch_size=ds.num_examples)))
            assert x.dtype == np.float32 and x.shape[1:] == (224, 224, 1 if color_mode == "grayscale" else 3)
            assert np.array_equal(y[:, 0], ds.labels)
            assert 0 <= x.min() and x.max() <= 255 and x.std() > 20  # real content, not blank
            loaded[color_mode] = x
        total += len(x)
        if "rgb" in loaded:  # X-rays are grey: rgb channels agree and match the grayscale decode
            rgb, grey = loaded["rgb"], loaded["grayscale"]
            assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() < 1.0
            assert np.abs(rgb.mean(axis=-1) - grey[..., 0]).mean() < 1.0
    assert total == 201


# --- hostile folders (issue 19): links that go nowhere, classes with nothing readable -----

def test_symlink_loop_in_a_class_folder_is_skipped_and_named(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 2), ("dogs", 2)))
    loop = os.path.join(root, "dogs", "loop.png")
    os.symlink(loop, loop)  # a link to itself: stat() fails with ELOOP
    os.symlink(os.path.join(root, "cats", "b.png"), os.path.join(root, "cats", "a.png"))
    os.symlink(os.path.join(root, "cats", "a.png"), os.path.join(root, "cats", "b.png"))
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 3 unreadable.*a\.png: a symbolic link loop"
                                             r".*b\.png: a symbolic link loop.*loop\.png"):
        ds = image_dataset_from_directory(root, image_size=(5, 6), shuffle=False, verbose=False,
                                          interpolation="nearest")
    assert ds.num_examples == 4 and ds.labels.tolist() == [0, 0, 1, 1]
    assert sorted(os.path.basename(p) for p in ds.file_paths) == ["img00.png", "img00.png",
                                                                  "img01.png", "img01.png"]
    x, y = next(iter(ds))
    assert ids_of(x).tolist() == [10, 11, 110, 111]


def test_dangling_link_in_a_class_folder_is_skipped_and_named(tmp_path):
    root = make_tree(str(tmp_path), (("cats", 2), ("dogs", 2)))
    target = os.path.join(root, "gone.png")
    os.symlink(target, os.path.join(root, "cats", "img00a.png"))
    with pytest.warns(RuntimeWarning, match=r"(?s)Skipped 1 unreadable.*img00a\.png: a dangling "
                                             r"symbolic link.*gone\.png"):
        ds = image_dataset_from_directory(root, image_size=(5, 6), shuffle=False, verbose=False)
    assert ds.num_examples == 4 and ds.labels.tolist() == [0, 0, 1, 1]
    # A link to a file that exists is an ordinary image.
    os.remove(os.path.join(root, "cats", "img00a.png"))
    os.symlink(os.path.join(root, "dogs", "img00.png"), os.path.join(root, "cats", "img00a.png"))
    assert image_dataset_from_directory(root, image_size=(5, 6), verbose=False).num_examples == 5


def test_class_with_only_broken_links_and_empty_files_is_an_error_naming_them(tmp_path):
    root = make_tree(str(tmp_path), (("NORMAL", 3),))
    sick = os.path.join(root, "PNEUMONIA")
    os.makedirs(sick)
    open(os.path.join(sick, "p1.jpeg"), "wb").close()
    os.symlink(os.path.join(root, "nowhere.jpeg"), os.path.join(sick, "p2.jpeg"))
    with pytest.raises(ValueError, match=r"(?s)class 'PNEUMONIA'.*no readable image.*"
                                         r"p1\.jpeg: the file is empty.*p2\.jpeg: a dangling"):
        image_dataset_from_directory(root, image_size=(5, 6), verbose=False)


def test_class_whose_files_all_fail_to_decode_is_an_error_at_cache(tmp_path):
    root = make_tree(str(tmp_path), (("NORMAL", 3),))
    sick = os.path.join(root, "PNEUMONIA")
    os.makedirs(sick)
    for name in ("p1.jpeg", "p2.png"):
        with open(os.path.join(sick, name), "wb") as f:
            f.write(b"not an image at all" * 10)
    ds = image_dataset_from_directory(root, image_size=(5, 6), verbose=False)
    with pytest.raises(ValueError, match=r"(?s)class 'PNEUMONIA'.*no readable image.*p1\.jpeg.*"
                                         r"p2\.png"):
        ds.cache(verbose=False)


def test_uncached_batch_names_every_unreadable_file(tmp_path):
    root = make_bad_tree(str(tmp_path))
    with pytest.warns(RuntimeWarning):
        ds = image_dataset_from_directory(root, image_size=(5, 6), shuffle=False, verbose=False,
                                          batch_size=64)
    with pytest.raises(UnreadableImageError) as info:
        list(ds)
    message = str(info.value)
    assert "img00b_garbage.jpg" in message and "img03b_truncated.png" in message
    assert "2 unreadable image files" in message


# --- Keras's own expectations (keras/src/utils/image_dataset_utils_test.py), issue 18 ------

def keras_tree(root, num_classes=2, count=16, nested_dirs=False):
    """Keras's ``_prepare_directory``: images dealt round-robin over the class folders
    (and their sub-folders when nested). Image i is grey level i, so it can be traced."""
    folders = []
    for c in range(num_classes):
        base = f"class_{c}"
        folders += [base] + ([os.path.join(base, "subfolder_1"), os.path.join(base, "subfolder_2"),
                              os.path.join(base, "subfolder_1", "sub-subfolder")]
                             if nested_dirs else [])
    for folder in folders:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for i in range(count):
        write_png(os.path.join(root, folders[i % len(folders)], f"image_{i}.png"), i, size=(24, 24))
    return root


def one_pass(ds):
    return np.concatenate([b if isinstance(b, np.ndarray) else b[0] for b in ds])[:, 0, 0, 0]


def test_keras_shuffle_with_split_validation_is_never_reshuffled(tmp_path):
    root = keras_tree(str(tmp_path), count=25, nested_dirs=True)
    common = dict(batch_size=8, image_size=(18, 18), label_mode=None, validation_split=0.2,
                  subset="both", seed=1337, verbose=False, interpolation="nearest")
    unshuffled_train, _ = image_dataset_from_directory(root, shuffle=False, **common)
    train, val = image_dataset_from_directory(root, shuffle=True, **common)
    train_1, val_1 = one_pass(train), one_pass(val)
    train_2, val_2 = one_pass(train), one_pass(val)
    assert not np.array_equal(one_pass(unshuffled_train), train_1)
    assert not np.array_equal(train_1, train_2)           # training: a new order each pass
    assert np.array_equal(val_1, val_2)                   # validation: always the same
    train_alt, val_alt = image_dataset_from_directory(root, shuffle=True, **common)
    assert np.array_equal(one_pass(train_alt), train_1) and np.array_equal(one_pass(val_alt), val_1)
    # minicnn's point: a pass over the validation set lines up with its labels and paths.
    labeled = dict(common, label_mode="int")
    for val in (image_dataset_from_directory(root, **labeled)[1],
                image_dataset_from_directory(root, **dict(labeled, subset="validation"))):
        for _ in range(2):
            ys = np.concatenate([y for _, y in val])
            assert ys.tolist() == val.labels.tolist()
            assert one_pass(val).tolist() == [int(os.path.basename(p)[6:-4]) for p in val.file_paths]


def test_keras_no_labels_walks_the_tree_and_has_no_class_names(tmp_path):
    root = keras_tree(str(tmp_path), count=7)
    for i in range(3):  # extra images in the parent folder
        write_png(os.path.join(root, f"image_{100 + i}.png"), 100 + i, size=(24, 24))
    for kwargs in ({"labels": None}, {"label_mode": None}):  # Keras: both mean "no labels"
        ds = image_dataset_from_directory(root, batch_size=5, image_size=(18, 18),
                                          verbose=False, **kwargs)
        assert ds.class_names is None and ds.labels is None
        batches = list(ds)
        assert isinstance(batches[0], np.ndarray) and batches[0].shape == (5, 18, 18, 3)
        assert batches[0].dtype == np.float32
        assert len(batches) == 2 and sum(len(b) for b in batches) == 10
    with pytest.raises(ValueError, match="class_names=.*needs labels"):
        image_dataset_from_directory(root, label_mode=None, class_names=["class_0"], verbose=False)


@pytest.mark.parametrize("option", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
def test_keras_crop_and_pad_to_aspect_ratio_shapes(tmp_path, option):
    root = keras_tree(str(tmp_path), count=5)
    ds = image_dataset_from_directory(root, batch_size=5, image_size=(18, 18), verbose=False,
                                      label_mode="int", **{option: True})
    x, y = next(iter(ds))
    assert x.shape == (5, 18, 18, 3) and y.shape == (5,)
    with pytest.raises(ValueError, match="crop_to_aspect_ratio and pad_to_aspect_ratio"):
        image_dataset_from_directory(root, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True,
                                     verbose=False)


def test_pad_to_aspect_ratio_of_a_wide_image_in_the_dataset(tmp_path):
    # 12 wide x 6 high, value 200, into 8x8: fitted to 4x8, rows 2..5, zeros elsewhere.
    write_png(str(tmp_path / "a" / "wide.png"), 200, size=(12, 6))
    write_png(str(tmp_path / "b" / "tall.png"), 100, size=(6, 12))
    ds = image_dataset_from_directory(str(tmp_path), image_size=(8, 8), shuffle=False,
                                      pad_to_aspect_ratio=True, verbose=False)
    x, _ = next(iter(ds))
    wide, tall = x[0, :, :, 0], x[1, :, :, 0]
    assert np.all(wide[2:6] == 200) and np.all(wide[:2] == 0) and np.all(wide[6:] == 0)
    assert np.all(tall[:, 2:6] == 100) and np.all(tall[:, :2] == 0) and np.all(tall[:, 6:] == 0)
    assert np.array_equal(next(iter(ds.cache(verbose=False)))[0], x)  # cache() decodes alike
    # and the setting is part of what a cache is keyed on
    assert ds._source.settings()["aspect_ratio"] == "pad"
    plain = image_dataset_from_directory(str(tmp_path), image_size=(8, 8), verbose=False)
    assert "aspect_ratio" not in plain._source.settings()


def test_keras_image_size_int_and_interpolation_names_in_any_case(tmp_path):
    root = keras_tree(str(tmp_path), count=4)
    ds = image_dataset_from_directory(root, image_size=9, verbose=False, label_mode="int")
    assert ds.image_size == (9, 9) and next(iter(ds))[0].shape[1:] == (9, 9, 3)
    for bad in (9.5, (9.0, 9), True, (9,), (0, 9)):
        with pytest.raises(ValueError, match="image_size"):
            image_dataset_from_directory(root, image_size=bad, verbose=False)
    upper = image_dataset_from_directory(root, image_size=(7, 5), interpolation="BILINEAR",
                                         shuffle=False, verbose=False, label_mode="int")
    lower = image_dataset_from_directory(root, image_size=(7, 5), interpolation="bilinear",
                                         shuffle=False, verbose=False, label_mode="int")
    assert np.array_equal(next(iter(upper))[0], next(iter(lower))[0])
    assert upper._source.settings() == lower._source.settings()  # one cache for both spellings
    for name in ("Nearest", "bicubic", "AREA", "lanczos3", "lanczos5"):
        image_dataset_from_directory(root, image_size=(7, 5), interpolation=name, verbose=False,
                                     label_mode="int")
    for name, hint in (("gaussian", "bilinear"), ("mitchellcubic", "bicubic")):
        with pytest.raises(ValueError, match=f"(?s){name}.*Pillow does not have.*{hint}.*Supported"):
            image_dataset_from_directory(root, interpolation=name, verbose=False)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        image_dataset_from_directory(root, interpolation="cubic-ish", verbose=False)


def test_keras_validation_split_zero_means_no_split(tmp_path):
    root = keras_tree(str(tmp_path), count=10)
    ds = image_dataset_from_directory(root, validation_split=0.0, verbose=False, label_mode="int")
    assert ds.num_examples == 10
    with pytest.raises(ValueError, match="give both or neither"):  # Keras: must be set
        image_dataset_from_directory(root, validation_split=0.0, subset="training", verbose=False)


@pytest.mark.parametrize("seed", [1337, 0, 4])
def test_keras_seed_gives_keras_validation_files(tmp_path, seed):
    root = keras_tree(str(tmp_path), num_classes=3, count=23, nested_dirs=True)
    val = image_dataset_from_directory(root, validation_split=0.3, subset="validation",
                                       seed=seed, verbose=False, label_mode="int")
    # Keras's index_directory: the sorted list, shuffled by RandomState(seed); the last
    # int(split * n) files validate.
    keras_paths = []
    for c in range(3):
        for folder, _, files in sorted(os.walk(os.path.join(root, f"class_{c}")), key=lambda e: e[0]):
            keras_paths += [os.path.join(folder, f) for f in sorted(files)]
    np.random.RandomState(seed).shuffle(keras_paths)
    assert sorted(val.file_paths) == sorted(keras_paths[len(keras_paths) - int(0.3 * 23):])


def test_files_under_hidden_sub_folders_are_not_counted_twice(tmp_path):
    root = keras_tree(str(tmp_path), count=4)
    # Jupyter keeps copies of images opened in a notebook beside them.
    write_png(os.path.join(root, "class_0", ".ipynb_checkpoints", "image_0-checkpoint.png"), 0)
    ds = image_dataset_from_directory(root, verbose=False, label_mode="int")
    assert ds.num_examples == 4 and not any("checkpoint" in p for p in ds.file_paths)


def test_keras_argument_errors(tmp_path):
    root = keras_tree(str(tmp_path), num_classes=3, count=5)
    cases = [
        (dict(labels="other"), "labels must be"),
        (dict(label_mode="other"), "label_mode must be"),
        (dict(color_mode="other"), "color_mode must be"),
        (dict(labels=[0, 0, 1, 1, 1], class_names=["class_0", "class_1", "class_2"]),
         "class_names can only be given"),
        (dict(labels=[0, 0, 1, 1]), "4 entries but .* 5 image files"),
        (dict(class_names=["class_0", "wrong_class"]), "not sub-folders"),
        (dict(label_mode="binary"), "exactly 2 classes"),
        (dict(validation_split=2), "between 0 and 1"),
        (dict(validation_split=0.2, subset="other"), "subset must be"),
        (dict(validation_split=0.2, subset="training"), "needs a seed"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            image_dataset_from_directory(root, verbose=False, **kwargs)
    # Keras's "no images" case: class folders without a single image.
    empty = keras_tree(str(tmp_path / "empty"), count=0)
    with pytest.raises(ValueError, match="contains no image files"):
        image_dataset_from_directory(empty, verbose=False)
