"""Batch normalisation's passes over the data, in NumPy and in Numba.

The layer (``minicnn.layers.normalization``) sees an (N, H, W, C) batch as a matrix
``x`` of shape (m, C), m = N*H*W rows, one column per channel (a free reshape: the
channels are the last, contiguous axis). Everything it does is four passes over such
matrices:

====================  =================================================  =============
pass                  computes (per channel k, sums over the m rows)     used in
====================  =================================================  =============
``mean_var``          mu = sum(x) / m,  var = sum((x - mu)^2) / m        forward (training)
``normalize``         x_hat = (x - mu) * inv_std,  y = gamma x_hat + beta forward
``grad_sums``         dbeta = sum(dy),  dgamma = sum(dy * x_hat)         backward
``input_grad``        dx = scale * (dy - dbeta/m - x_hat * dgamma/m)     backward (training)
====================  =================================================  =============

Why kernels: after a first convolution x can hold tens of millions of numbers.
NumPy makes a temporary array for almost every operator and
reduces the (m, C) matrix down its columns with strided reads; the Numba kernels read
each input once per pass, split the rows between the cores, and keep each core's
per-channel sums in float64 (tens of millions of float32 additions would lose digits).
Each ``*_reference`` is the plain NumPy meaning; ``minicnn.kernels.backend`` chooses
between it and the fast entry of the same name; the tests hold the two to each other.
"""

import numba
import numpy as np

from . import workspace
from .backend import fast_version_of, threads_for

__all__ = [
    "mean_var", "mean_var_reference", "normalize", "normalize_reference",
    "grad_sums", "grad_sums_reference", "input_grad", "input_grad_reference",
]

# Rows per parallel task: enough work per task that scheduling is free, and enough tasks
# that both cores get some even for small batches.
_ROWS_PER_TASK = 4096


