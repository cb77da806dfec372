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

Speed notes
-----------
* ``cols`` is kept from forward for ``dW`` in an array reused between steps; ``y``,
  ``dcols`` and ``dx`` come from ``minicnn.kernels.workspace``'s pool (reused once
  nobody holds them), so memory stays flat across steps and no step pays for fresh pages.
* The first layer of a model (``needs_input_grad`` False) skips ``dcols`` and col2im,
  its most expensive part (the biggest activation).
* ``dcols`` is built a few images at a time, so it never holds the whole batch.
* The im2col/col2im loops run in Numba (``minicnn.kernels.im2col``); the NumPy
  references there show the same computation plainly.
"""

import numba
import numpy as np

from .. import initializers
from ..kernels import workspace
from ..kernels.gemm import matmul
from ..kernels.im2col import col2im, conv_output_size, im2col
from .base import Layer

__all__ = ["Conv2D", "to_pair"]

# Backward builds dcols = dY @ Wm^T in chunks of whole images of about this many
# elements (128 MB in float32) instead of all at once (438 MB for the original CNN's
# second layer). Measured per training step of that model: single-threaded CPU time
# 2.13 s with 32 MB chunks, 2.08 s with 128 MB, 2.28 s with 512 MB; with two threads
# on a busy machine 3.19 / 2.91 / 2.75 s, because every chunk is two more calls
# (GEMM, col2im) that each wait to wake the other thread.
_DCOLS_CHUNK_ELEMENTS = 1 << 25


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
        self._buffers = {}

    # --- shapes -----------------------------------------------------------------------
    def _geometry(self, input_shape):
        """(Ho, Wo, pad_top, pad_left) for one example of ``input_shape``; validated."""
        if len(input_shape) != 3:
            raise ValueError(
                f"{self.name} (Conv2D): expected images of shape (H, W, C) per example, "
                f"got {tuple(input_shape)}"
            )
        h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        out_h, pad_top, _ = conv_output_size(h, kh, sh, self.padding)
        out_w, pad_left, _ = conv_output_size(w, kw, sw, self.padding)
        if out_h <= 0 or out_w <= 0:
            raise ValueError(
                f"{self.name} (Conv2D): input of shape {tuple(input_shape)} is smaller than "
                f"the kernel {self.kernel_size} with padding 'valid'; use a larger input, "
                "a smaller kernel or padding='same'"
            )
        return out_h, out_w, pad_top, pad_left

    def compute_output_shape(self, input_shape):
        out_h, out_w, _, _ = self._geometry(input_shape)
        return (out_h, out_w, self.filters)

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
        self._geom = self._geometry(self.input_shape)

    # --- forward / backward -------------------------------------------------------------
    def forward(self, x, training=False):
        """``x`` (N, H, W, C) -> (N, Ho, Wo, filters); keeps ``cols`` for backward."""
        out_h, out_w, pad_top, pad_left = self._geom
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        n, _, _, c = x.shape
        W = self.params["W"]
        dtype = np.result_type(x.dtype, W.dtype)
        x = np.ascontiguousarray(x, dtype=dtype)
        # cols and y live in arrays reused between steps (minicnn.kernels.workspace): at
        # these sizes a fresh array costs more than the arithmetic that fills it.
        cols = workspace.scratch(self._buffers, "cols", (n * out_h * out_w, kh * kw * c), dtype)
        im2col(x, kh, kw, sh, sw, pad_top, pad_left, out_h, out_w, out=cols)
        y = workspace.output((n * out_h * out_w, self.filters), dtype)
        np.matmul(cols, W.reshape(kh * kw * c, self.filters), out=y)  # (N*Ho*Wo, F): NHWC
        if self.use_bias:
            y += self.params["b"]
        self.cols, self.x_shape = cols, x.shape
        return y.reshape(n, out_h, out_w, self.filters)

    def backward(self, grad_out):
        """Fill ``grads`` (overwriting) and return dL/dx, or None for a first layer."""
        out_h, out_w, pad_top, pad_left = self._geom
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        W = self.params["W"]
        cols = self.cols
        dy = np.ascontiguousarray(grad_out, dtype=cols.dtype).reshape(-1, self.filters)
        # dW = cols^T dY. kernels.gemm.matmul picks the orientation (this or (dY^T cols)^T)
        # in which multi-threaded OpenBLAS does not collapse (up to 40x) on the long inner
        # axis. "=" into the existing array, so nothing accumulates across steps.
        self.grads["W"][...] = matmul(cols.T, dy).reshape(W.shape)
        if self.use_bias:
            # db = the column sums of dY, as a matrix-vector product with ones: BLAS does
            # it 3x faster than dy.sum(axis=0) here (13 vs 37 ms for the first layer's
            # 1.6M rows) and accumulates more accurately.
            ones = workspace.scratch(self._buffers, "ones", (dy.shape[0],), dy.dtype)
            ones.fill(1)
            self.grads["b"][...] = ones @ dy
        if not self.needs_input_grad:
            return None
        # dx = col2im(dY @ Wm^T), a few images at a time: the full dcols would be as big
        # as cols (438 MB for the second layer of the pneumonia CNN); chunks of about
        # _DCOLS_CHUNK_ELEMENTS save most of that memory and measured no slower here.
        n = self.x_shape[0]
        rows = out_h * out_w  # rows of cols per image
        per_chunk = max(numba.get_num_threads(), _DCOLS_CHUNK_ELEMENTS // cols.shape[1] // rows, 1)
        per_chunk = min(per_chunk, n)
        dcols = workspace.output((per_chunk * rows, cols.shape[1]), cols.dtype)
        Wt = W.reshape(cols.shape[1], self.filters).T
        dx = workspace.output(self.x_shape, cols.dtype)
        for start in range(0, n, per_chunk):
            stop = min(start + per_chunk, n)
            part = dcols[: (stop - start) * rows]
            np.matmul(dy[start * rows : stop * rows], Wt, out=part)
            col2im(part, (stop - start,) + self.x_shape[1:], kh, kw, sh, sw,
                   pad_top, pad_left, out_h, out_w, out=dx[start:stop])
        return dx
