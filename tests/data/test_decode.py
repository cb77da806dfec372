"""Decoding: every Pillow mode, EXIF rotation, JPEG draft fidelity, bad files."""

import glob
import math
import os
import warnings
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from minicnn.data.decode import (UnreadableImageError, _request_draft, crop_window, decode_image,
                                 decode_many, pad_placement)


def pil_luma(r, g, b):
    # Pillow's RGB -> L: ITU-R 601 weights in 16-bit fixed point, rounded.
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


def save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return str(path)


# --- modes ------------------------------------------------------------------------------

def test_l_image_in_every_color_mode(tmp_path):
    path = save(tmp_path, "grey.png", Image.new("L", (8, 6), 100))
    assert decode_image(path, (4, 5), "grayscale").shape == (4, 5, 1)
    assert np.all(decode_image(path, (4, 5), "grayscale") == 100)
    rgb = decode_image(path, (4, 5), "rgb")
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8 and np.all(rgb == 100)
    rgba = decode_image(path, (4, 5), "rgba")
    assert np.all(rgba[..., :3] == 100) and np.all(rgba[..., 3] == 255)


def test_rgb_image_to_grayscale_uses_luma_weights(tmp_path):
    path = save(tmp_path, "rgb.png", Image.new("RGB", (8, 6), (10, 200, 30)))
    assert np.all(decode_image(path, (6, 8), "rgb") == [10, 200, 30])
    assert np.all(decode_image(path, (6, 8), "grayscale") == pil_luma(10, 200, 30))
    assert np.all(decode_image(path, (6, 8), "rgba") == [10, 200, 30, 255])


def test_rgba_drops_alpha_for_rgb_and_keeps_it_for_rgba(tmp_path):
    path = save(tmp_path, "rgba.png", Image.new("RGBA", (8, 6), (10, 200, 30, 128)))
    assert np.all(decode_image(path, (6, 8), "rgb") == [10, 200, 30])
    assert np.all(decode_image(path, (6, 8), "rgba") == [10, 200, 30, 128])


def palette_image(transparent):
    img = Image.new("P", (8, 6), 1)
    img.putpalette([0, 0, 0, 250, 5, 7] + [0] * (3 * 254))
    if transparent:
        img.info["transparency"] = 1
    return img


def test_palette_images_with_and_without_transparency(tmp_path):
    opaque = save(tmp_path, "p.png", palette_image(False))
    assert np.all(decode_image(opaque, (6, 8), "rgb") == [250, 5, 7])
    assert np.all(decode_image(opaque, (6, 8), "rgba") == [250, 5, 7, 255])
    clear = save(tmp_path, "pt.png", palette_image(True))
    assert Image.open(clear).info.get("transparency") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow warning about palette transparency
        assert np.all(decode_image(clear, (6, 8), "rgba")[..., 3] == 0)
        assert np.all(decode_image(clear, (6, 8), "rgb") == [250, 5, 7])
    gif = save(tmp_path, "p.gif", palette_image(False))
    assert np.all(decode_image(gif, (6, 8), "rgb") == [250, 5, 7])


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100, 32896, 65535]], dtype=np.uint16).repeat(3, axis=0)
    path = save(tmp_path, "deep.png", Image.fromarray(values))
    assert Image.open(path).mode == "I;16"
    # Pillow's own convert("L") would clip 32896 to 255; we map 0..65535 onto 0..255.
    out = decode_image(path, (3, 4), "grayscale", interpolation="nearest")[..., 0]
    assert out[0].tolist() == [0, 100, 128, 255]
    # 32-bit integer images (mode I, here via TIFF) follow the same 16-bit scale.
    path32 = save(tmp_path, "deep.tif", Image.fromarray(values.astype(np.int32)))
    assert Image.open(path32).mode == "I"
    out32 = decode_image(path32, (3, 4), "rgb", interpolation="nearest")
    assert out32[0, :, 0].tolist() == [0, 100, 128, 255] and np.all(out32[..., 1] == out32[..., 0])


