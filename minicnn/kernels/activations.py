"""ReLU forward, ``y = max(x, 0)`` with its mask ``[x > 0]``, in NumPy and in Numba.

NumPy needs two passes over ``x`` (``np.greater`` into the mask, ``np.maximum`` into
``y``) on one thread; the Numba loop makes one pass on every core, into arrays from the
workspace pool. (The backward, ``dy * mask`` in place, is one NumPy pass and stays in
``minicnn.layers.activations``.)
"""

import numba
import numpy as np

from . import workspace
from .backend import fast_version_of, threads_for

__all__ = ["relu", "relu_reference", "relu_numba"]


def relu_reference(x):
    """``(y, mask)`` with ``y = max(x, 0)`` in x's dtype and ``mask = x > 0`` (bool)."""
    return np.maximum(x, 0), x > 0  # the Python int 0 keeps x's dtype


# Elements per parallel task: big enough that scheduling costs nothing, small enough
# that both threads get work on small arrays.
_CHUNK = 1 << 16


@numba.njit(cache=True, parallel=True)
def relu_numba(x, y, mask):
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


@fast_version_of(relu_reference)
def relu(x):
    """``(y, mask)`` as :func:`relu_reference`, in one parallel pass."""
    x = np.ascontiguousarray(x)
    y, mask = workspace.output(x.shape, x.dtype), workspace.output(x.shape, np.bool_)
    with threads_for(x.size):
        return relu_numba(x, y, mask)
