"""The public gradient checker: ~0 for a correct backward, large for a wrong one."""

import numpy as np
import pytest

from minicnn.gradcheck import gradient_check, loss_gradient_check, numerical_gradient, relative_error
from minicnn.layers.dense import Dense
from minicnn.layers.normalization import BatchNormalization
from minicnn.losses import BinaryCrossEntropy


class DenseWrongInputGrad(Dense):
    """A classic slip: dx = dy @ W instead of dy @ W.T (only shapes that are square survive it)."""

    def backward(self, grad_out):
        super().backward(grad_out)
        return grad_out @ self.params["W"]


class DenseForgetsBias(Dense):
    """Another: db left at zero."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.grads["b"][...] = 0
        return dx


class DenseAccumulates(Dense):
    """And the one DESIGN.md warns about: adding into the gradient instead of overwriting it."""

    def backward(self, grad_out):
        self.grads["W"] += self.x.T @ grad_out
        if self.use_bias:
            self.grads["b"] += grad_out.sum(axis=0)
        return grad_out @ self.params["W"].T


def layer_and_input(cls, seed=0):
    rng = np.random.default_rng(seed)
    layer = cls(4)
    layer.build((4,), rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    return layer, rng.standard_normal((3, 4))


def test_correct_layer_scores_near_zero():
    errors = gradient_check(*layer_and_input(Dense))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-8


def test_wrong_input_gradient_is_caught_and_blamed_on_x():
    errors = gradient_check(*layer_and_input(DenseWrongInputGrad))
    assert errors["x"] > 0.1
    assert errors["W"] < 1e-8 and errors["b"] < 1e-8


def test_missing_parameter_gradient_is_caught():
    errors = gradient_check(*layer_and_input(DenseForgetsBias))
    assert errors["b"] > 0.5 and errors["W"] < 1e-8


def test_accumulating_gradients_are_caught_on_the_second_backward():
    layer, x = layer_and_input(DenseAccumulates)
    assert max(gradient_check(layer, x).values()) < 1e-8  # a fresh layer looks fine...
    layer.forward(x)
    layer.backward(np.ones((3, 4)))  # ...but after one more backward the buffers hold stale sums
    g = np.random.default_rng(0).standard_normal((3, 4))
    layer.forward(x)
    layer.backward(g)
    np.testing.assert_raises(AssertionError, np.testing.assert_allclose, layer.grads["W"], x.T @ g)


def test_sampled_checks_still_catch_a_wrong_backward():
    layer, x = layer_and_input(DenseWrongInputGrad, seed=3)
    errors = gradient_check(layer, x, max_checks=5)
    assert errors["x"] > 0.1 and errors["W"] < 1e-8


def test_batchnorm_state_is_restored_after_the_check():
    layer = BatchNormalization()
    layer.build((3,), dtype=np.float64)
    before = {k: v.copy() for k, v in layer.state.items()}
    gradient_check(layer, np.random.default_rng(0).standard_normal((5, 3)), training=True)
    for k in before:
        np.testing.assert_array_equal(layer.state[k], before[k])


def test_loss_check_near_zero_for_correct_and_large_for_wrong():
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal(6), rng.integers(0, 2, 6)
    assert loss_gradient_check(BinaryCrossEntropy(), z, y) < 1e-8

    class ForgetsTheMean(BinaryCrossEntropy):
        def backward(self):
            return super().backward() * 6  # not divided by the batch size

    assert loss_gradient_check(ForgetsTheMean(), z, y) > 0.5


def test_numerical_gradient_and_relative_error_basics():
    a = np.array([1.0, -2.0, 0.5])
    grad = numerical_gradient(lambda: float(np.sum(a**3)), a)
    np.testing.assert_allclose(grad, 3 * a**2, rtol=1e-8)
    np.testing.assert_array_equal(a, [1.0, -2.0, 0.5])  # restored after perturbing
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
