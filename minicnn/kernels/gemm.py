"""One matrix product, oriented so that multi-threaded OpenBLAS stays fast.

``a @ b`` and ``(b.T @ a.T).T`` are the same numbers (up to rounding order). For the
products training needs with a very long inner axis, multi-threaded OpenBLAS (0.3.31,
the one NumPy wheels ship) is fast when the result has at least as many rows as
columns and collapses otherwise. Measured on the 2 cores here, busy machine, two
OpenBLAS threads (one thread in brackets):

======================================================  ==============  ===========
product (result rows x cols, inner axis)                as written      transposed
======================================================  ==============  ===========
conv2 dW: ``dY^T cols``  (64 x 288, inner 380,192)      9,660 ms (325)  253 ms (250)
conv3 dW: ``dY^T cols``  (128 x 576, inner 86,528)      2,160 ms (158)  228 ms (193)
conv1 dW: ``cols^T dY``  (27 x 32, inner 1,577,088)       404 ms (79)   152 ms (94)
Dense forward: ``x W``   (32 x 128, inner 86,528)       2,190 ms (18)    24 ms (18)
======================================================  ==============  ===========

Every row of the table is fixed by the one rule in :func:`matmul`: compute the
orientation whose result is the taller one.
"""

import numpy as np

__all__ = ["matmul"]


def matmul(a, b):
    """``a @ b`` for 2-D arrays, computed as ``(b.T @ a.T).T`` when that result is taller.

    Parameters
    ----------
    a : array, shape (m, k)
    b : array, shape (k, n)

    Returns
    -------
    array, shape (m, n)
        A C-contiguous array when ``m >= n``, else the transpose of a C-contiguous
        ``(n, m)`` array (an F-ordered view); small in every use here, so callers
        copy it into place (``grads[...] = ``) or make it contiguous if they care.
    """
    if a.shape[0] >= b.shape[1]:
        return a @ b
    return (b.T @ a.T).T