def _tasks(m):
    return max(1, (m + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK)


# --- the NumPy references -------------------------------------------------------------
def mean_var_reference(x):
    """Per-column mean and biased variance of (m, C) ``x``, both float64 of shape (C,)."""
    mean = x.mean(axis=0, dtype=np.float64)
    return mean, np.mean((x - mean) ** 2, axis=0)


def normalize_reference(x, mean, inv_std, gamma, beta):
    """``(x_hat, y)`` with ``x_hat = (x - mean) * inv_std`` and ``y = gamma * x_hat + beta``."""
    x_hat = ((x - mean) * inv_std).astype(x.dtype)
    return x_hat, (gamma * x_hat + beta).astype(x.dtype)


def grad_sums_reference(dy, x_hat):
    """``(sum(dy), sum(dy * x_hat))`` down the columns, float64 of shape (C,)."""
    return dy.sum(axis=0, dtype=np.float64), (dy.astype(np.float64) * x_hat).sum(axis=0)


def input_grad_reference(dy, x_hat, scale, dbeta_m, dgamma_m, out=None):
    """``scale * (dy - dbeta_m - x_hat * dgamma_m)``, each (C,) vector broadcast down the rows.

    Into ``out`` when given (``out=dy`` is allowed: the layer writes dx over dy).
    """
    dx = (scale * (dy - dbeta_m - x_hat * dgamma_m)).astype(dy.dtype)
    if out is None:
        return dx
    out[...] = dx
    return out


# --- the Numba kernels ----------------------------------------------------------------
@numba.njit(cache=True, parallel=True)
def _column_power_sums(x, centre, power, tasks):
    """Per-column ``sum((x - centre)^power)`` of (m, C) ``x``, power 1 or 2, in float64.

    Each task sums its rows, then the tasks add up. The mean is the power-1 sum about 0;
    the variance the power-2 sum about the mean (the stable second pass).
    """
    m, c = x.shape
    rows = (m + tasks - 1) // tasks
    partial = np.zeros((tasks, c))
    for t in numba.prange(tasks):
        acc = np.zeros(c)
        for i in range(t * rows, min(m, (t + 1) * rows)):
            for k in range(c):
                d = x[i, k] - centre[k]
                acc[k] += d if power == 1 else d * d
        partial[t] = acc
    return partial.sum(axis=0)


@numba.njit(cache=True, parallel=True)
def _normalize(x, mean, inv_std, gamma, beta, x_hat, y, tasks):
    m, c = x.shape
    rows = (m + tasks - 1) // tasks
    for t in numba.prange(tasks):
        for i in range(t * rows, min(m, (t + 1) * rows)):
            for k in range(c):
                h = (x[i, k] - mean[k]) * inv_std[k]
                x_hat[i, k] = h
                y[i, k] = gamma[k] * h + beta[k]


@numba.njit(cache=True, parallel=True)
def _grad_sums(dy, x_hat, tasks):
    m, c = dy.shape
    rows = (m + tasks - 1) // tasks
    partial = np.zeros((tasks, 2, c))
    for t in numba.prange(tasks):
        sum_dy, sum_dy_xhat = np.zeros(c), np.zeros(c)
        for i in range(t * rows, min(m, (t + 1) * rows)):
            for k in range(c):
                g = np.float64(dy[i, k])   # the product in float64 too, as the sum
                sum_dy[k] += g
                sum_dy_xhat[k] += g * x_hat[i, k]
        partial[t, 0] = sum_dy
        partial[t, 1] = sum_dy_xhat
    total = partial.sum(axis=0)
    return total[0], total[1]


@numba.njit(cache=True, parallel=True)
def _input_grad(dy, x_hat, scale, dbeta_m, dgamma_m, dx, tasks):
    m, c = dy.shape
    rows = (m + tasks - 1) // tasks
    for t in numba.prange(tasks):
        for i in range(t * rows, min(m, (t + 1) * rows)):
            for k in range(c):
                dx[i, k] = scale[k] * (dy[i, k] - dbeta_m[k] - x_hat[i, k] * dgamma_m[k])


# --- the fast entries: the Numba loops, outputs from the workspace pool ---------------
@fast_version_of(mean_var_reference)
def mean_var(x):
    """Per-column mean and biased variance of (m, C) ``x``: float64 arrays of shape (C,)."""
    x = np.ascontiguousarray(x)
    tasks = _tasks(x.shape[0])
    with threads_for(x.size):
        mean = _column_power_sums(x, np.zeros(x.shape[1]), 1, tasks) / x.shape[0]
        return mean, _column_power_sums(x, mean, 2, tasks) / x.shape[0]


@fast_version_of(normalize_reference)
def normalize(x, mean, inv_std, gamma, beta):
    """``(x_hat, y)``, both (m, C) like ``x``; the (C,) vectors are used in x's dtype."""
    x = np.ascontiguousarray(x)
    x_hat, y = workspace.output(x.shape, x.dtype), workspace.output(x.shape, x.dtype)
    vectors = [np.ascontiguousarray(v, dtype=x.dtype) for v in (mean, inv_std, gamma, beta)]
    with threads_for(x.size):
        _normalize(x, *vectors, x_hat, y, _tasks(x.shape[0]))
    return x_hat, y


@fast_version_of(grad_sums_reference)
def grad_sums(dy, x_hat):
    """``(sum(dy), sum(dy * x_hat))`` down the columns of (m, C) arrays, float64 (C,)."""
    dy, x_hat = np.ascontiguousarray(dy), np.ascontiguousarray(x_hat)
    with threads_for(dy.size):
        return _grad_sums(dy, x_hat, _tasks(dy.shape[0]))


@fast_version_of(input_grad_reference)
def input_grad(dy, x_hat, scale, dbeta_m, dgamma_m, out=None):
    """``scale * (dy - dbeta_m - x_hat * dgamma_m)``, an (m, C) array like ``dy`` (or ``out``)."""
    dy, x_hat = np.ascontiguousarray(dy), np.ascontiguousarray(x_hat)
    out = workspace.output(dy.shape, dy.dtype) if out is None else out
    vectors = [np.ascontiguousarray(v, dtype=dy.dtype) for v in (scale, dbeta_m, dgamma_m)]
    with threads_for(dy.size):
        _input_grad(dy, x_hat, *vectors, out, _tasks(dy.shape[0]))
    return out
