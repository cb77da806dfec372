"""Batch normalisation (Ioffe and Szegedy 2015) over the channel axis."""

import numbers

import numpy as np

from ..kernels import batchnorm
from .base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalise each channel (the last axis) to zero mean and unit variance, then scale and shift.

    Works for dense inputs ``(N, C)`` and images ``(N, H, W, C)``: the statistics of
    channel c are taken over every axis but the last, m = N (or N*H*W) values.

    Training (batch statistics, biased variance as Keras):
        mu    = mean(x)                 var = mean((x - mu)^2)          mu, var : (C,)
        x_hat = (x - mu) / sqrt(var + epsilon)
        y     = gamma * x_hat + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mu
        moving_variance <- momentum * moving_variance + (1 - momentum) * var
    Inference: the same with mu, var replaced by the moving statistics.

    Backward (sums over the m values of each channel; s = 1 / sqrt(var + epsilon)):
        dbeta  = sum(dy)                  dgamma = sum(dy * x_hat)
        training:   dx = gamma * s * (dy - dbeta / m - x_hat * dgamma / m)
        inference:  dx = gamma * s * dy   (the statistics are constants)
    The two extra terms in training appear because mu and var depend on every x in
    the batch: moving one input moves the statistics that normalise all the others.

    ``params``: ``gamma`` (ones) and ``beta`` (zeros), shape (C,).
    ``state``: ``moving_mean`` (zeros) and ``moving_variance`` (ones), shape (C,):
    saved with the model, never touched by the optimizer.
    Shapes: x, y and both gradients (N, C) or (N, H, W, C), all the same.
    The passes over the data are kernels in ``minicnn/kernels/batchnorm.py`` (NumPy
    references beside Numba versions), on the batch seen as an (m, C) matrix.
    Tests: ``tests/layers/test_normalization.py``.

    Parameters
    ----------
    momentum : float in [0, 1]
        Weight of the old value in the moving averages (Keras default 0.99).
    epsilon : float > 0
        Added to the variance before the square root (Keras default 1e-3).
    """

    kept_for_backward = ("cache",)

    def __init__(self, momentum=0.99, epsilon=1e-3, name=None):
        super().__init__(name=name)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be a number > 0, got {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.cache = None

    def build(self, input_shape, rng=None, dtype=np.float32):
        if len(input_shape) < 1:
            raise ValueError(
                f"{self.name} (BatchNormalization): needs inputs with a channel axis, "
                f"e.g. (features,) or (height, width, channels); got example shape {tuple(input_shape)}"
            )
        super().build(input_shape, rng=rng, dtype=dtype)
        channels = self.input_shape[-1]
        self.params = {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state = {"moving_mean": np.zeros(channels, dtype), "moving_variance": np.ones(channels, dtype)}

    def forward(self, x, training=False):
        if x.ndim != len(self.input_shape) + 1 or x.shape[-1] != self.input_shape[-1]:
            self.check_input_shape(x.shape)  # raises with the layer's name and both shapes
        # Channels last: the batch is an (m, C) matrix, one column per channel (a free view).
        x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        if training:
            mean, var = batchnorm.mean_var(x2)  # biased variance (divides by m), as Keras
            for key, batch_value in (("moving_mean", mean), ("moving_variance", var)):
                moving = self.state[key]          # stays in its own dtype
                moving *= self.momentum
                moving += (1.0 - self.momentum) * batch_value.astype(moving.dtype)
        else:
            mean, var = self.state["moving_mean"], self.state["moving_variance"]
        inv_std = (1.0 / np.sqrt(var + self.epsilon)).astype(x.dtype)
        x_hat, y = batchnorm.normalize(x2, mean, inv_std, self.params["gamma"], self.params["beta"])
        self.cache = (x_hat, inv_std, training, x.shape)
        return y.reshape(x.shape)

    def backward(self, grad_out):
        if self.cache is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        x_hat, inv_std, training, shape = self.cache
        if grad_out.shape != shape:
            raise ValueError(
                f"{self.name} (BatchNormalization): grad_out has shape {grad_out.shape}, "
                f"expected the forward output's shape {shape}"
            )
        dy = np.ascontiguousarray(grad_out).reshape(x_hat.shape)
        m = x_hat.shape[0]
        dbeta, dgamma = batchnorm.grad_sums(dy, x_hat)
        self.grads["beta"][...] = dbeta
        self.grads["gamma"][...] = dgamma
        scale = self.params["gamma"] * inv_std  # (C,)
        if not training:
            return grad_out * scale
        # dx = scale * (dy - dbeta/m - x_hat * dgamma/m), written over dy (the contract allows it).
        dx = batchnorm.input_grad(dy, x_hat, scale, dbeta / m, dgamma / m, out=dy)
        return dx.reshape(shape)
