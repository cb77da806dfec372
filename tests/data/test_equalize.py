"""Histogram equalization and CLAHE: kernels equal references, both equal scikit-image; invariants, errors."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data import equalize as eq
from minicnn.data.augment import Augmenter, PerImageStandardization
from minicnn.kernels import backend

VALUE_RANGES = [(0, 255), (0, 1), (-1, 1), (-50.5, 1000.0)]


def images(rng, shape, value_range, kind, dtype, levels=256):
    """A batch of one kind: spread-out values, few grey levels (ties, bin edges), or constant planes."""
    lo, hi = value_range
    if kind == "uniform":
        x = rng.uniform(lo, hi, shape)
    elif kind == "levels":
        x = lo + (hi - lo) * rng.integers(0, levels, shape) / (levels - 1)
    else:
        x = np.broadcast_to(rng.uniform(lo, hi, shape[:1] + (1, 1) + shape[3:]), shape)
    return np.ascontiguousarray(x, dtype=dtype)


@st.composite
def cases(draw, max_side=24):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, max_side)), draw(st.integers(1, max_side)),
             draw(st.integers(1, 3)))
    value_range = draw(st.sampled_from(VALUE_RANGES))
    kind = draw(st.sampled_from(["uniform", "levels", "constant"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = images(rng, shape, value_range, kind, dtype, levels=draw(st.integers(2, 256)))
    nbins = draw(st.sampled_from([1, 2, 7, 64, 255, 256, 300]))
    return x, value_range, nbins


def kernel_size_for(draw, h, w):
    """None (1/8 of each side), a square, or a (kh, kw) pair up to three times the image."""
    choice = draw(st.sampled_from(["default", "square", "pair"]))
    if choice == "default":
        return None
    if choice == "square":
        return draw(st.integers(1, 3 * max(h, w)))
    return (draw(st.integers(1, 3 * h)), draw(st.integers(1, 3 * w)))


def clahe_arguments(x, clip_limit, kernel_size, nbins, value_range):
    """The positional arguments of clahe_reference / clahe_numba, as :func:`eq.clahe` derives them."""
    kh, kw = eq._kernel_size(kernel_size, x.shape[1], x.shape[2], "test")
    count_limit = max(int(clip_limit * kh * kw), 1) if clip_limit > 0 else kh * kw
    return kh, kw, count_limit, nbins, float(value_range[0]), float(value_range[1])


# --- the Numba kernels equal the NumPy references, bit for bit ------------------------
@settings(max_examples=80, deadline=None)
@given(cases())
def test_equalize_kernel_equals_reference(case):
    x, (lo, hi), nbins = case
    want = eq.equalize_histogram_reference(x, float(lo), float(hi), nbins)
    got = eq.equalize_histogram_numba(x, float(lo), float(hi), nbins)
    assert got.dtype == want.dtype == x.dtype
    np.testing.assert_array_equal(got, want)


@settings(max_examples=80, deadline=None)
@given(cases(), st.sampled_from([0.0, 0.001, 0.01, 0.05, 0.3, 1.0]), st.data())
def test_clahe_kernel_equals_reference(case, clip_limit, data):
    x, value_range, nbins = case
    kernel_size = kernel_size_for(data.draw, x.shape[1], x.shape[2])
    args = clahe_arguments(x, clip_limit, kernel_size, nbins, value_range)
    want = eq.clahe_reference(x, *args)
    got = eq.clahe_numba(x, *args)
    assert got.dtype == want.dtype == x.dtype
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**32 - 1), st.integers(1, 2000))
def test_clip_histogram_kernel_equals_reference(nbins, seed, limit):
    rng = np.random.default_rng(seed)
    # Spiky histograms (a few huge bins among small ones) exercise every redistribution step.
    hist = rng.integers(0, 3 * limit + 2, nbins) * (rng.random(nbins) < rng.random())
    want = eq.clip_histogram_reference(hist, limit)
    got = hist.astype(np.int64)
    eq._clip_histogram_numba(got, limit)
    np.testing.assert_array_equal(got, want)
    assert want.max(initial=0) <= max(limit, hist.max(initial=0))


def test_kernels_correct_with_numba_disabled():
    """NUMBA_DISABLE_JIT=1 runs the kernels' source as Python: it must give the same numbers."""
    code = (
        "import numpy as np; from minicnn.data import equalize as eq\n"
        "rng = np.random.default_rng(3)\n"
        "for dt in (np.float32, np.float64):\n"
        "    x = rng.integers(0, 256, (2, 13, 11, 2)).astype(dt)\n"
        "    assert np.array_equal(eq.clahe_numba(x, 3, 4, 2, 64, 0.0, 255.0),\n"
        "                          eq.clahe_reference(x, 3, 4, 2, 64, 0.0, 255.0))\n"
        "    assert np.array_equal(eq.equalize_histogram_numba(x, 0.0, 255.0, 64),\n"
        "                          eq.equalize_histogram_reference(x, 0.0, 255.0, 64))\n"
        "print('ok')\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=pathlib.Path(__file__).parents[2])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("kernels, used", [("numpy", "reference"), ("numba", "numba")])
def test_minicnn_kernels_switch_chooses_the_implementation(kernels, used, monkeypatch):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    calls = []
    for name in ("equalize_histogram", "clahe"):
        for suffix in ("reference", "numba"):
            original = getattr(eq, f"{name}_{suffix}")
            def spy(*args, _original=original, _tag=f"{name}_{suffix}"):
                calls.append(_tag)
                return _original(*args)
            monkeypatch.setattr(eq, f"{name}_{suffix}", spy)
    x = images(np.random.default_rng(0), (1, 9, 9, 1), (0, 255), "uniform", np.float32)
    eq.equalize_histogram(x)
    eq.clahe(x)
    assert calls == [f"equalize_histogram_{used}", f"clahe_{used}"]


# --- both equal scikit-image ----------------------------------------------------------
def skimage_equalize_hist(x, value_range, nbins):
    exposure = pytest.importorskip("skimage.exposure", reason="scikit-image is an optional reference")
    lo, hi = value_range
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            out[i, :, :, k] = exposure.equalize_hist(x[i, :, :, k], nbins=nbins) * (hi - lo) + lo
    return out


def skimage_clahe(x, clip_limit, kernel_size, nbins, value_range):
    """skimage takes [0, 1] grey images: scale each plane there exactly as clahe's step 1 does, and back."""
    exposure = pytest.importorskip("skimage.exposure", reason="scikit-image is an optional reference")
    lo, hi = value_range
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            u = np.clip((x[i, :, :, k] - lo) / (hi - lo), 0, 1)
            sk = exposure.equalize_adapthist(u, kernel_size=kernel_size, clip_limit=clip_limit, nbins=nbins)
            assert sk.dtype == x.dtype
            out[i, :, :, k] = sk * (hi - lo) + lo
    return out


def both_backends(function, monkeypatch, *args, **kwargs):
    results = {}
    for kernels in backend.CHOICES:
        monkeypatch.setattr(backend, "KERNELS", kernels)
        results[kernels] = function(*args, **kwargs)
    return results


@settings(max_examples=40, deadline=None)
@given(cases(max_side=40))
def test_equalize_histogram_equals_skimage(case):
    x, value_range, nbins = case
    want = skimage_equalize_hist(x, value_range, nbins)
    with pytest.MonkeyPatch.context() as mp:
        for got in both_backends(eq.equalize_histogram, mp, x, value_range, nbins).values():
            np.testing.assert_array_equal(got, want)


@settings(max_examples=25, deadline=None)
@given(cases(max_side=40), st.sampled_from([0.0, 0.005, 0.01, 0.1, 1.0]), st.data())
def test_clahe_equals_skimage(case, clip_limit, data):
    x, value_range, nbins = case
    kernel_size = kernel_size_for(data.draw, x.shape[1], x.shape[2])
    want = skimage_clahe(x, clip_limit, kernel_size, nbins, value_range)
    with pytest.MonkeyPatch.context() as mp:
        results = both_backends(eq.clahe, mp, x, clip_limit, kernel_size, nbins, value_range)
    for got in results.values():
        np.testing.assert_array_equal(got, want)


def test_clip_histogram_equals_skimage():
    adapthist = pytest.importorskip("skimage.exposure._adapthist",
                                    reason="scikit-image is an optional reference")
    clip = getattr(adapthist, "clip_histogram", None)
    if clip is None:
        pytest.skip("this scikit-image has no clip_histogram to compare with")
    rng = np.random.default_rng(5)
    for _ in range(100):
        nbins, limit = int(rng.integers(1, 300)), int(rng.integers(1, 500))
        hist = rng.integers(0, 3 * limit + 2, nbins) * (rng.random(nbins) < rng.random())
        np.testing.assert_array_equal(eq.clip_histogram_reference(hist, limit), clip(hist.copy(), limit))


def chest_xrays(size, count=4):
    root = os.environ.get("MINICNN_DATA")
    if not root:
        pytest.skip("set MINICNN_DATA to the chest_xray folder to test on real X-rays")
    from minicnn.data import decode_image
    files = []
    for folder in ("train/NORMAL", "train/PNEUMONIA", "test/NORMAL", "test/PNEUMONIA"):
        files += sorted((pathlib.Path(root) / folder).glob("*.jpeg"))[: count // 4 or 1]
    if not files:
        pytest.skip(f"no chest X-rays under {root}")
    decoded = [decode_image(f, (size, size), color_mode="grayscale") for f in files]
    return np.stack(decoded).astype(np.float32)


@pytest.mark.parametrize("size", [128, 224])
def test_real_chest_xrays_equal_skimage(size, monkeypatch):
    x = chest_xrays(size)
    want = skimage_equalize_hist(x, (0, 255), 256)
    for got in both_backends(eq.equalize_histogram, monkeypatch, x).values():
        np.testing.assert_array_equal(got, want)
    for clip_limit, kernel_size in ((0.01, None), (0.03, 32)):
        want = skimage_clahe(x, clip_limit, kernel_size, 256, (0, 255))
        for got in both_backends(eq.clahe, monkeypatch, x, clip_limit, kernel_size).values():
            np.testing.assert_array_equal(got, want)
        assert np.abs(want - x).mean() > 1.0      # the comparison is of images CLAHE really changed


# --- invariants -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-1.0, 0.0, 17.3, 255.0, 300.0])
def test_constant_images_stay_finite_and_in_range(dtype, value, monkeypatch):
    x = np.full((2, 9, 7, 2), value, dtype=dtype)
    for function in (eq.equalize_histogram, eq.clahe):
        for out in both_backends(function, monkeypatch, x).values():
            assert out.dtype == dtype and np.isfinite(out).all()
            assert out.min() >= 0 and out.max() <= 255
            assert np.unique(out).size == 1        # a flat image stays flat
    # equalize_hist's answer for a constant image: the middle of the cdf (even nbins)
    np.testing.assert_array_equal(eq.equalize_histogram(x), 127.5)


@settings(max_examples=60, deadline=None)
@given(cases(max_side=32))
def test_outputs_lie_in_value_range(case):
    x, value_range, nbins = case
    lo, hi = value_range
    flat = x.min(axis=(1, 2)) == x.max(axis=(1, 2))
    out = eq.equalize_histogram(x, value_range, nbins)
    assert out.min() >= lo and out.max() <= hi
    np.testing.assert_array_equal(out.max(axis=(1, 2))[~flat], hi)   # the brightest pixel: cdf = 1
    out = eq.clahe(x, value_range=value_range, nbins=nbins)
    assert out.min() >= lo and out.max() <= hi
    # every plane is flat or stretched over the whole range (step 5)
    low, high = out.min(axis=(1, 2)), out.max(axis=(1, 2))
    assert ((low == high) | ((low == lo) & (high == hi))).all()


@settings(max_examples=60, deadline=None)
@given(cases(max_side=32))
def test_global_equalization_is_monotone_in_the_pixel_value(case):
    x, value_range, nbins = case
    out = eq.equalize_histogram(x, value_range, nbins)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            order = np.argsort(x[i, :, :, k], axis=None, kind="stable")
            assert (np.diff(out[i, :, :, k].ravel()[order]) >= 0).all()
            # equal inputs get equal outputs
            values, inverse = np.unique(x[i, :, :, k], return_inverse=True)
            mapped = out[i, :, :, k].ravel()
            assert all(np.unique(mapped[inverse.ravel() == j]).size == 1 for j in range(values.size))


@settings(max_examples=40, deadline=None)
@given(cases(max_side=32), st.sampled_from([0.0, 0.01, 0.1]))
def test_clahe_in_one_tile_is_monotone_up_to_one_grey_level(case, clip_limit):
    """With one tile every pixel uses the same map, blended with itself; scikit-image sums the
    four weighted copies in float32 and truncates, which can lose one of the 2^14 levels."""
    x, value_range, nbins = case
    lo, hi = value_range
    out = eq.clahe(x, clip_limit, x.shape[1:3], nbins, value_range).astype(np.float64)
    for i in range(x.shape[0]):
        for k in range(x.shape[3]):
            plane = out[i, :, :, k].ravel()[np.argsort(x[i, :, :, k], axis=None, kind="stable")]
            steps = np.diff(np.unique(plane))
            one_level = steps.min() if steps.size else 0.0   # >= one grey level after the stretch
            rounding = 4 * np.finfo(x.dtype).eps * (hi - lo)  # the output's own rounding
            assert np.diff(plane).min(initial=0) >= -(one_level + rounding)


def test_clahe_clips_the_input_to_value_range_first():
    rng = np.random.default_rng(1)
    x = rng.uniform(-60, 320, (2, 30, 30, 1)).astype(np.float32)
    np.testing.assert_array_equal(eq.clahe(x), eq.clahe(np.clip(x, 0, 255)))


def test_clahe_is_local_where_global_equalization_is_not():
    """A dark half and a bright half, each with its own texture: CLAHE spreads both halves
    over most of the range, global equalization keeps the dark half dark."""
    rng = np.random.default_rng(2)
    dark, bright = rng.uniform(10, 40, (64, 32)), rng.uniform(200, 240, (64, 32))
    x = np.concatenate([dark, bright], axis=1)[None, :, :, None].astype(np.float32)
    glob = eq.equalize_histogram(x)[0, :, :32, 0]
    local = eq.clahe(x, clip_limit=0.0, kernel_size=16)[0, :, 4:28, 0]   # away from the seam
    assert glob.max() < 128 < np.percentile(local, 90)
    assert np.percentile(local, 10) < 64


def test_planes_are_independent_and_shapes_dtypes_kept():
    rng = np.random.default_rng(4)
    x = images(rng, (3, 20, 16, 2), (0, 255), "uniform", np.float64)
    for function in (eq.equalize_histogram, eq.clahe):
        whole = function(x)
        assert whole.shape == x.shape and whole.dtype == np.float64
        np.testing.assert_array_equal(whole[1, :, :, 1:], function(x[1:2, :, :, 1:])[0])
        np.testing.assert_array_equal(function(x[0]), whole[0])              # one (H, W, C) image
        ints = function(x.astype(np.uint8))
        assert ints.dtype == np.float32
        np.testing.assert_array_equal(ints, function(x.astype(np.uint8).astype(np.float32)))
    assert eq.clahe(np.zeros((0, 5, 5, 1), np.float32)).shape == (0, 5, 5, 1)


# --- bad arguments --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"value_range": (1, 1)}, "value_range"),
    ({"value_range": (0, np.nan)}, "value_range"),
    ({"value_range": 255}, "value_range"),
    ({"nbins": 0}, "nbins"),
    ({"nbins": 2.5}, "nbins"),
    ({"nbins": True}, "nbins"),
])
def test_equalize_histogram_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"equalize_histogram: {match}"):
        eq.equalize_histogram(np.zeros((1, 4, 4, 1)), **kwargs)
    with pytest.raises(ValueError, match=f"HistogramEqualization: {match}"):
        eq.HistogramEqualization(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"clip_limit": -0.1}, "clip_limit"),
    ({"clip_limit": float("nan")}, "clip_limit"),
    ({"clip_limit": "0.01"}, "clip_limit"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (8,)}, "kernel_size"),
    ({"kernel_size": (8, 0)}, r"kernel_size\[1\]"),
    ({"kernel_size": 2.5}, "kernel_size"),
    ({"nbins": -3}, "nbins"),
    ({"value_range": (255, 0)}, "value_range"),
])
def test_clahe_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"clahe: {match}"):
        eq.clahe(np.zeros((1, 4, 4, 1)), **kwargs)
    with pytest.raises(ValueError, match=f"CLAHE: {match}"):
        eq.CLAHE(**kwargs)


