"""Pooling layers: MaxPool2D and GlobalAveragePooling2D (NHWC, Keras-compatible).

MaxPool2D
    ``y[n, oh, ow, c] = max`` of ``x[n, :, :, c]`` over the ``(ph, pw)`` window at
    ``(oh*sh - pad_top, ow*sw - pad_left)``. Its gradient flows to the ONE input that
    won each window (the first in row-major order on ties) and nowhere else; where
    windows overlap, an input that won several windows gets the sum. The forward pass
    keeps the winner's position per output cell (``argmax``), not a mask the size of x.
    Kernels (NumPy reference and Numba) live in ``minicnn.kernels.pooling``.

GlobalAveragePooling2D
    ``y[n, c] = mean over (h, w) of x[n, h, w, c]``: (N, H, W, C) -> (N, C). Each input
    contributed ``1 / (H*W)`` of its mean, so ``dx[n, h, w, c] = dy[n, c] / (H*W)``.
"""

import numpy as np

from .. import kernels
from .base import Layer
from .conv import check_padding, image_window, to_pair

__all__ = ["MaxPool2D", "GlobalAveragePooling2D"]


def _check_images(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"{layer.name} ({type(layer).__name__}): expected images of shape (H, W, C) "
            f"per example, got {tuple(input_shape)}"
        )


class MaxPool2D(Layer):
    """Max pooling over NHWC images.

    Parameters
    ----------
    pool_size : int or (int, int)
        Window (ph, pw).
    strides : int, (int, int) or None
        Step between windows; None means ``pool_size`` (non-overlapping windows).
    padding : {"valid", "same"}
        As in Keras/TensorFlow: "same" gives ``ceil(H / sh)`` rows, the extra padded
        row/column at the bottom/right; padded cells never win the max.
    name : str, optional

    Forward ``y[n, oh, ow, c] = max`` over the window (keeps ``argmax``, int16, the
    winner's position in its window); backward ``dx`` is ``dy`` at each window's argmax
    (added up where windows overlap) and 0 elsewhere. Shapes: x (N, H, W, C) ->
    y (N, Ho, Wo, C), ``Ho = (H - ph) // sh + 1`` ("valid") or ``ceil(H / sh)``
    ("same"); backward (N, Ho, Wo, C) -> (N, H, W, C). No parameters.
    Tests: ``tests/layers/test_pooling.py``, kernels ``tests/kernels/test_pooling.py``.
    """

    kept_for_backward = ("argmax",)

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        self.pool_size = to_pair(pool_size, f"{self.name}: pool_size")
        self.strides = self.pool_size if strides is None else to_pair(strides, f"{self.name}: strides")
        self.padding = check_padding(padding)

    def compute_output_shape(self, input_shape):
        window = image_window(self, input_shape, self.pool_size, self.strides, self.padding)
        return (window.out_h, window.out_w, input_shape[2])

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng=rng, dtype=dtype)
        self.window = image_window(self, self.input_shape, self.pool_size, self.strides,
                                   self.padding)

    def forward(self, x, training=False):
        """``x`` (N, H, W, C) -> (N, Ho, Wo, C); keeps the argmax for backward."""
        y, self.argmax = kernels.maxpool_forward(x, self.window)
        return y

    def backward(self, grad_out):
        """Route each output gradient to its window's maximum (adding on overlaps)."""
        return kernels.maxpool_backward(grad_out, self.argmax, self.window)


class GlobalAveragePooling2D(Layer):
    """Mean over height and width: (N, H, W, C) -> (N, C).

    Forward ``y[n, c] = sum over h, w of x[n, h, w, c] / (H*W)``; backward
    ``dx[n, h, w, c] = dy[n, c] / (H*W)`` (every position gets an equal share).
    No parameters. Tests: ``tests/layers/test_pooling.py``.
    """

    def __init__(self, name=None):
        super().__init__(name)

    def compute_output_shape(self, input_shape):
        _check_images(self, input_shape)
        return (input_shape[2],)

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.mean(axis=(1, 2))  # NumPy keeps float32 in float32 here

    def backward(self, grad_out):
        n, h, w, c = self.x_shape
        scale = grad_out / (h * w)  # Python int divisor: dtype stays that of grad_out
        return np.broadcast_to(scale[:, None, None, :], self.x_shape).copy()
