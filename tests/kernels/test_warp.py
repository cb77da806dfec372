"""The affine warp: Numba kernel == NumPy reference == scipy.ndimage, fill modes by hand, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels.warp import (
    FILL_MODES,
    _affine_warp_numba,
    affine_warp,
    affine_warp_reference,
    map_index_reference,
)

# Keras's fill modes are scipy.ndimage's "grid" modes (the image extended as a pixel grid).
SCIPY_MODE = {"reflect": "reflect", "wrap": "grid-wrap", "nearest": "nearest",
              "constant": "grid-constant"}


def random_matrices(rng, n, h, w, spread=1.0):
    """Rotation + anisotropic zoom + shear + shift about the centre, some far outside the image."""
    m = np.zeros((n, 2, 3))
    for i in range(n):
        t = rng.uniform(-np.pi, np.pi)
        a = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        a = a @ np.diag(rng.uniform(0.3, 2.5, size=2)) + rng.normal(0, 0.2, (2, 2))
        centre = np.array([(h - 1) / 2, (w - 1) / 2])
        m[i, :, :2] = a
        m[i, :, 2] = centre - a @ centre + rng.normal(0, spread * max(h, w), 2)
    return m


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 4),
    mode=st.sampled_from(FILL_MODES), interpolation=st.sampled_from(["bilinear", "nearest"]),
    dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**31),
)
def test_kernel_equals_reference(n, h, w, c, mode, interpolation, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, h, w, c)) * 255).astype(dtype)
    m = random_matrices(rng, n, h, w)
    ref = affine_warp_reference(x, m, mode, interpolation, fill_value=17.5)
    got = affine_warp(x, m, mode, interpolation, fill_value=17.5)
    assert got.dtype == dtype and got.shape == x.shape
    # Same additions in the same order: equal to the last bit in practice; allow one ulp.
    np.testing.assert_allclose(got, ref, rtol=2 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("mode", FILL_MODES)
@pytest.mark.parametrize("interpolation, order", [("bilinear", 1), ("nearest", 0)])
def test_reference_equals_scipy_affine_transform(mode, interpolation, order):
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(3)
    x = rng.random((4, 7, 10, 2))
    m = random_matrices(rng, 4, 7, 10, spread=0.5)
    ours = affine_warp_reference(x, m, mode, interpolation, fill_value=0.25)
    for i in range(4):
        for k in range(2):
            theirs = ndimage.affine_transform(x[i, ..., k], m[i, :, :2], offset=m[i, :, 2],
                                              order=order, mode=SCIPY_MODE[mode], cval=0.25)
            np.testing.assert_allclose(ours[i, ..., k], theirs, atol=1e-12)


def test_fill_modes_by_hand_on_a_row():
    """Shift a 1x4 row a b c d far to the right and read the extension Keras draws."""
    row = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
    # Output column c reads input column c - 4: the four pixels left of the image.
    shift = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, -4.0]]])
    expected = {
        "reflect": [4, 3, 2, 1],      # d c b a | a b c d
        "wrap": [1, 2, 3, 4],         # a b c d | a b c d
        "nearest": [1, 1, 1, 1],      # a a a a | a b c d
        "constant": [9, 9, 9, 9],     # k k k k | a b c d
    }
    for mode, values in expected.items():
        for warp in (affine_warp, affine_warp_reference):
            out = warp(row, shift, mode, "bilinear", fill_value=9.0)
            assert out.ravel().tolist() == values, (mode, warp.__name__)


def test_bilinear_half_pixel_by_hand():
    row = np.array([0.0, 10.0, 20.0]).reshape(1, 1, 3, 1)
    half = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.5]]])     # read c + 0.5
    np.testing.assert_allclose(affine_warp(row, half, "constant").ravel(), [5.0, 15.0, 10.0])
    np.testing.assert_allclose(affine_warp(row, half, "nearest").ravel(), [5.0, 15.0, 20.0])
    np.testing.assert_allclose(affine_warp(row, half, "reflect").ravel(), [5.0, 15.0, 20.0])
    np.testing.assert_allclose(affine_warp(row, half, "wrap").ravel(), [5.0, 15.0, 10.0])


def test_identity_is_exact():
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 6, 3)).astype(np.float32)
    eye = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    for mode in FILL_MODES:
        np.testing.assert_array_equal(affine_warp(x, eye, mode), x)


def test_map_index_reference_periods():
    idx = np.arange(-8, 12)
    reflect, _ = map_index_reference(idx, 4, "reflect")
    assert reflect.tolist() == [0, 1, 2, 3, 3, 2, 1, 0] * 2 + [0, 1, 2, 3]
    wrap, _ = map_index_reference(idx, 4, "wrap")
    assert wrap.tolist() == [0, 1, 2, 3] * 5
    _, valid = map_index_reference(idx, 4, "constant")
    assert valid.tolist() == [False] * 8 + [True] * 4 + [False] * 8


def test_bad_arguments():
    x = np.zeros((2, 4, 4, 1), np.float32)
    m = np.zeros((2, 2, 3))
    with pytest.raises(ValueError, match="fill_mode"):
        affine_warp(x, m, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        affine_warp(x, m, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        affine_warp(x[0], m)
    with pytest.raises(ValueError, match="float32 or float64"):
        affine_warp(x.astype(np.uint8), m)
    with pytest.raises(ValueError, match=r"\(N, 2, 3\)"):
        affine_warp(x, np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        affine_warp(x, np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match="out"):
        affine_warp(x, m, out=x)


def test_kernel_runs_in_float64_and_float32_through_the_raw_entry_point():
    """The raw kernel writes into ``out`` and returns it (used by affine_warp)."""
    x = np.ones((1, 3, 3, 1))
    out = np.empty_like(x)
    res = _affine_warp_numba(x, np.array([[[1.0, 0, 0], [0, 1.0, 0]]]), 0, 1, 0.0, out)
    assert res is out and np.all(out == 1.0)