@pytest.mark.parametrize("function", [eq.equalize_histogram, eq.clahe])
def test_bad_images(function):
    name = function.__name__
    with pytest.raises(ValueError, match=f"{name}: expected images of shape"):
        function(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=f"{name}: images contain NaN"):
        function(np.array([[[[np.nan]], [[1.0]]]]))
    with pytest.raises(ValueError, match=f"{name}: images must be at least 1x1"):
        function(np.zeros((1, 0, 4, 1)))
    with pytest.raises(ValueError, match=f"{name}: images must be a real number array"):
        function(np.array([[["a"]]]))


# --- pipeline layers ------------------------------------------------------------------
def test_layers_apply_at_inference_and_equal_the_functions():
    x = images(np.random.default_rng(6), (2, 24, 24, 1), (0, 255), "uniform", np.float32)
    hist_eq = eq.HistogramEqualization(nbins=128)
    clahe = eq.CLAHE(clip_limit=0.02, kernel_size=(6, 8))
    assert not hist_eq.random and not clahe.random
    for training in (True, False):
        np.testing.assert_array_equal(hist_eq(x, training=training), eq.equalize_histogram(x, nbins=128))
        np.testing.assert_array_equal(clahe(x, training=training), eq.clahe(x, 0.02, (6, 8)))
    np.testing.assert_array_equal(clahe(x[0]), eq.clahe(x[:1], 0.02, (6, 8))[0])


def test_layers_config_round_trips():
    for layer in (eq.HistogramEqualization((0, 1), 64), eq.CLAHE(0.05, 16, 128, (-1, 1)), eq.CLAHE()):
        config = layer.get_config()
        again = type(layer)(**config)
        assert again.get_config() == config
        assert repr(again) == repr(layer)
    assert eq.CLAHE().get_config() == {"clip_limit": 0.01, "kernel_size": None, "nbins": 256,
                                       "value_range": (0, 255)}


def test_layers_sit_in_a_preprocessing_chain():
    x = images(np.random.default_rng(7), (2, 32, 32, 1), (0, 255), "uniform", np.float32)
    chain = Augmenter([eq.CLAHE(), PerImageStandardization()])
    out = chain(x, training=False)
    np.testing.assert_allclose(out, PerImageStandardization()(eq.clahe(x)), rtol=1e-6)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)


def test_exported_from_minicnn_data():
    import minicnn.data as data
    for name in eq.__all__:
        assert getattr(data, name) is getattr(eq, name) and name in data.__all__
