"""Dense and Flatten: gradients, values, shapes, dtypes and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn.gradcheck import gradient_check
from minicnn.layers.dense import Dense, Flatten

FAST = settings(deadline=None, max_examples=30)


@FAST
@given(batch=st.integers(1, 6), features=st.integers(1, 9), units=st.integers(1, 7),
       use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_dense_gradients_match_central_differences(batch, features, units, use_bias, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(units, use_bias=use_bias)
    layer.build((features,), rng=rng, dtype=np.float64)
    if use_bias:
        layer.params["b"][:] = rng.standard_normal(units)  # a non-zero bias is checked too
    errors = gradient_check(layer, rng.standard_normal((batch, features)), seed=seed)
    assert set(errors) == {"x", "W"} | ({"b"} if use_bias else set())
    assert max(errors.values()) < 1e-6, errors


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), batch=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_flatten_gradient_matches_central_differences(shape, batch, seed):
    x = np.random.default_rng(seed).standard_normal((batch, *shape))
    errors = gradient_check(Flatten(), x, seed=seed)
    assert errors["x"] < 1e-6


def test_dense_forward_and_backward_values():
    rng = np.random.default_rng(0)
    layer = Dense(3)
    layer.build((4,), rng=rng, dtype=np.float64)
    layer.params["b"][:] = [1.0, -2.0, 0.5]
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(layer.forward(x), x @ W + b)
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], x.T @ dy)
    np.testing.assert_allclose(layer.grads["b"], dy.sum(axis=0))
    np.testing.assert_allclose(dx, dy @ W.T)


def test_grads_are_overwritten_not_accumulated():
    rng = np.random.default_rng(1)
    layer = Dense(2)
    layer.build((3,), rng=rng, dtype=np.float64)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dy)
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x)
    layer.backward(dy)
    for k in first:
        np.testing.assert_array_equal(layer.grads[k], first[k])


def test_skips_input_gradient_when_not_needed():
    rng = np.random.default_rng(2)
    layer = Dense(2)
    layer.build((3,), rng=rng, dtype=np.float64)
    layer.needs_input_grad = False
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    assert layer.backward(dy) is None
    np.testing.assert_allclose(layer.grads["W"], x.T @ dy)  # parameter grads still computed


def test_glorot_uniform_kernel_zero_bias_and_seeded():
    a, b = Dense(50), Dense(50)
    a.build((200,), rng=np.random.default_rng(7))
    b.build((200,), rng=np.random.default_rng(7))
    W = a.params["W"]
    assert W.shape == (200, 50) and a.params["b"].shape == (50,)
    assert W.dtype == np.float32 and a.params["b"].dtype == np.float32
    limit = np.sqrt(6 / (200 + 50))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.02 * limit  # uniform variance limit^2 / 3
    assert not a.params["b"].any()
    np.testing.assert_array_equal(W, b.params["W"])
    assert a.count_params() == 200 * 50 + 50


def test_float32_stays_float32():
    layer = Dense(4)
    layer.build((6,), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32


def test_original_models_dense_layer_size():
    # Flatten of the last 26x26x128 feature map of the original CNN, then Dense(128).
    flatten = Flatten()
    flatten.build((26, 26, 128))
    assert flatten.output_shape == (86528,)
    dense = Dense(128)
    dense.build(flatten.output_shape, rng=np.random.default_rng(0))
    assert dense.count_params() == 86528 * 128 + 128


def test_flatten_values_views_and_shapes():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = Flatten()
    layer.build(x.shape[1:])
    y = layer.forward(x)
    assert y.shape == (2, 60) and layer.output_shape == (60,)
    np.testing.assert_array_equal(y[1], x[1].ravel())  # C order: channels vary fastest
    assert np.shares_memory(y, x)  # a view, no copy
    g = np.random.default_rng(0).standard_normal(y.shape)
    np.testing.assert_array_equal(layer.backward(g), g.reshape(x.shape))


def test_config_round_trip():
    layer = Dense(8, use_bias=False, kernel_initializer="he_normal", name="head")
    config = layer.get_config()
    assert config == {"units": 8, "use_bias": False, "kernel_initializer": "he_normal", "name": "head"}
    clone = Dense(**config)
    assert clone.get_config() == config
    assert Flatten(name="f").get_config() == {"name": "f"}


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True, None])
def test_dense_rejects_bad_units(bad):
    with pytest.raises(ValueError, match="units"):
        Dense(bad)


def test_dense_rejects_unknown_initializer():
    with pytest.raises(ValueError, match="initializer"):
        Dense(3, kernel_initializer="not_an_initializer")


def test_dense_on_images_asks_for_flatten():
    layer = Dense(3, name="fc1")
    with pytest.raises(ValueError, match=r"fc1.*Flatten"):
        layer.build((7, 7, 64))


def test_dense_wrong_input_shape_names_layer_and_shapes():
    layer = Dense(3, name="fc1")
    layer.build((5,), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"fc1.*\(batch, 5\).*\(2, 4\)"):
        layer.forward(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="fc1"):
        layer(np.zeros((2, 5, 1), np.float32))
    layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"fc1.*grad_out"):
        layer.backward(np.zeros((2, 4), np.float32))


def test_backward_before_forward_is_an_error():
    layer = Dense(3)
    layer.build((5,), rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        Flatten().backward(np.zeros((2, 3)))


def test_flatten_backward_rejects_wrong_shape():
    layer = Flatten(name="flat")
    layer.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"flat.*\(2, 12\)"):
        layer.backward(np.zeros((2, 11)))
