"""Softmax layer: gradient, values against scipy, rows summing to 1, no overflow, contract."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import softmax as scipy_softmax

from minicnn import Sequential
from minicnn.gradcheck import gradient_check
from minicnn.layers import Dense, Softmax
from minicnn.layers.softmax import stable_softmax

FAST = settings(deadline=None, max_examples=30)
# (batch, ..., K): the softmax runs along the last axis, K from 2 to 10
shapes = st.tuples(st.integers(1, 5), st.lists(st.integers(1, 3), max_size=2), st.integers(2, 10)).map(
    lambda t: (t[0], *t[1], t[2]))


@FAST
@given(shape=shapes, scale=st.floats(0.1, 4.0), seed=st.integers(0, 2**16))
def test_softmax_gradient_matches_central_differences(shape, scale, seed):
    # Gaps between logits of at most 8: a saturated softmax (gap 15, p = 3e-7) has
    # gradients near 1e-6, below what a central difference resolves in float64.
    x = np.random.default_rng(seed).uniform(-scale, scale, shape)
    assert gradient_check(Softmax(), x, seed=seed)["x"] < 1e-6


@FAST
@given(shape=shapes, scale=st.floats(0.1, 50.0), seed=st.integers(0, 2**16))
def test_softmax_values_match_scipy_and_rows_sum_to_one(shape, scale, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    p = Softmax()(x)
    np.testing.assert_allclose(p, scipy_softmax(x, axis=-1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert p.shape == x.shape and (p >= 0).all()


def test_backward_is_the_jacobian_vector_product():
    x = np.array([[0.5, -1.0, 2.0, 0.1]])
    layer = Softmax()
    p = layer.forward(x)[0]
    jacobian = np.diag(p) - np.outer(p, p)          # dp_k/dx_j = p_k (delta_kj - p_j)
    g = np.array([[0.3, -2.0, 1.0, 0.7]])
    np.testing.assert_allclose(layer.backward(g)[0], jacobian.T @ g[0], rtol=1e-12)
    # a gradient that is the same for every class moves nothing: softmax ignores a shift
    np.testing.assert_allclose(layer.backward(np.full((1, 4), 5.0)), 0.0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_finite_and_warning_free(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [800.0, 88.8, -800.0]], dtype)
    layer = Softmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            p = layer(x)
            dx = layer.backward(np.ones_like(x) * np.array([1.0, -1.0, 2.0], dtype))
    assert p.dtype == dtype and dx.dtype == dtype
    assert np.isfinite(p).all() and np.isfinite(dx).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]], atol=1e-7)
    np.testing.assert_array_equal(stable_softmax(x), p)


def test_contract_errors_and_a_model_that_ends_in_softmax():
    layer = Softmax()
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.zeros((1, 3)))
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.zeros((2, 4)))
    assert layer.params == {} and layer.count_params() == 0
    model = Sequential([Dense(4), Softmax()], input_shape=(5,), seed=0)
    assert model.layers[-1].output_shape == (4,)
    p = model.predict_logits(np.random.default_rng(0).standard_normal((3, 5)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert repr(Softmax()) == "Softmax()"
