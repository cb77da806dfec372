"""RandomTranslation, RandomResizedCrop, RandomBrightness: the maps, the draws, the fused warp."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data.augment import Augmenter, RandomRotation
from minicnn.data.jitter import (
    RandomBrightness,
    RandomResizedCrop,
    RandomTranslation,
    crop_matrices,
    translation_matrices,
)
from minicnn.kernels.warp import affine_warp


def ramp(n, h, w, dtype=np.float64):
    """f(r, c) = 3 r + 2 c + 1: bilinear interpolation reproduces a linear image exactly."""
    r, col = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.broadcast_to((3.0 * r + 2.0 * col + 1.0)[None, :, :, None], (n, h, w, 1)).astype(dtype)


# --- translation --------------------------------------------------------------------------
def test_integer_translation_is_a_shift_with_the_fill():
    x = np.random.default_rng(0).random((1, 6, 7, 2))
    m = translation_matrices(np.array([2.0]), np.array([-1.0]))
    y = affine_warp(x, m[:, :2], "constant", "bilinear", 0.0)
    expected = np.zeros_like(x)
    expected[:, 2:, :6] = x[:, :4, 1:]          # down by 2, left by 1
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_translation_draws_fractions_of_the_size_with_keras_sign():
    layer = RandomTranslation((0.1, 0.2), (-0.3, -0.1), seed=0)
    layer(np.zeros((500, 20, 10, 1), np.float32))
    dy, dx = layer.last_params["dy"], layer.last_params["dx"]
    assert 2.0 <= dy.min() and dy.max() <= 4.0          # 0.1-0.2 of 20 rows, downwards
    assert -3.0 <= dx.min() and dx.max() <= -1.0        # 0.1-0.3 of 10 columns, to the left
    assert dy.std() > 0.4


@pytest.mark.parametrize("bad", [1.5, (-2.0, 0.0), (0.3, 0.1), "x"])
def test_translation_rejects_bad_factors(bad):
    with pytest.raises(ValueError, match="RandomTranslation"):
        RandomTranslation(bad, 0.1)


# --- resized crop -------------------------------------------------------------------------
def test_crop_of_the_whole_image_is_the_identity():
    x = np.random.default_rng(1).random((2, 9, 8, 1))
    m = crop_matrices(np.zeros(2), np.zeros(2), np.full(2, 9.0), np.full(2, 8.0), 9, 8)
    np.testing.assert_allclose(affine_warp(x, m[:, :2], "nearest", "bilinear", 0.0), x, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(1.0, 4.0), st.floats(1.0, 3.0), st.floats(2.0, 7.0), st.floats(2.0, 8.0))
def test_crop_samples_the_box_pixel_centres(top, left, h, w):
    """On a linear image the warp is exact: output (r, c) = f(top + (r+1/2) h/H - 1/2, ...).

    (Boxes at least one pixel inside the image, so no sample needs the fill.)
    """
    H, W = 12, 12
    m = crop_matrices(np.array([top]), np.array([left]), np.array([h]), np.array([w]), H, W)
    y = affine_warp(ramp(1, H, W), m[:, :2], "nearest", "bilinear", 0.0)[0, :, :, 0]
    rows = top + (np.arange(H) + 0.5) * h / H - 0.5
    cols = left + (np.arange(W) + 0.5) * w / W - 0.5
    expected = 3.0 * rows[:, None] + 2.0 * cols[None, :] + 1.0
    np.testing.assert_allclose(y, expected, atol=1e-9)


def test_resized_crop_boxes_fit_and_follow_scale_and_ratio():
    layer = RandomResizedCrop(scale=(0.5, 0.9), ratio=(0.8, 1.25), seed=3)
    layer(np.zeros((400, 30, 40, 1), np.float32))
    p = layer.last_params
    top, left, h, w = p["top"], p["left"], p["height"], p["width"]
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= 30 + 1e-9).all() and (left + w <= 40 + 1e-9).all()
    area = h * w / (30 * 40)
    assert area.min() >= 0.5 - 1e-9 and area.max() <= 0.9 + 1e-9
    ratio = w / h
    assert ratio.min() >= 0.8 - 1e-9 and ratio.max() <= 1.25 + 1e-9
    assert area.std() > 0.05 and ratio.std() > 0.05 and top.std() > 0.5


def test_resized_crop_falls_back_to_the_clamped_whole_image():
    # A square image can never hold a box of its whole area at ratio >= 2: torchvision's fallback.
    layer = RandomResizedCrop(scale=(1.0, 1.0), ratio=(2.0, 3.0), seed=0)
    h, w = layer.draw_boxes(5, 10, 10)[2:]
    np.testing.assert_allclose(w, 10.0)
    np.testing.assert_allclose(h, 5.0)          # ratio clamped to 2: width 10, height 5


def test_resized_crop_only_zooms_in_so_no_fill_shows():
    x = np.full((50, 16, 16, 1), 7.0, np.float32)
    y = RandomResizedCrop(scale=(0.3, 1.0), seed=0)(x)
    np.testing.assert_allclose(y, 7.0, rtol=1e-6)  # a fill of 0 would show at any uncovered border


@pytest.mark.parametrize("kwargs", [{"scale": (0.5, 1.5)}, {"scale": (0.0, 1.0)},
                                    {"ratio": (2.0, 1.0)}, {"scale": 0.5}])
def test_resized_crop_rejects_bad_ranges(kwargs):
    with pytest.raises(ValueError, match="RandomResizedCrop"):
        RandomResizedCrop(**kwargs)


def test_crop_and_translation_fuse_with_rotation_and_are_repeatable():
    x = np.random.default_rng(0).random((4, 16, 16, 1)).astype(np.float32)

    def pipeline():
        return Augmenter([RandomRotation(0.05, fill_mode="constant"),
                          RandomResizedCrop(scale=(0.6, 1.0)),
                          RandomTranslation(0.1, 0.1, fill_mode="constant")], seed=5)

    fused = pipeline()
    assert len(fused._runs()) == 1              # one warp for the three
    a, b = fused(x), pipeline()(x)
    np.testing.assert_array_equal(a, b)
    unfused = Augmenter(pipeline().layers, fuse=False, seed=5)(x)
    assert a.shape == unfused.shape and not np.allclose(a, x)
    assert np.array_equal(RandomResizedCrop(seed=1)(x, training=False), x)


# --- brightness ---------------------------------------------------------------------------
def test_brightness_adds_one_offset_per_image_and_clips():
    x = np.full((300, 4, 4, 2), 100.0, np.float32)
    layer = RandomBrightness(0.2, seed=0)
    y = layer(x)
    delta = layer.last_params["delta"]
    assert np.abs(delta).max() <= 0.2 * 255 + 1e-9 and delta.std() > 10
    np.testing.assert_allclose(y, np.clip(100.0 + delta, 0, 255)[:, None, None, None]
                               * np.ones_like(x), rtol=1e-6)
    assert y.dtype == np.float32
    bright = RandomBrightness((0.9, 1.0), seed=0)(np.full((3, 2, 2, 1), 200.0))
    np.testing.assert_array_equal(bright, 255.0)


@pytest.mark.parametrize("bad", [1.2, (-1.5, 0.0), (0.5, 0.1)])
def test_brightness_rejects_bad_factors(bad):
    with pytest.raises(ValueError, match="RandomBrightness"):
        RandomBrightness(bad)
