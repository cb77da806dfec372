"""RandomSharpness and its Gaussian blur: the math, scipy's meaning, draws, seeds, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data.augment import Augmenter, RandomZoom
from minicnn.data.sharpness import RandomSharpness, adjust_sharpness, gaussian_blur, gaussian_kernel


def batch(n=4, h=12, w=12, c=3, seed=0, dtype=np.float32):
    return (np.random.default_rng(seed).random((n, h, w, c)) * 255).astype(dtype)


def detail(x):
    """Mean squared difference of neighbouring pixels: how much fine detail an image holds."""
    return float(np.mean(np.diff(x, axis=1) ** 2) + np.mean(np.diff(x, axis=2) ** 2))


# --- the blur -------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_gaussian_kernel_is_a_normalised_symmetric_gaussian(sigma):
    w = gaussian_kernel(sigma)
    radius = int(3.0 * sigma + 0.5)
    assert w.shape == (2 * radius + 1,)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w, w[::-1])
    k = np.arange(-radius, radius + 1)
    np.testing.assert_allclose(w[1:] / w[:-1], np.exp(-0.5 * ((k[1:] / sigma) ** 2 - (k[:-1] / sigma) ** 2)))


def test_blur_of_an_impulse_is_the_2d_gaussian():
    # Far from the borders, blurring one bright pixel draws the kernel itself: the outer
    # product of the 1-D weights (a 2-D Gaussian is separable).
    x = np.zeros((1, 21, 21, 1))
    x[0, 10, 10, 0] = 1.0
    w = gaussian_kernel(1.5)
    r = len(w) // 2
    expected = np.zeros((21, 21))
    expected[10 - r:10 + r + 1, 10 - r:10 + r + 1] = np.outer(w, w)
    np.testing.assert_allclose(gaussian_blur(x, 1.5)[0, :, :, 0], expected, atol=1e-15)


@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(1, 3),
       sigma=st.floats(0.3, 3.0), seed=st.integers(0, 2**31))
def test_blur_equals_scipy_gaussian_filter(n, h, w, c, sigma, seed):
    ndimage = pytest.importorskip("scipy.ndimage", reason="scipy is the reference (dev extra)")
    x = np.random.default_rng(seed).random((n, h, w, c)) * 255
    # scipy's "reflect" mirrors the border pixel too (d c b a | a b c d), as ours does; the
    # mirror repeats when the kernel is wider than the image, which np.pad also does.
    ref = ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="reflect", truncate=3.0)
    np.testing.assert_allclose(gaussian_blur(x, sigma), ref, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blur_keeps_constants_dtype_and_shape(dtype):
    x = np.full((2, 9, 7, 3), 42.0, dtype=dtype)
    out = gaussian_blur(x, 1.0)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, 42.0, rtol=1e-6)


# --- adjust_sharpness -----------------------------------------------------------------
def test_amount_zero_blurs_one_keeps_two_sharpens():
    x = batch(n=2, h=16, w=16, c=1, dtype=np.float64) * 0.2 + 100  # in [100, 151]: no clipping
    blurred = gaussian_blur(x, 1.0)
    np.testing.assert_allclose(adjust_sharpness(x, 0.0), blurred, atol=1e-12)
    np.testing.assert_allclose(adjust_sharpness(x, 1.0), x, atol=1e-12)
    np.testing.assert_allclose(adjust_sharpness(x, 2.0), 2 * x - blurred, atol=1e-12)
    # Fine detail grows with the amount.
    levels = [detail(adjust_sharpness(x, a)) for a in (0.0, 0.5, 1.0, 1.5, 2.0)]
    assert levels == sorted(levels)
    assert levels[0] < 0.5 * levels[2] and levels[4] > 1.5 * levels[2]


def test_amount_per_image_and_clipping():
    x = np.zeros((2, 5, 5, 1), np.float32)
    x[:, 2, 2, 0] = 255.0                                   # a white dot: sharpening overshoots
    out = adjust_sharpness(x, np.array([1.0, 2.0]))
    np.testing.assert_allclose(out[0], x[0], atol=1e-4)
    assert out.min() >= 0.0 and out.max() <= 255.0 and out[1, 2, 2, 0] == 255.0
    assert out[1, 2, 1, 0] == 0.0                           # the dark halo is clipped at 0
    out01 = adjust_sharpness(x / 255, 2.0, value_range=(0, 1))
    assert out01.min() >= 0.0 and out01.max() <= 1.0


# --- the random layer -----------------------------------------------------------------
def test_draws_in_range_one_per_image_and_applied():
    x = batch(n=300, h=10, w=10, c=1, dtype=np.float64) * 0.2 + 100
    layer = RandomSharpness((0.8, 0.5), seed=3)
    out = layer(x)
    s = layer.last_params["sharpness"]
    assert s.shape == (300,) and s.min() >= 0.2 and s.max() <= 1.5
    assert s.min() < 0.3 and s.max() > 1.4                  # the whole range is used
    np.testing.assert_allclose(out, adjust_sharpness(x, s), atol=1e-12)


def test_seeded_repeatable_inference_identity_single_image_dtypes():
    x = batch()
    np.testing.assert_array_equal(RandomSharpness(0.5, seed=7)(x), RandomSharpness(0.5, seed=7)(x))
    assert not np.array_equal(RandomSharpness(0.5, seed=7)(x), RandomSharpness(0.5, seed=8)(x))
    layer = RandomSharpness(0.5, seed=0)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert layer(x[0]).shape == x[0].shape
    assert layer(x.astype(np.float64)).dtype == np.float64
    assert layer(x.astype(np.uint8)).dtype == np.float32
    assert RandomSharpness(0.0, seed=0)(x).dtype == np.float32
    np.testing.assert_allclose(RandomSharpness(0.0, seed=0)(x), x, atol=1e-4)


def test_chains_after_a_warp_in_an_augmenter():
    x = batch(n=3, h=16, w=16, c=1)
    aug = Augmenter([RandomZoom(0.1), RandomSharpness(0.5)], seed=0)
    out = aug(x)
    assert out.shape == x.shape and np.isfinite(out).all()
    assert "RandomSharpness(factor=0.5" in repr(aug)


def test_bad_arguments_name_themselves():
    for bad in (1.5, -0.1, (0.2,), "x"):
        with pytest.raises(ValueError, match="RandomSharpness: factor"):
            RandomSharpness(bad)
    with pytest.raises(ValueError, match="sigma"):
        RandomSharpness(0.5, sigma=0)
    with pytest.raises(ValueError, match="value_range"):
        RandomSharpness(0.5, value_range=(1, 0))
