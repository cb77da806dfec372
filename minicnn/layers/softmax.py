"""Softmax: turn a row of K scores into K probabilities that sum to 1.

For a final layer that should output probabilities. To TRAIN a K-class model prefer
logits (no Softmax layer) and ``CategoricalCrossEntropy(from_logits=True)``: the fused
loss never forms ``log(softmax(z))`` and stays exact when the model is very sure.
"""

import numpy as np

from .base import Layer

__all__ = ["Softmax", "stable_softmax"]


def stable_softmax(x):
    """softmax(x) along the last axis, without overflow for any finite ``x``.

        softmax(x)_k = exp(x_k) / sum_j exp(x_j) = exp(x_k - m) / sum_j exp(x_j - m),   m = max_j x_j

    Subtracting the row's maximum changes nothing mathematically (exp(-m) cancels
    above and below the line) but every exponent is then <= 0: each term lies in
    (0, 1] and the largest is exactly 1, so the sum is in [1, K] and never overflows
    or divides by zero. Terms far below the maximum underflow to 0, which is the
    right limit, so that one harmless floating-point flag is silenced.
    The result has x's shape and dtype.
    """
    x = np.asarray(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)


class Softmax(Layer):
    """Softmax along the last axis: p = softmax(x), each row of p sums to 1.

    Forward:  p_k = exp(x_k - m) / sum_j exp(x_j - m),  m = max_j x_j   (``stable_softmax``)
    Backward: the Jacobian is dp_k/dx_j = p_k (delta_kj - p_j), so for an upstream g = dL/dp

              dL/dx_j = sum_k g_k p_k (delta_kj - p_j) = p_j (g_j - sum_k g_k p_k)

    a vector-Jacobian product that costs O(K) per row: the K x K Jacobian is never built.
    Shapes: x, p and both gradients (batch, ..., K), all the same. No parameters.
    ``forward`` keeps p, which is all the backward pass needs.
    Tests: ``tests/layers/test_softmax.py``.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.p = None

    def forward(self, x, training=False):
        self.p = stable_softmax(x)
        return self.p

    def backward(self, grad_out):
        if self.p is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        if grad_out.shape != self.p.shape:
            raise ValueError(
                f"{self.name} (Softmax): grad_out has shape {grad_out.shape}, "
                f"expected the forward output's shape {self.p.shape}"
            )
        p = self.p
        return p * (grad_out - np.sum(grad_out * p, axis=-1, keepdims=True))
