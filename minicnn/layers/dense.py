"""Fully connected layers: Dense (a matrix product) and Flatten (a reshape before it)."""

import math
import numbers

import numpy as np

from .. import initializers, kernels
from .base import Layer

__all__ = ["Dense", "Flatten"]


class Dense(Layer):
    """Fully connected layer, y = x W + b (Keras ``Dense`` without an activation).

    Shapes: x (N, in), W (in, units), b (units,), y (N, units).

    Forward:   y  = x @ W + b             (b broadcast over the N rows)
    Backward:  dW = x^T @ dy              (in, N) @ (N, units) -> (in, units)
               db = sum over rows of dy   (units,)
               dx = dy @ W^T              (N, units) @ (units, in) -> (N, in)

    Every example's row of x meets every column of W, so each entry of dW sums the
    contributions of all N examples: the batch sum falls out of the matrix product.
    ``dx`` is skipped when ``needs_input_grad`` is False (the model's first layer).
    Tests: ``tests/layers/test_dense.py``.

    Parameters
    ----------
    units : int > 0
        Number of outputs.
    use_bias : bool
        Add the bias ``b`` (initialised to zeros).
    kernel_initializer : str
        Name in ``minicnn.initializers`` for W (Keras default ``"glorot_uniform"``).
    """

    kept_for_backward = ("x",)

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform", name=None):
        super().__init__(name=name)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        initializers.get(kernel_initializer)  # fail now, not at build, on an unknown name
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.x = None

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def build(self, input_shape, rng=None, dtype=np.float32):
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.name} (Dense): expects flat examples of shape (features,), got example "
                f"shape {tuple(input_shape)}; put a Flatten() (or a global pooling) before it"
            )
        super().build(input_shape, rng=rng, dtype=dtype)
        if rng is None:
            rng = np.random.default_rng()
        init = initializers.get(self.kernel_initializer)
        self.params = {"W": np.ascontiguousarray(init((self.input_shape[0], self.units), rng, dtype))}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, training=False):
        if x.ndim != 2 or x.shape[1] != self.input_shape[0]:
            raise ValueError(
                f"{self.name} (Dense): expected input of shape (batch, {self.input_shape[0]}), "
                f"got {tuple(x.shape)}"
            )
        self.x = x
        y = kernels.matmul(x, self.params["W"])  # x @ W, oriented for BLAS by the kernel
        if self.use_bias:
            y += self.params["b"]
        return y

    def backward(self, grad_out):
        if self.x is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        if grad_out.shape != (self.x.shape[0], self.units):
            raise ValueError(
                f"{self.name} (Dense): grad_out has shape {grad_out.shape}, "
                f"expected {(self.x.shape[0], self.units)}"
            )
        # dW = x^T dy, written into the existing array (overwritten, never accumulated).
        kernels.matmul(self.x.T, grad_out, out=self.grads["W"])
        if self.use_bias:
            self.grads["b"][...] = grad_out.sum(axis=0)  # db
        if not self.needs_input_grad:
            return None
        return kernels.matmul(grad_out, self.params["W"].T)  # dx = dy W^T


class Flatten(Layer):
    """Flatten each example to one axis: (N, d1, d2, ...) -> (N, d1*d2*...).

    Row-major (C order) as NumPy and Keras with channels last, so a Dense after it sees
    the NHWC values in memory order. ``backward`` reshapes the gradient back. Both are
    views when the input is contiguous: no data is copied. No parameters.
    Tests: ``tests/layers/test_dense.py``.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x_shape = None

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        if x.ndim < 1:
            raise ValueError(f"{self.name} (Flatten): expected a batch (batch, ...), got a scalar")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, grad_out):
        if self.x_shape is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        n = self.x_shape[0]
        if grad_out.shape != (n, math.prod(self.x_shape[1:])):
            raise ValueError(
                f"{self.name} (Flatten): grad_out has shape {grad_out.shape}, "
                f"expected {(n, math.prod(self.x_shape[1:]))}"
            )
        return grad_out.reshape(self.x_shape)
