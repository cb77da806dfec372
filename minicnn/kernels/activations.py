"""ReLU forward, y = max(x, 0) with its mask [x > 0], in NumPy and in Numba.

NumPy needs two passes over ``x`` (``np.greater`` into the mask, ``np.maximum`` into
``y``) on one thread; the Numba kernel makes one pass on every core. After the
original CNN's first convolution ``x`` is 200 MB: measured on 2 cores, 45 ms for the
two NumPy passes, 23 ms for the kernel. (The backward, ``dy * mask`` in place, is
one NumPy pass and stays in ``minicnn.layers.activations``.)
"""

import numba
import numpy as np

from . import backend

__all__ = ["relu_forward_reference", "relu_forward_numba", "relu_forward"]


def relu_forward_reference(x):
    """``(y, mask)`` with ``y = max(x, 0)`` in x's dtype and ``mask = x > 0`` (bool)."""
    return np.maximum(x, 0), x > 0  # the Python int 0 keeps x's dtype


# Elements per parallel task: big enough that scheduling costs nothing, small enough
# that both threads get work on small arrays.
_CHUNK = 1 << 16


@numba.njit(cache=True, parallel=True)
def relu_forward_numba(x, y, mask):
    """Fill ``y`` and ``mask`` (same shape as ``x``, C-contiguous) in one pass."""
    xf, yf, mf = x.reshape(-1), y.reshape(-1), mask.reshape(-1)  # views: all contiguous
    n = xf.size
    for task in numba.prange((n + _CHUNK - 1) // _CHUNK):
        for i in range(task * _CHUNK, min(n, (task + 1) * _CHUNK)):
            v = xf[i]
            mf[i] = v > 0
            # As np.maximum(x, 0): NaN stays NaN (v != v), -0.0 becomes +0.0.
            yf[i] = v if (v > 0 or v != v) else 0
    return y, mask


def relu_forward(x, out=None, mask=None):
    """ReLU forward into ``out`` and ``mask`` when given; returns ``(y, mask)``.

    Numba kernel, or the reference under ``MINICNN_KERNELS=numpy``.
    """
    x = np.ascontiguousarray(x)
    y = np.empty_like(x) if out is None else out
    mask = np.empty(x.shape, dtype=np.bool_) if mask is None else mask
    if backend.use_reference():  # MINICNN_KERNELS=numpy
        y[...], mask[...] = relu_forward_reference(x)
        return y, mask
    with backend.threads_for(x.size):
        return relu_forward_numba(x, y, mask)
