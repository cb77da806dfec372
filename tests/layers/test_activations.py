"""ReLU and Sigmoid: gradients, values, in-place backward, and no overflow for any float."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import expit

from minicnn.gradcheck import gradient_check
from minicnn.layers.activations import ReLU, Sigmoid, stable_sigmoid

FAST = settings(deadline=None, max_examples=30)
shapes = st.lists(st.integers(1, 5), min_size=2, max_size=4)


@FAST
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_relu_gradient_matches_central_differences(shape, seed):
    rng = np.random.default_rng(seed)
    # Keep every input at least 0.1 away from the kink at 0.
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 3.0, size=shape)
    assert gradient_check(ReLU(), x, seed=seed)["x"] < 1e-6


@FAST
@given(shape=shapes, scale=st.floats(0.1, 8.0), seed=st.integers(0, 2**16))
def test_sigmoid_gradient_matches_central_differences(shape, scale, seed):
    # |x| <= 6: further out sigmoid'(x) < 2.5e-3 and f(x +- eps) agree in so many digits that a
    # central difference cannot resolve the slope to 1e-6 (saturation is tested on its own).
    x = np.clip(np.random.default_rng(seed).standard_normal(shape) * scale, -6.0, 6.0)
    assert gradient_check(Sigmoid(), x, seed=seed)["x"] < 1e-6


def test_relu_values_and_zero_slope_at_zero():
    x = np.array([[-2.0, 0.0, 3.0, -0.5]], np.float32)
    relu = ReLU()
    y = relu.forward(x)
    np.testing.assert_array_equal(y, [[0, 0, 3, 0]])
    assert y.dtype == np.float32
    dx = relu.backward(np.array([[1.0, 1.0, 1.0, 1.0]], np.float32))
    np.testing.assert_array_equal(dx, [[0, 0, 1, 0]])
    assert dx.dtype == np.float32


def test_relu_backward_reuses_a_writeable_gradient_and_copies_a_readonly_one():
    relu = ReLU()
    relu.forward(np.array([[-1.0, 2.0]]))
    g = np.array([[5.0, 7.0]])
    assert relu.backward(g) is g  # in place: no second full-size array
    np.testing.assert_array_equal(g, [[0.0, 7.0]])
    frozen = np.array([[5.0, 7.0]])
    frozen.flags.writeable = False
    np.testing.assert_array_equal(relu.backward(frozen), [[0.0, 7.0]])
    np.testing.assert_array_equal(frozen, [[5.0, 7.0]])


def test_relu_backward_mask_comes_from_the_last_forward():
    relu = ReLU()
    relu.forward(np.array([[1.0, -1.0]]))
    relu.forward(np.array([[-1.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 2))), [[0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_never_overflows(dtype):
    info = np.finfo(dtype)
    x = np.array([[-info.max, -1e4, -710.0, -89.0, -88.0, -20.0, 0.0, 20.0, 89.0, 1e4, info.max]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            layer = Sigmoid()
            y = layer.forward(x)
            dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert np.all((y >= 0) & (y <= 1))
    # atol: below the smallest normal number (subnormals) only absolute agreement means anything.
    np.testing.assert_allclose(y, expit(x.astype(np.float64)), rtol=4 * info.eps, atol=info.tiny)
    assert y[0, 0] == 0 and y[0, -1] == 1 and y[0, 6] == 0.5


def test_stable_sigmoid_raises_no_floating_point_error_at_all():
    # Even with every floating-point flag (underflow included) turned into an error.
    with np.errstate(all="raise"):
        y = stable_sigmoid(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32))
    tiny = np.finfo(np.float32).tiny  # expit(-100) = 3.7e-44 is a float32 subnormal
    np.testing.assert_allclose(y, [0, expit(-100.0), 0.5, 1, 1], rtol=1e-6, atol=tiny)


def test_sigmoid_symmetry_and_derivative():
    x = np.linspace(-30, 30, 121)
    layer = Sigmoid()
    y = layer.forward(x[None])
    np.testing.assert_allclose(y[0] + y[0, ::-1], 1.0, rtol=0, atol=1e-15)
    dx = layer.backward(np.ones_like(y))
    # y (1 - y) loses relative accuracy where y rounds near 1, but stays within an ulp of 1.
    np.testing.assert_allclose(dx[0], expit(x) * expit(-x), rtol=1e-12, atol=2e-16)


@pytest.mark.parametrize("cls", [ReLU, Sigmoid])
def test_backward_rejects_wrong_shape_and_missing_forward(cls):
    layer = cls(name="act")
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"act.*\(2, 3\)"):
        layer.backward(np.ones((2, 4)))


def test_wrong_input_shape_names_the_layer():
    layer = ReLU(name="relu7")
    layer(np.ones((2, 4, 4, 3), np.float32))  # builds for (4, 4, 3)
    with pytest.raises(ValueError, match=r"relu7.*\(2, 4, 4, 5\)"):
        layer(np.ones((2, 4, 4, 5), np.float32))