def test_cmyk_la_and_bilevel(tmp_path):
    cmyk = save(tmp_path, "cmyk.jpg", Image.new("CMYK", (16, 16), (0, 255, 255, 0)), quality=95)
    assert Image.open(cmyk).mode == "CMYK"
    red = decode_image(cmyk, (8, 8), "rgb").astype(int)
    assert np.abs(red - [255, 0, 0]).max() <= 8

    la = save(tmp_path, "la.png", Image.new("LA", (8, 6), (100, 50)))
    assert np.all(decode_image(la, (6, 8), "grayscale") == 100)
    assert np.all(decode_image(la, (6, 8), "rgb") == 100)
    assert np.all(decode_image(la, (6, 8), "rgba") == [100, 100, 100, 50])

    bits = np.zeros((8, 8), dtype=bool)
    bits[:, 4:] = True
    bilevel = save(tmp_path, "bits.png", Image.fromarray(bits))
    assert Image.open(bilevel).mode == "1"
    out = decode_image(bilevel, (8, 8), "grayscale")[..., 0]
    assert np.all(out[:, :4] == 0) and np.all(out[:, 4:] == 255)


def test_grayscale_from_colour_jpeg_decodes_luma_like_convert_l(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    path = save(tmp_path, "colour.jpg", Image.fromarray(pixels), quality=95)
    luma_only = decode_image(path, (64, 48), "grayscale")[..., 0].astype(int)
    via_rgb = np.asarray(Image.open(path).convert("L")).astype(int)
    assert np.abs(luma_only - via_rgb).mean() < 0.2 and np.abs(luma_only - via_rgb).max() <= 12
    grey_as_rgb = np.repeat(pixels[..., :1], 3, axis=2)  # how the chest X-rays are stored
    path = save(tmp_path, "grey.jpg", Image.fromarray(grey_as_rgb), quality=95)
    assert np.array_equal(decode_image(path, (64, 48), "grayscale")[..., 0],
                          np.asarray(Image.open(path).convert("L")))


def test_bmp_roundtrip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    bmp = save(tmp_path, "x.bmp", Image.fromarray(pixels))
    assert np.array_equal(decode_image(bmp, (12, 10), "rgb"), pixels)


# --- geometry ---------------------------------------------------------------------------

def test_exif_rotation_is_applied_before_resizing(tmp_path):
    # A 40 wide x 20 high image: left half black, right half white.
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, 20:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = save(tmp_path, "phone.jpg", Image.fromarray(pixels), exif=exif, quality=95)
    upright = np.rot90(pixels, k=-1)  # clockwise: 20 wide x 40 high, black on top
    out = decode_image(path, (40, 20), "rgb")
    assert out.shape == (40, 20, 3)
    assert np.abs(out.astype(int) - upright).mean() < 3
    assert out[:15].mean() < 10 and out[25:].mean() > 245


def test_resize_to_height_width_and_interpolation(tmp_path):
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    path = save(tmp_path, "checker.png", Image.fromarray(checker))
    near = decode_image(path, (10, 7), "grayscale", interpolation="nearest")
    assert near.shape == (10, 7, 1) and set(np.unique(near)) <= {0, 255}
    smooth = decode_image(path, (10, 7), "grayscale", interpolation="bilinear")
    # Antialiased bilinear averages the checkerboard to mid-grey when shrinking.
    assert np.abs(smooth.astype(int) - 127.5).max() < 30
    with pytest.raises(ValueError, match="interpolation"):
        decode_image(path, (10, 7), interpolation="cubic-ish")
    with pytest.raises(ValueError, match="color_mode"):
        decode_image(path, (10, 7), color_mode="bgr")
    with pytest.raises(ValueError, match="image_size"):
        decode_image(path, (0, 7))


def synthetic_xray(width, height, seed=0):
    """A smooth image with edges and fine texture, like an X-ray (not JPEG-friendly noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = 120 + 80 * np.sin(6 * x) * np.cos(4 * y)
    base[(x - 0.3) ** 2 + (y - 0.4) ** 2 < 0.02] = 230  # a sharp-edged disc
    base[:, : width // 20] = 0  # a black border column
    texture = rng.normal(0, 6, (height // 8 + 1, width // 8 + 1)).repeat(8, 0).repeat(8, 1)
    return np.clip(base + texture[:height, :width], 0, 255).astype(np.uint8)


@pytest.mark.parametrize("color_mode", ["grayscale", "rgb"])
def test_jpeg_draft_is_used_for_big_images_and_stays_faithful(tmp_path, color_mode):
    grey = synthetic_xray(1803, 1605)  # sizes not divisible by 8: tests the draft box
    path = save(tmp_path, "big.jpg", Image.fromarray(grey).convert("RGB"), quality=90)
    with Image.open(path) as img:
        box = _request_draft(img, 224, 224, color_mode)
        assert box is not None
        assert img.size[0] >= 2 * 224 and img.size[1] >= 2 * 224 and img.size[0] <= (1803 + 1) // 2
    fast = decode_image(path, (224, 224), color_mode, draft=True).astype(float)
    full = decode_image(path, (224, 224), color_mode, draft=False).astype(float)
    assert np.abs(fast - full).mean() < 0.5
    assert np.percentile(np.abs(fast - full), 99) < 6


def test_no_draft_when_the_reduction_would_go_below_twice_the_target(tmp_path):
    path = save(tmp_path, "medium.jpg", Image.fromarray(synthetic_xray(800, 800)), quality=90)
    with Image.open(path) as img:
        assert _request_draft(img, 224, 224, "rgb") is None
        assert img.size == (800, 800)


def originals():
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("MINICNN_DATA is not set (it points to shared/data/chest_xray)")
    files = sorted(glob.glob(os.path.join(root, "..", "chest_xray_originals", "*", "*", "*.jpeg")))
    if not files:
        pytest.skip("no chest_xray_originals next to MINICNN_DATA")
    return files


def test_draft_is_faithful_on_real_full_size_xrays():
    files = originals()[::10]  # 21 of the 201 originals
    diffs = []
    for path in files:
        fast = decode_image(path, (224, 224), "grayscale", draft=True).astype(float)
        full = decode_image(path, (224, 224), "grayscale", draft=False).astype(float)
        diffs.append(np.abs(fast - full).mean())
    assert np.mean(diffs) < 0.3 and max(diffs) < 1.0


# --- bad files --------------------------------------------------------------------------

def test_unreadable_files_raise_a_clear_error(tmp_path):
    empty = tmp_path / "empty.jpeg"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableImageError, match="empty.jpeg.*empty"):
        decode_image(str(empty), (8, 8))
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not a JPEG at all" * 10)
    with pytest.raises(UnreadableImageError, match="garbage.jpg"):
        decode_image(str(garbage), (8, 8))
    good = save(tmp_path, "good.jpg", Image.fromarray(synthetic_xray(64, 64)))
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImageError, match="truncated.jpg"):
        decode_image(str(truncated), (8, 8))
    assert isinstance(UnreadableImageError("x"), ValueError)


@pytest.mark.parametrize("side", [40, 100])  # Pillow warns above the limit, raises above 2x
def test_decompression_bomb_is_unreadable(tmp_path, monkeypatch, side):
    path = save(tmp_path, "bomb.png", Image.new("L", (side, side)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(UnreadableImageError, match="bomb.png.*decompression"):
            decode_image(path, (8, 8))


# --- many at once -----------------------------------------------------------------------

def test_decode_many_matches_one_by_one_and_reports_failures(tmp_path):
    paths = []
    for i in range(9):
        paths.append(save(tmp_path, f"{i}.png", Image.fromarray(synthetic_xray(50 + i, 40, seed=i))))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    paths.insert(4, str(bad))
    out = np.full((10, 16, 12, 3), 7, dtype=np.uint8)
    failures = decode_many(paths, out, (16, 12), "rgb", errors="collect")
    assert [i for i, _ in failures] == [4] and "bad.png" in failures[0][1]
    assert np.all(out[4] == 0)
    for i, path in enumerate(paths):
        if i != 4:
            assert np.array_equal(out[i], decode_image(path, (16, 12), "rgb"))
    with pytest.raises(UnreadableImageError, match="bad.png"):
        decode_many(paths, out, (16, 12), "rgb")
    with pytest.raises(ValueError, match="uint8 of shape"):
        decode_many(paths, np.zeros((10, 16, 12, 1), np.uint8), (16, 12), "rgb")


# --- aspect ratio: Keras's crop window and tf.image.resize_with_pad's layout ---------------

def keras_crop_window(height, width, target_h, target_w):
    # keras/src/utils/image_utils.py smart_resize, as written there (float arithmetic).
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def tf_pad_placement(height, width, target_h, target_w):
    # tensorflow's _resize_image_with_pad_common, step by step, in exact fractions (tf's
    # float32 can floor 239.99999 for an exact 240).
    ratio = max(Fraction(width, target_w), Fraction(height, target_h))
    rh, rw = height / ratio, width / ratio
    return (math.floor(rh), math.floor(rw), max(0, math.floor((target_h - rh) / 2)),
            max(0, math.floor((target_w - rw) / 2)))


def test_crop_window_and_pad_placement_match_keras_and_tf():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 400, size=(3000, 4)).tolist() + [[1000, 700, 224, 224], [6, 12, 8, 8]]
    for h, w, th, tw in sizes:
        assert crop_window(h, w, th, tw) == keras_crop_window(h, w, th, tw)
        rh, rw, top, left = tf_pad_placement(h, w, th, tw)
        assert pad_placement(h, w, th, tw) == (max(1, rh), max(1, rw), top, left), (h, w, th, tw)


def test_crop_takes_the_centred_window(tmp_path):
    columns = np.tile(np.arange(12, dtype=np.uint8) * 20, (6, 1))  # 6 high, 12 wide
    path = save(tmp_path, "cols.png", Image.fromarray(columns))
    crop = decode_image(path, (3, 3), "grayscale", "nearest", crop_to_aspect_ratio=True)
    # the centred 6x6 window is columns 3..8; nearest picks every second one of them
    assert crop[:, :, 0].tolist() == [[80, 120, 160]] * 3
    squashed = decode_image(path, (3, 3), "grayscale", "nearest")
    assert squashed[0, 0, 0] < 80 and squashed[0, -1, 0] > 160  # the whole width, squashed


def test_pad_fills_every_channel_with_zero_alpha_included(tmp_path):
    path = save(tmp_path, "tall.png", Image.new("RGB", (4, 8), (10, 200, 30)))
    out = decode_image(path, (8, 8), "rgba", "nearest", pad_to_aspect_ratio=True)
    assert np.all(out[:, 2:6] == [10, 200, 30, 255])
    assert np.all(out[:, :2] == 0) and np.all(out[:, 6:] == 0)
    with pytest.raises(ValueError, match="cannot both be True"):
        decode_image(path, (8, 8), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)


@pytest.mark.parametrize("option", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
def test_draft_decoding_keeps_the_crop_and_pad_geometry(tmp_path, option):
    path = save(tmp_path, "big.jpg", Image.fromarray(synthetic_xray(1400, 900)), quality=95)
    fast = decode_image(path, (64, 64), "grayscale", draft=True, **{option: True}).astype(float)
    full = decode_image(path, (64, 64), "grayscale", draft=False, **{option: True}).astype(float)
    with Image.open(path) as img:
        assert _request_draft(img, 64, 64, "grayscale") is not None  # the draft path is taken
    assert np.abs(fast - full).mean() < 1.0


def test_decode_many_names_every_unreadable_file(tmp_path):
    good = save(tmp_path, "good.png", Image.new("L", (4, 4), 9))
    bad = []
    for name in ("bad1.png", "bad2.jpg", "bad3.gif"):
        (tmp_path / name).write_bytes(b"garbage" * 5)
        bad.append(str(tmp_path / name))
    with pytest.raises(UnreadableImageError, match=r"(?s)3 unreadable image files:.*bad1\.png"
                                                   r".*bad2\.jpg.*bad3\.gif"):
        decode_many([bad[0], good, bad[1], bad[2]], np.zeros((4, 4, 4, 1), np.uint8), (4, 4),
                    "grayscale", workers=2)
