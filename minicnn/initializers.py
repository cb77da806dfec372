"""Weight initialisers: how big should the first random weights be?

A layer's output is a sum of ``fan_in`` products ``w * x``. If each weight has variance
``v``, the output's variance is about ``fan_in * v * Var(x)``: too small and the signal
fades layer after layer, too large and it explodes. Variance scaling picks ``v`` so
that the signal keeps its size:

* He (Kaiming), for ReLU networks: ``Var(w) = 2 / fan_in`` (ReLU zeroes half the inputs,
  the 2 puts that half back).
* Glorot (Xavier), for symmetric activations: ``Var(w) = 2 / (fan_in + fan_out)``, a
  compromise between keeping the forward signal and the backward gradient.

Each comes in two distributions, as in Keras:

* ``*_uniform``: uniform on ``[-limit, limit]`` with ``limit = sqrt(3 * Var)``
  (a uniform on ``[-a, a]`` has variance ``a**2 / 3``).
* ``*_normal``: a normal truncated at two standard deviations (values beyond are drawn
  again), rescaled so the variance AFTER truncation is ``Var``. Cutting the tails removes
  variance: a standard normal cut at +-2 has standard deviation 0.8796..., so Keras
  draws with ``stddev = sqrt(Var) / 0.8796...``.

Fans follow Keras: a kernel ``(kh, kw, C_in, C_out)`` has ``fan_in = kh*kw*C_in`` and
``fan_out = kh*kw*C_out``; a dense matrix ``(in, out)`` has ``fan_in = in``, ``fan_out = out``.

Every initialiser has the signature ``init(shape, rng, dtype) -> array``, and
``get(name)`` returns one by its Keras name.
"""

import math

import numpy as np

__all__ = [
    "compute_fans",
    "he_normal",
    "he_uniform",
    "glorot_normal",
    "glorot_uniform",
    "zeros",
    "ones",
    "get",
]

# Standard deviation of a standard normal truncated to [-2, 2]:
# sqrt(1 - 2 * 2 * pdf(2) / (cdf(2) - cdf(-2))).
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape):
    """Return ``(fan_in, fan_out)`` for a weight of ``shape``, the Keras way.

    ``()`` -> (1, 1); ``(n,)`` -> (n, n); ``(in, out)`` -> (in, out);
    ``(..., in, out)`` -> (receptive * in, receptive * out) where ``receptive`` is the
    product of the leading (spatial) dimensions.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _rng(rng):
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    return rng


def _truncated_normal(shape, stddev, rng, dtype):
    """Normal(0, stddev) values, each outside [-2 stddev, 2 stddev] drawn again."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():  # about 4.6 % of draws land outside; a few rounds suffice
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * stddev).astype(dtype)


def _uniform(shape, limit, rng, dtype):
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng=None, dtype=np.float32):
    """Truncated normal with variance ``2 / fan_in`` (after truncation)."""
    fan_in, _ = compute_fans(shape)
    stddev = math.sqrt(2.0 / max(1, fan_in)) / _TRUNCATED_STD
    return _truncated_normal(shape, stddev, _rng(rng), dtype)


def he_uniform(shape, rng=None, dtype=np.float32):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""
    fan_in, _ = compute_fans(shape)
    return _uniform(shape, math.sqrt(6.0 / max(1, fan_in)), _rng(rng), dtype)


def glorot_normal(shape, rng=None, dtype=np.float32):
    """Truncated normal with variance ``2 / (fan_in + fan_out)`` (after truncation)."""
    fan_in, fan_out = compute_fans(shape)
    stddev = math.sqrt(2.0 / max(1, fan_in + fan_out)) / _TRUNCATED_STD
    return _truncated_normal(shape, stddev, _rng(rng), dtype)


def glorot_uniform(shape, rng=None, dtype=np.float32):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = compute_fans(shape)
    return _uniform(shape, math.sqrt(6.0 / max(1, fan_in + fan_out)), _rng(rng), dtype)


def zeros(shape, rng=None, dtype=np.float32):
    """All zeros (the usual start for biases)."""
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng=None, dtype=np.float32):
    """All ones (the usual start for a normalisation's scale)."""
    return np.ones(shape, dtype=dtype)


_BY_NAME = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "zeros": zeros,
    "ones": ones,
}


def get(name):
    """Return the initialiser called ``name`` (a Keras name), or ``name`` itself if callable.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if callable(name):
        return name
    if isinstance(name, str) and name.lower() in _BY_NAME:
        return _BY_NAME[name.lower()]
    raise ValueError(
        f"unknown initializer {name!r}; choose one of {sorted(_BY_NAME)} or pass a callable "
        "f(shape, rng, dtype)"
    )
