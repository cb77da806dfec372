"""Augmentation layers: Keras's meanings, one draw per image, identity at inference, seeds, dtypes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data.augment import (
    Augmenter,
    Compose,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    PerImageStandardization,
    RandomZoom,
    Rescaling,
    _contrast_numba,
    augmentation_preview,
    contrast_reference,
    rotation_matrices,
    zoom_matrices,
)
from minicnn.kernels.warp import affine_warp


def batch(n=4, h=12, w=12, c=3, seed=0, dtype=np.float32):
    return (np.random.default_rng(seed).random((n, h, w, c)) * 255).astype(dtype)


def ramp(n, h, w, c=1, dtype=np.float64):
    """f(r, c) = 3 r + 2 c + 1: bilinear interpolation reproduces it exactly."""
    r, col = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    img = (3.0 * r + 2.0 * col + 1.0)[None, :, :, None]
    return np.broadcast_to(img, (n, h, w, c)).astype(dtype)


# --- rotation -------------------------------------------------------------------------
def test_rotation_angles_in_range_and_spread():
    layer = RandomRotation(0.1, seed=1)
    layer(batch(n=400, h=4, w=4, c=1))
    angles = layer.last_params["angle"]
    assert angles.shape == (400,)
    assert angles.min() >= -36.0 and angles.max() <= 36.0
    assert angles.min() < -30 and angles.max() > 30           # the whole range is used
    assert abs(angles.mean()) < 4 and abs(angles.std() - 36 / np.sqrt(3)) < 3

    pair = RandomRotation((0.05, 0.1), seed=2)
    pair(batch(n=200, h=4, w=4, c=1))
    assert pair.last_params["angle"].min() >= 18.0 and pair.last_params["angle"].max() <= 36.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plus_90_degrees_is_np_rot90_counter_clockwise(dtype):
    x = batch(n=3, h=9, w=9, c=2, dtype=dtype)
    out = RandomRotation((0.25, 0.25), seed=0)(x)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(1, 2)), atol=1e-3)
    out = RandomRotation((-0.25, -0.25), seed=0)(x)
    np.testing.assert_allclose(out, np.rot90(x, k=-1, axes=(1, 2)), atol=1e-3)
    # 180 degrees works on non-square images too: both axes reversed.
    y = batch(n=2, h=5, w=8, c=1, dtype=dtype)
    np.testing.assert_allclose(RandomRotation((0.5, 0.5))(y), y[:, ::-1, ::-1], atol=1e-3)


def test_rotation_matrix_is_exact_for_a_linear_image():
    """Interior pixels of a rotated ramp equal the ramp at the rotated point (bilinear is exact)."""
    x = ramp(1, 21, 21)
    layer = RandomRotation((0.03, 0.03))                 # 10.8 degrees
    out = layer(x)
    t = np.radians(10.8)
    r, c = np.meshgrid(np.arange(21.0), np.arange(21.0), indexing="ij")
    src_r = 10 + np.cos(t) * (r - 10) + np.sin(t) * (c - 10)
    src_c = 10 - np.sin(t) * (r - 10) + np.cos(t) * (c - 10)
    inside = (src_r >= 0) & (src_r <= 20) & (src_c >= 0) & (src_c <= 20)
    expected = 3 * src_r + 2 * src_c + 1
    np.testing.assert_allclose(out[0, ..., 0][inside], expected[inside], atol=1e-9)
    assert inside.mean() > 0.7


# --- zoom -----------------------------------------------------------------------------
def test_zoom_in_and_out_semantics():
    """zh = 1 + u: u < 0 magnifies (zoom IN), u > 0 shrinks the picture (zoom OUT)."""
    x = ramp(1, 21, 21)
    zoom_in = RandomZoom((-0.5, -0.5))(x)[0, ..., 0]         # z = 0.5: reads the centre half
    r, c = np.meshgrid(np.arange(21.0), np.arange(21.0), indexing="ij")
    np.testing.assert_allclose(zoom_in, 3 * (10 + 0.5 * (r - 10)) + 2 * (10 + 0.5 * (c - 10)) + 1)
    # Zooming in flattens the ramp (half the slope); zooming out steepens it.
    assert np.ptp(zoom_in) == pytest.approx(0.5 * np.ptp(x))

    square = np.zeros((1, 21, 21, 1))
    square[0, 6:15, 6:15] = 1.0                              # 9x9 bright square
    out = RandomZoom((0.5, 0.5), fill_mode="constant")(square)   # z = 1.5: zoom OUT
    assert (out > 0.5).sum() < 81 * 0.6                      # the square shrank to about 6x6
    inn = RandomZoom((-0.4, -0.4), fill_mode="constant")(square)  # z = 0.6: zoom IN
    assert (inn > 0.5).sum() > 81 * 2


def test_zoom_draws_and_aspect_ratio():
    layer = RandomZoom(0.2, seed=3)
    layer(batch(n=300, h=4, w=4, c=1))
    zh, zw = layer.last_params["height_zoom"], layer.last_params["width_zoom"]
    assert zh.min() >= 0.8 and zh.max() <= 1.2 and zh.min() < 0.82 and zh.max() > 1.18
    np.testing.assert_array_equal(zh, zw)                    # width_factor=None keeps the aspect
    both = RandomZoom(0.2, width_factor=(0.0, 0.1), seed=3)
    both(batch(n=300, h=4, w=4, c=1))
    zw = both.last_params["width_zoom"]
    assert zw.min() >= 1.0 and zw.max() <= 1.1
    assert not np.allclose(both.last_params["height_zoom"], zw)


# --- contrast -------------------------------------------------------------------------
def test_contrast_keeps_per_channel_means_away_from_clipping():
    rng = np.random.default_rng(0)
    x = (100 + 50 * rng.random((6, 10, 10, 3))).astype(np.float32)
    x[..., 1] += 20                                           # channels with different means
    layer = RandomContrast(0.5, seed=0)
    out = layer(x)
    c = layer.last_params["contrast"]
    assert c.shape == (6,) and c.min() >= 0.5 and c.max() <= 1.5
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) * c[:, None, None, None] + mean, rtol=1e-5)
    # The spread really changed, image by image, by the drawn factor.
    np.testing.assert_allclose(out.std(axis=(1, 2)) / x.std(axis=(1, 2)), np.repeat(c[:, None], 3, 1),
                               rtol=1e-3)


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**31))
def test_contrast_kernel_equals_reference(n, h, w, c, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, h, w, c)) * 300 - 20).astype(dtype)   # some values outside [0, 255]
    factors = rng.uniform(0.0, 2.0, size=n)
    got = _contrast_numba(x, factors, 0.0, 255.0, np.empty_like(x))
    ref = contrast_reference(x, factors, 0.0, 255.0)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(dtype).eps, atol=1e-9)


def test_contrast_clips_to_value_range():
    x = np.array([0.0, 100.0, 255.0], np.float32).reshape(1, 1, 3, 1)
    out = RandomContrast((0.0, 1.0), seed=0)(x)              # c in [1, 2]: extremes clip
    assert out.min() >= 0.0 and out.max() <= 255.0
    out01 = RandomContrast((0.0, 1.0), seed=0, value_range=(0, 1))(x / 255)
    assert out01.min() >= 0.0 and out01.max() <= 1.0


# --- flip and rescaling ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip(mode):
    x = batch(n=400, h=3, w=5, c=2)
    layer = RandomFlip(mode, seed=0)
    out = layer(x)
    hor, ver = layer.last_params["horizontal"], layer.last_params["vertical"]
    expected = np.where(hor[:, None, None, None], x[:, :, ::-1], x)
    expected = np.where(ver[:, None, None, None], expected[:, ::-1], expected)
    np.testing.assert_array_equal(out, expected)
    assert hor.any() == ("horizontal" in mode) and ver.any() == ("vertical" in mode)
    for flips in (hor, ver):
        if flips.any():
            assert 150 < flips.sum() < 250                   # probability one half


def test_rescaling_applies_at_inference_and_keeps_float32():
    x = batch()
    for training in (True, False):
        out = Rescaling(1 / 127.5, offset=-1.0)(x, training=training)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, x / 127.5 - 1, rtol=1e-6, atol=1e-6)


def test_per_image_standardization_gives_each_image_mean_0_std_1_in_both_modes():
    x = batch(dtype=np.float64)
    x[1] = x[1] * 0.2 + 40  # a dim, low-contrast image: it must come out like the others
    for training in (True, False):
        out = PerImageStandardization()(x, training=training)
        np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-12)
        np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, rtol=1e-12)
    # Any positive affine change of an image standardizes to the same result.
    np.testing.assert_allclose(PerImageStandardization()(x[:1] * 3.5 - 7)[0],
                               PerImageStandardization()(x[:1])[0], atol=1e-10)


def test_per_image_standardization_of_a_flat_image_is_zeros_and_keeps_dtype():
    x = np.full((2, 5, 5, 1), 200, np.float32)
    out = PerImageStandardization()(x)
    assert out.dtype == np.float32 and np.all(out == 0)
    one = PerImageStandardization()(np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    assert one.shape == (2, 2, 3) and one.dtype == np.float32  # one image in, one out


# --- shared contract ------------------------------------------------------------------
def all_layers(seed=0):
    return [RandomRotation(0.2, seed=seed), RandomZoom(0.2, seed=seed),
            RandomContrast(0.3, seed=seed), RandomFlip("horizontal_and_vertical", seed=seed),
            Augmenter([RandomRotation(0.1), RandomZoom(0.1), RandomContrast(0.1)], seed=seed)]


@pytest.mark.parametrize("index", range(5))
def test_identity_at_inference(index):
    x = batch()
    np.testing.assert_array_equal(all_layers()[index](x, training=False), x)


def test_identity_at_factor_zero():
    x = batch()
    for layer in (RandomRotation(0.0), RandomZoom(0.0), RandomContrast(0.0),
                  Augmenter([RandomRotation(0.0), RandomZoom(0.0)])):
        np.testing.assert_array_equal(layer(x), x)


@pytest.mark.parametrize("index", range(5))
def test_repeatable_for_a_seed_and_one_draw_per_image(index):
    x = np.repeat(batch(n=1), 6, axis=0)                     # six copies of one image
    a, b, other = all_layers(5)[index], all_layers(5)[index], all_layers(6)[index]
    out = a(x)
    np.testing.assert_array_equal(out, b(x))
    assert not np.array_equal(out, other(x))
    # One draw per image: the six identical inputs do not all come out the same.
    assert len({o.tobytes() for o in out}) > 1


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_and_shape_kept(index, dtype):
    x = batch(dtype=dtype)
    out = all_layers()[index](x)
    assert out.dtype == dtype and out.shape == x.shape
    one = all_layers()[index](x[0])                          # one (H, W, C) image
    assert one.shape == x.shape[1:]
    ints = all_layers()[index](x.astype(np.uint8))           # integers become float32
    assert ints.dtype == np.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="factor"):
        RandomRotation(-0.1)
    with pytest.raises(ValueError, match="lower > upper"):
        RandomRotation((0.2, 0.1))
    with pytest.raises(ValueError, match="factor"):
        RandomRotation("big")
    with pytest.raises(ValueError, match="fill_mode"):
        RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        RandomZoom(0.1, interpolation="cubic")
    with pytest.raises(ValueError, match="above -1"):
        RandomZoom((-1.0, 0.1))
    with pytest.raises(ValueError, match="width_factor"):
        RandomZoom(0.1, width_factor=(0.3, 0.1))
    with pytest.raises(ValueError, match="factor"):
        RandomContrast(1.5)
    with pytest.raises(ValueError, match="factor"):
        RandomContrast(-0.1)
    with pytest.raises(ValueError, match="value_range"):
        RandomContrast(0.1, value_range=(1, 0))
    with pytest.raises(ValueError, match="mode"):
        RandomFlip("diagonal")
    with pytest.raises(ValueError, match="scale"):
        Rescaling("1/255")
    with pytest.raises(ValueError, match="callable"):
        Augmenter([RandomRotation(0.1), 3])
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        RandomRotation(0.1)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="n must be"):
        augmentation_preview(np.zeros((4, 4)), RandomRotation(0.1), n=0)


# --- fusion ---------------------------------------------------------------------------
def test_fused_warp_composes_matrices_in_layer_order():
    x = batch(n=5, h=10, w=14, c=2, dtype=np.float64)
    fused = Augmenter([RandomRotation(0.2), RandomZoom(0.3, 0.2)], seed=4)
    out = fused(x)
    rot, zoom = fused.layers
    angle, zh, zw = rot.last_params["angle"], zoom.last_params["height_zoom"], zoom.last_params["width_zoom"]
    m = rotation_matrices(angle, 10, 14) @ zoom_matrices(zh, zw, 10, 14)
    np.testing.assert_allclose(out, affine_warp(x, m[:, :2]), atol=1e-9)


def test_fused_and_sequential_draw_the_same_and_agree_inside():
    """Same draws either way; on a linear image both are exact where no sample leaves the image."""
    x = ramp(6, 31, 31)
    layers = lambda: [RandomRotation(0.025), RandomZoom((-0.35, -0.25)), RandomFlip()]  # noqa: E731
    fused = Augmenter(layers(), seed=9)
    sequential = Augmenter(layers(), fuse=False, seed=9)
    a, b = fused(x), sequential(x)
    for pf, ps in zip(fused.last_params, sequential.last_params):
        for key in pf:
            np.testing.assert_array_equal(pf[key], ps[key])
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_fused_rotation_with_zero_zoom_equals_rotation_alone():
    x = batch(n=3)
    fused = Augmenter([RandomRotation(0.2), RandomZoom(0.0)], seed=1)
    alone = Augmenter([RandomRotation(0.2)], seed=1)
    np.testing.assert_allclose(fused(x), alone(x), atol=1e-3)


def test_layers_with_different_fill_modes_are_not_fused():
    aug = Augmenter([RandomRotation(0.1, fill_mode="constant"), RandomZoom(0.1),
                     RandomFlip(), RandomContrast(0.1), RandomRotation(0.1)])
    runs = [[type(layer).__name__ for layer in run] for run in aug._runs()]
    assert runs == [["RandomRotation"], ["RandomZoom", "RandomFlip"], ["RandomContrast"],
                    ["RandomRotation"]]
    assert Compose is Augmenter


# --- preview --------------------------------------------------------------------------
def test_augmentation_preview_is_repeatable_and_leaves_the_augmenter_alone():
    image = batch(n=1, h=16, w=16, c=1)[0]
    aug = Augmenter([RandomRotation(0.1), RandomZoom(0.1), RandomContrast(0.1)], seed=0)
    state = [layer.rng.bit_generator.state for layer in aug.layers]
    p = augmentation_preview(image, aug, n=6, seed=3)
    assert p.shape == (6, 16, 16, 1) and p.dtype == np.float32
    np.testing.assert_array_equal(p, augmentation_preview(image, aug, n=6, seed=3))
    assert not np.array_equal(p, augmentation_preview(image, aug, n=6, seed=4))
    assert len({im.tobytes() for im in p}) == 6
    assert [layer.rng.bit_generator.state for layer in aug.layers] == state
    assert augmentation_preview(image[..., 0], RandomRotation(0.1), n=2).shape == (2, 16, 16, 1)
