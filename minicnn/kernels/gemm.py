"""Matrix products as the layers write them, ``a @ b`` and ``dY.sum(axis=0)``, made fast.

``a @ b`` and ``(b.T @ a.T).T`` are the same numbers (up to rounding order). For the
products training needs, with a very long inner axis (a convolution's ``dW = cols.T @ dY``
sums over every output pixel of the batch), multi-threaded OpenBLAS is fast when the
result has at least as many rows as columns and can collapse otherwise. The fast
:func:`matmul` therefore computes the orientation whose result is the taller one, into
an array from the workspace pool; ``benchmarks/profile_layers.py`` measures it.

:func:`column_sums` is a bias gradient, ``dY.sum(axis=0)``; the fast version is the
matrix-vector product ``ones @ dY``, which BLAS runs faster than NumPy's column
reduction and accumulates more accurately.

Both run on one OpenBLAS thread, as every product of the fast kernels does: the cores
are shared out by the lanes (``kernels/lanes.py``, "One OpenBLAS thread", says why).
"""

import numpy as np

from . import workspace
from .lanes import one_blas_thread
from .backend import fast_version_of

__all__ = ["matmul", "matmul_reference", "column_sums", "column_sums_reference"]


def matmul_reference(a, b, out=None):
    """``a @ b`` for 2-D arrays (into ``out`` when given)."""
    return np.matmul(a, b, out=out)


@fast_version_of(matmul_reference)
def matmul(a, b, out=None):
    """``a @ b`` computed as ``(b.T @ a.T).T`` when that result is the taller one.

    Parameters
    ----------
    a : array, shape (m, k)
    b : array, shape (k, n)
    out : array (m, n), optional
        Written in place (computed as written: callers give ``out`` only for tall results).

    Returns
    -------
    array, shape (m, n), C-contiguous.
    """
    with one_blas_thread():  # the cores are the lanes' (kernels/lanes.py)
        if out is not None:
            return np.matmul(a, b, out=out)
        (m, _), (_, n) = a.shape, b.shape
        dtype = np.result_type(a.dtype, b.dtype)
        if m >= n:
            return np.matmul(a, b, out=workspace.output((m, n), dtype))
        # A wide result: the tall product, then one copy of the (small) result into C order.
        return np.ascontiguousarray((b.T @ a.T).T)


def column_sums_reference(dy):
    """``dy.sum(axis=0)`` for a 2-D ``dy``: shape (columns,)."""
    return dy.sum(axis=0)


_ONES = {}  # a vector of ones per dtype, kept between calls (it only ever reads as ones)


@fast_version_of(column_sums_reference)
def column_sums(dy):
    """``ones @ dy``: the column sums as one matrix-vector product."""
    ones = workspace.scratch(_ONES, dy.dtype.str, (dy.shape[0],), dy.dtype)
    ones.fill(1)
    with one_blas_thread():
        return ones @ dy
