"""Dropout: scaling at training, identity at inference, same mask in backward, seeding."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn.gradcheck import gradient_check
from minicnn.layers.dropout import Dropout

FAST = settings(deadline=None, max_examples=30)


@FAST
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=4), rate=st.floats(0.0, 0.9),
       seed=st.integers(0, 2**16))
def test_dropout_gradient_matches_central_differences(shape, rate, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    errors = gradient_check(Dropout(rate, seed=seed), x, training=True, seed=seed)
    assert errors["x"] < 1e-6


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_training_scales_kept_units_and_preserves_the_mean(rate):
    x = np.full((400, 500), 2.0, np.float32)
    layer = Dropout(rate, seed=0)
    y = layer.forward(x, training=True)
    kept = y != 0
    # Every kept unit is scaled by 1 / (1 - rate); the rest are exactly 0.
    np.testing.assert_allclose(y[kept], 2.0 / (1 - rate), rtol=1e-6)
    n = x.size
    sd = np.sqrt(rate * (1 - rate) / n)  # standard deviation of the kept fraction
    assert abs(kept.mean() - (1 - rate)) < 6 * sd
    # Inverted dropout: E[y] = x, so the mean is preserved (to sampling error).
    assert abs(y.mean() - 2.0) < 6 * 2.0 * sd / (1 - rate)


def test_inference_is_the_identity_in_both_directions():
    x = np.random.default_rng(0).standard_normal((8, 10)).astype(np.float32)
    layer = Dropout(0.5, seed=1)
    layer.forward(x, training=True)  # a mask from training must not leak into inference
    y = layer.forward(x, training=False)
    np.testing.assert_array_equal(y, x)
    g = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_backward_uses_the_forward_mask():
    x = np.random.default_rng(0).uniform(1.0, 2.0, (16, 32))  # no zeros in x
    layer = Dropout(0.3, seed=4)
    y = layer.forward(x, training=True)
    g = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(g), g * (y / x))
    assert 0 < np.count_nonzero(y) < y.size


def test_same_seed_same_masks_and_masks_change_between_steps():
    x = np.ones((10, 10))
    a, b = Dropout(0.5, seed=11), Dropout(0.5, seed=11)
    first_a, first_b = a.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(a.forward(x, training=True), first_a)


def test_seed_none_draws_from_the_build_generator_without_advancing_it():
    x = np.ones((6, 20))
    masks = []
    for _ in range(2):
        layer = Dropout(0.5)
        rng = np.random.default_rng(123)
        layer.build((20,), rng=rng)
        masks.append(layer.forward(x, training=True))
        # the model's generator is untouched: later layers get the same initial weights
        assert rng.random() == np.random.default_rng(123).random()
    np.testing.assert_array_equal(masks[0], masks[1])


def test_rate_zero_is_identity_and_dtypes_are_kept():
    x32 = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(Dropout(0.0).forward(x32, training=True), x32)
    layer = Dropout(0.5, seed=0)
    y = layer.forward(x32, training=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.5", True, None, float("nan")])
def test_rejects_bad_rate(bad):
    with pytest.raises(ValueError, match="rate"):
        Dropout(bad)


def test_backward_rejects_wrong_shape():
    layer = Dropout(0.5, seed=0, name="drop")
    layer.forward(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match=r"drop.*\(2, 3\)"):
        layer.backward(np.ones((3, 2)))


def test_config_round_trip():
    layer = Dropout(0.25, seed=5, name="d")
    assert layer.get_config() == {"rate": 0.25, "seed": 5, "name": "d"}
