"""Conv2D: a 2-D convolution as im2col + one matrix multiply (NHWC, Keras-compatible).

The math
--------
With input ``x`` of shape (N, H, W, C), kernel ``W`` of shape (kh, kw, C, F) and bias
``b`` of shape (F,), the output ``y`` of shape (N, Ho, Wo, F) is

    y[n, oh, ow, f] = b[f] + sum_{i, j, c} x_pad[n, oh*sh + i, ow*sw + j, c] * W[i, j, c, f]

(deep-learning "convolution" is really cross-correlation: the kernel is not flipped).

im2col copies each ``(kh, kw, C)`` window into one row of ``cols`` (N*Ho*Wo, kh*kw*C),
so the sum above is ONE matrix product:

    Y = cols @ Wm + b,        Wm = W.reshape(kh*kw*C, F),   Y: (N*Ho*Wo, F) == y in NHWC

Backward, given dY = dL/dY (same shape as Y), is the matrix-product rule three times:

    dWm = cols^T @ dY                   (K, F)   then reshape to (kh, kw, C, F)
    db  = dY summed over its rows       (F,)
    dcols = dY @ Wm^T                   (N*Ho*Wo, K)
    dx  = col2im(dcols)                 scatter-ADD each row back onto its window

Padding ``"same"`` follows TensorFlow: ``Ho = ceil(H / sh)``, the needed zeros split with
the extra one at the bottom/right. ``"valid"`` uses no padding.

Speed lives one call down, in ``minicnn.kernels``: ``im2col_matmul(x, Wm, b)`` is
``im2col(x) @ Wm + b``, ``im2col_t_matmul(x, dY)`` is ``im2col(x)^T @ dY`` and
``col2im_matmul(dY, Wm^T)`` is ``col2im(dY @ Wm^T)``, each computed a band of output rows
at a time, so ``cols`` (``kh*kw`` times the size of ``x``) is never held whole: the layer
keeps ``x`` and backward rebuilds ``cols`` band by band. Each has a plain NumPy reference
beside it (``MINICNN_KERNELS=numpy`` runs those).
The first layer of a model (``needs_input_grad`` False) skips dx, its most expensive part.
"""

import numpy as np

from .. import initializers, kernels
from .base import Layer

__all__ = ["Conv2D", "to_pair", "check_padding", "image_window"]


def to_pair(value, name):
    """``3 -> (3, 3)``, ``(2, 3) -> (2, 3)``; ValueError unless positive integers."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair


def check_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


class Conv2D(Layer):
    """2-D convolution over NHWC images.

    Parameters
    ----------
    filters : int
        Number of output channels F.
    kernel_size : int or (int, int)
        Window (kh, kw).
    strides : int or (int, int)
        Step (sh, sw) between windows.
    padding : {"valid", "same"}
        As in Keras/TensorFlow (see the module docstring).
    use_bias : bool
        Add a learned bias per filter.
    kernel_initializer : str or callable
        Name for :func:`minicnn.initializers.get` (default ``"he_normal"``, the right
        choice before a ReLU), or ``f(shape, rng, dtype)``.
    name : str, optional

    Shapes
    ------
    input (N, H, W, C) -> output (N, Ho, Wo, filters); params ``W`` (kh, kw, C, filters)
    and ``b`` (filters,) (no ``b`` when ``use_bias`` is False). ``backward`` takes
    dL/dy (N, Ho, Wo, filters), fills ``grads["W"]`` and ``grads["b"]`` and returns
    dL/dx (N, H, W, C) (None for a first layer).

    Forward ``y = im2col(x) @ W.reshape(kh*kw*C, filters) + b``; backward
    ``dW = cols^T dY``, ``db = sum of dY``, ``dx = col2im(dY W^T)`` (module docstring;
    worked example in ``docs/kernels.md``). Tests: ``tests/layers/test_conv.py``.
    """

    kept_for_backward = ("x",)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", use_bias=True,
                 kernel_initializer="he_normal", name=None):
        super().__init__(name)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{self.name}: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = to_pair(kernel_size, f"{self.name}: kernel_size")
        self.strides = to_pair(strides, f"{self.name}: strides")
        self.padding = check_padding(padding)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer)  # fail now, not at build time, on a bad name
        self.kernel_initializer = kernel_initializer

    # --- shapes -----------------------------------------------------------------------
    def _window(self, input_shape):
        """The kernels' :class:`~minicnn.kernels.Window` for one example of ``input_shape``."""
        return image_window(self, input_shape, self.kernel_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        window = self._window(input_shape)
        return (window.out_h, window.out_w, self.filters)

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng=rng, dtype=dtype)
        rng = rng if rng is not None else np.random.default_rng()
        kh, kw = self.kernel_size
        shape = (kh, kw, self.input_shape[2], self.filters)
        self.params["W"] = np.ascontiguousarray(
            initializers.get(self.kernel_initializer)(shape, rng, dtype), dtype=dtype
        )
        self.grads["W"] = np.zeros_like(self.params["W"])
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=dtype)
            self.grads["b"] = np.zeros_like(self.params["b"])
        self.window = self._window(self.input_shape)

    # --- forward / backward -------------------------------------------------------------
    def forward(self, x, training=False):
        """``x`` (N, H, W, C) -> (N, Ho, Wo, filters); keeps ``x`` for backward."""
        Wm = self.params["W"].reshape(-1, self.filters)               # (kh*kw*C, F)
        self.x = x  # backward rebuilds cols from x, kh*kw times smaller than cols
        y = kernels.im2col_matmul(x, Wm, self.params.get("b"), self.window)  # cols @ Wm + b
        return y.reshape(x.shape[0], *self.output_shape)              # (N*Ho*Wo, F) is NHWC

    def backward(self, grad_out):
        """Fill ``grads`` (overwriting) and return dL/dx, or None for a first layer."""
        W = self.params["W"]
        Wm = W.reshape(-1, self.filters)
        dY = grad_out.reshape(-1, self.filters)                       # (N*Ho*Wo, F)
        dWm = kernels.im2col_t_matmul(self.x, dY, self.window)        # dW = cols^T dY
        self.grads["W"][...] = dWm.reshape(W.shape)
        if self.use_bias:
            self.grads["b"][...] = kernels.column_sums(dY)            # db = dY.sum(0)
        if not self.needs_input_grad:
            return None
        return kernels.col2im_matmul(dY, Wm.T, self.window)           # col2im(dY @ Wm^T)


def image_window(layer, input_shape, kernel_size, strides, padding):
    """The Window of ``kernel_size`` / ``strides`` over one ``(H, W, C)`` example.

    Raises ValueError naming ``layer`` when the example is not an image or is too small.
    """
    where = f"{layer.name} ({type(layer).__name__})"
    if len(input_shape) != 3:
        raise ValueError(f"{where}: expected images of shape (H, W, C) per example, "
                         f"got {tuple(input_shape)}")
    try:
        return kernels.Window.over(input_shape[:2], kernel_size, strides, padding)
    except ValueError as error:
        raise ValueError(f"{where}: input of shape {tuple(input_shape)}: {error}; use a larger "
                         "input, a smaller window or padding='same'") from None
