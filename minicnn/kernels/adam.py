"""The Adam update, written twice: readable NumPy, and one fused Numba pass.

Why a kernel for a few lines of arithmetic? A big Dense layer has millions of weights
and Adam touches all of them every step. In NumPy each line of the reference is a
separate pass over memory (and most allocate a new array the size of the weights); the
fused loop reads p, g, m, v once and writes p, m, v once. See
``minicnn.optimizers.Adam`` for the math and ``benchmarks/`` for the figures.

Both update ``p``, ``m`` and ``v`` in place and return nothing; ``adam_update`` is the
entry (``minicnn.kernels.backend`` chooses the implementation).
"""

import math

import numba
import numpy as np

from .backend import fast_version_of

__all__ = ["adam_update", "adam_update_reference", "adam_update_numba"]


def adam_update_reference(p, g, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay=0.0):
    """Adam step ``t`` (1, 2, ...) on arrays of any shape, straight from the formulas.

    Python-float scalars keep float32 arrays in float32 (NumPy 2 treats them as "weak").
    """
    if weight_decay:
        p -= lr * weight_decay * p              # decoupled weight decay (AdamW)
    m[...] = beta_1 * m + (1 - beta_1) * g      # first moment: running mean of g
    v[...] = beta_2 * v + (1 - beta_2) * g * g  # second moment: running mean of g^2
    m_hat = m / (1 - beta_1**t)                 # bias correction: m and v start at 0
    v_hat = v / (1 - beta_2**t)
    p -= lr * m_hat / (np.sqrt(v_hat) + epsilon)


# error_model="numpy": a float division by zero gives inf as in NumPy instead of a
# Python exception; without it Numba checks every divisor and the loop cannot use SIMD.
# Serial on purpose: the loop is bound by memory bandwidth, so more threads only add
# the cost of waking them.
@numba.njit(cache=True, error_model="numpy")
def _adam_kernel(p, g, m, v, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                 step_size, inv_sqrt_bc2, epsilon, decay):
    # p, g, m, v: 1-D, contiguous, one dtype; every scalar already has that dtype, so a
    # float32 update stays in float32 (Numba would widen int/float64 literals).
    for i in range(p.size):
        gi = g[i]
        mi = beta_1 * m[i] + one_minus_beta_1 * gi
        vi = beta_2 * v[i] + one_minus_beta_2 * gi * gi
        m[i] = mi
        v[i] = vi
        # sqrt(v_hat) = sqrt(v) / sqrt(1 - beta_2^t);  m_hat = m / (1 - beta_1^t)
        p[i] = p[i] * decay - step_size * mi / (np.sqrt(vi) * inv_sqrt_bc2 + epsilon)


def adam_update_numba(p, g, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay=0.0):
    """The same step as ``adam_update_reference`` in one fused loop.

    ``p``, ``m``, ``v`` must be C-contiguous (they are updated through flat views);
    ``g`` is made contiguous and of p's dtype if it is not.
    """
    if not (p.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous):
        raise ValueError("adam_update_numba: p, m and v must be C-contiguous arrays")
    s = p.dtype.type  # every scalar in the parameters' own precision
    g = np.ascontiguousarray(g, dtype=p.dtype)
    _adam_kernel(
        p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
        s(beta_1), s(1 - beta_1), s(beta_2), s(1 - beta_2),
        s(lr / (1 - beta_1**t)), s(1 / math.sqrt(1 - beta_2**t)), s(epsilon),
        s(1 - lr * weight_decay),
    )


@fast_version_of(adam_update_reference)
def adam_update(p, g, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay=0.0):
    """The fused loop, except where it cannot be fast: strided arrays, or JIT disabled.

    With ``NUMBA_DISABLE_JIT=1`` the loop would run in Python over every weight, so the
    vectorised reference takes over: the same results.
    """
    if numba.config.DISABLE_JIT or not (
            p.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous):
        adam_update_reference(p, g, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay)
    else:
        adam_update_numba(p, g, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay)
