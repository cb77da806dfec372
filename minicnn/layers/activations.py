"""Element-wise activations: ReLU and Sigmoid.

Neither has parameters; each keeps from ``forward`` exactly what its derivative needs.
"""

import numpy as np

from .. import kernels
from .base import Layer

__all__ = ["ReLU", "Sigmoid", "stable_sigmoid"]


class ReLU(Layer):
    """Rectified linear unit, y = max(x, 0), element-wise.

    Forward:  y = max(x, 0)                  x, y : (batch, ...)
    Backward: dL/dx = dL/dy * [x > 0]

    The derivative is 0 or 1, so ``forward`` keeps only a boolean mask (one byte per
    element) and ``backward`` multiplies the upstream gradient by it IN PLACE: after a
    convolution the activation can hold hundreds of megabytes, and a second full-size
    array per step would cost time and memory. ``grad_out`` therefore must be a buffer
    the caller does not need afterwards (Sequential passes each layer a fresh gradient).
    At x == 0 exactly we use slope 0, as Keras and PyTorch do.
    No parameters. Tests: ``tests/layers/test_activations.py``.
    """

    kept_for_backward = ("mask",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.mask = None

    def forward(self, x, training=False):
        y, self.mask = kernels.relu(x)  # y = np.maximum(x, 0), mask = x > 0
        return y

    def backward(self, grad_out):
        if self.mask is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        if grad_out.shape != self.mask.shape:
            raise ValueError(
                f"{self.name} (ReLU): grad_out has shape {grad_out.shape}, "
                f"expected the forward output's shape {self.mask.shape}"
            )
        if grad_out.flags.writeable and grad_out.dtype.kind == "f":
            # In place: zero the gradient where the unit was off.
            return np.multiply(grad_out, self.mask, out=grad_out)
        return grad_out * self.mask


def stable_sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)) without overflow for any float ``x``.

    ``exp(-x)`` overflows for x < -88 in float32 (-709 in float64). We only ever take
    ``e = exp(-|x|)``, which lies in (0, 1], and pick the form that uses it:

        x >= 0:  sigma(x) = 1 / (1 + e)
        x <  0:  sigma(x) = e / (1 + e)      (multiply top and bottom by exp(x))

    For |x| beyond ~87 (float32) ``e`` underflows to 0, which is the right limit, so we
    silence that one harmless floating-point flag. The result has x's dtype.
    """
    x = np.asarray(x)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    one_plus_e = 1 + e
    return np.where(x >= 0, 1 / one_plus_e, e / one_plus_e)


class Sigmoid(Layer):
    """Logistic sigmoid, y = 1 / (1 + exp(-x)), element-wise.

    Forward:  y = sigma(x)                    (the overflow-free form, see ``stable_sigmoid``)
    Backward: dL/dx = dL/dy * y * (1 - y)     (the derivative written with the output)
    Shapes: x, y and both gradients (batch, ...), all the same. No parameters.
    Tests: ``tests/layers/test_activations.py``.

    To train a binary classifier prefer a final ``Dense(1)`` without Sigmoid and
    ``BinaryCrossEntropy(from_logits=True)``: the fused loss is more accurate than
    ``log(sigmoid(z))`` when the model is very sure.
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.y = None

    def forward(self, x, training=False):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, grad_out):
        if self.y is None:
            raise RuntimeError(f"{self.name}: call forward before backward")
        if grad_out.shape != self.y.shape:
            raise ValueError(
                f"{self.name} (Sigmoid): grad_out has shape {grad_out.shape}, "
                f"expected the forward output's shape {self.y.shape}"
            )
        return grad_out * self.y * (1 - self.y)
