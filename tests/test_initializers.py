"""Initialisers: Keras fans, the right variance, seeded repeatability, dtype, bad names."""

import math

import numpy as np
import pytest

from minicnn import initializers
from minicnn.initializers import compute_fans, get


def test_fans_follow_keras():
    assert compute_fans((3, 3, 16, 32)) == (3 * 3 * 16, 3 * 3 * 32)
    assert compute_fans((100, 10)) == (100, 10)
    assert compute_fans((7,)) == (7, 7)
    assert compute_fans(()) == (1, 1)


def test_truncated_constant_is_std_of_normal_cut_at_two():
    from scipy import stats

    assert stats.truncnorm(-2, 2).std() == pytest.approx(initializers._TRUNCATED_STD, rel=1e-12)


@pytest.mark.parametrize(
    "name, variance",
    [
        ("he_normal", lambda fi, fo: 2.0 / fi),
        ("he_uniform", lambda fi, fo: 2.0 / fi),
        ("glorot_normal", lambda fi, fo: 2.0 / (fi + fo)),
        ("glorot_uniform", lambda fi, fo: 2.0 / (fi + fo)),
    ],
)
def test_variance_matches_formula(name, variance):
    shape = (3, 3, 20, 40)
    fan_in, fan_out = compute_fans(shape)
    w = get(name)(shape, np.random.default_rng(0), np.float64)
    assert w.shape == shape
    # 7,200 draws: the sample variance is within a few percent of the target.
    assert w.var() == pytest.approx(variance(fan_in, fan_out), rel=0.06)
    assert abs(w.mean()) < 0.1 * math.sqrt(variance(fan_in, fan_out))


def test_normal_is_truncated_at_two_stddev():
    shape = (200, 300)
    w = get("he_normal")(shape, np.random.default_rng(1), np.float64)
    stddev = math.sqrt(2.0 / 200) / initializers._TRUNCATED_STD
    assert np.abs(w).max() <= 2 * stddev
    assert np.abs(w).max() > 1.9 * stddev  # the tails are cut, not shrunk


def test_uniform_limit():
    w = get("glorot_uniform")((50, 70), np.random.default_rng(2), np.float64)
    limit = math.sqrt(6.0 / 120)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.95 * limit


@pytest.mark.parametrize("name", ["he_normal", "he_uniform", "glorot_normal", "glorot_uniform"])
def test_seeded_and_dtype(name):
    init = get(name)
    a = init((4, 5), np.random.default_rng(3), np.float32)
    b = init((4, 5), np.random.default_rng(3), np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert init((4, 5), np.random.default_rng(3), np.float64).dtype == np.float64


def test_zeros_and_get_passthrough():
    z = get("zeros")((3,), None, np.float64)
    assert z.dtype == np.float64 and not z.any()
    assert get("ones")((2,), None, np.float32).sum() == 2

    def custom(shape, rng, dtype):
        return np.full(shape, 0.5, dtype)

    assert get(custom) is custom
    assert get("He_Normal") is initializers.he_normal


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="unknown initializer 'kaiming'"):
        get("kaiming")
    with pytest.raises(ValueError, match="Generator"):
        get("he_normal")((2, 2), 42, np.float32)
