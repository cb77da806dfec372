"""Batch normalisation's four Numba passes equal their NumPy references over drawn shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels import backend, batchnorm

# The kernels sum in a different order than NumPy (per task, then across tasks): equal up
# to rounding, a few units of the dtype's last place relative to the values summed.
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}

shapes = st.tuples(st.integers(1, 9000), st.integers(1, 9))   # m rows crosses _ROWS_PER_TASK


def draw(m, c, dtype, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    # Columns with their own offset and scale, as real activations have.
    return (rng.standard_normal((m, c)) * rng.uniform(0.1, 5, c) + shift + rng.normal(0, 3, c)).astype(dtype)


@settings(deadline=None, max_examples=25)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_mean_var_equals_reference(shape, dtype, seed):
    x = draw(*shape, dtype, seed)
    mean, var = batchnorm.mean_var.fast(x)
    mean_ref, var_ref = batchnorm.mean_var_reference(x)
    assert mean.dtype == var.dtype == np.float64 and mean.shape == (shape[1],)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, var_ref, rtol=1e-10, atol=1e-12)


def test_variance_is_stable_far_from_zero():
    # A sum-of-squares formula would cancel catastrophically here; two passes do not.
    x = (1e4 + np.random.default_rng(0).standard_normal((50_000, 3))).astype(np.float32)
    mean, var = batchnorm.mean_var.fast(x)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=0), rtol=1e-6)


@settings(deadline=None, max_examples=25)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_normalize_equals_reference(shape, dtype, seed):
    m, c = shape
    x = draw(m, c, dtype, seed)
    rng = np.random.default_rng(seed + 1)
    vectors = [rng.normal(0, 1, c).astype(dtype), rng.uniform(0.2, 3, c).astype(dtype),
               rng.normal(1, 0.5, c).astype(dtype), rng.normal(0, 0.5, c).astype(dtype)]
    x_hat, y = batchnorm.normalize.fast(x, *vectors)
    x_hat_ref, y_ref = batchnorm.normalize_reference(x, *vectors)
    assert x_hat.dtype == y.dtype == dtype
    np.testing.assert_allclose(x_hat, x_hat_ref, **TOL[dtype])
    np.testing.assert_allclose(y, y_ref, **TOL[dtype])


@settings(deadline=None, max_examples=25)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_backward_passes_equal_reference(shape, dtype, seed):
    m, c = shape
    dy, x_hat = draw(m, c, dtype, seed), draw(m, c, dtype, seed + 1)
    sums, sums_ref = batchnorm.grad_sums.fast(dy, x_hat), batchnorm.grad_sums_reference(dy, x_hat)
    for got, ref in zip(sums, sums_ref):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * m)
    rng = np.random.default_rng(seed + 2)
    scale, dbeta_m, dgamma_m = (rng.normal(0, 1, c).astype(dtype) for _ in range(3))
    dx = batchnorm.input_grad.fast(dy, x_hat, scale, dbeta_m, dgamma_m)
    dx_ref = batchnorm.input_grad_reference(dy, x_hat, scale, dbeta_m, dgamma_m)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, dx_ref, **TOL[dtype])


def test_big_batch_on_both_threads_and_in_place():
    # Above backend.PARALLEL_MIN_ELEMENTS the kernels run on every core; input_grad may
    # write over dy (the layer does).
    dy, x_hat = draw(200_000, 8, np.float32, 0), draw(200_000, 8, np.float32, 1)
    scale, dbeta_m, dgamma_m = np.float32([0.5] * 8), np.float32([0.1] * 8), np.float32([-0.2] * 8)
    expected = batchnorm.input_grad_reference(dy, x_hat, scale, dbeta_m, dgamma_m)
    out = batchnorm.input_grad.fast(dy, x_hat, scale, dbeta_m, dgamma_m, out=dy)
    assert out is dy
    np.testing.assert_allclose(dy, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_entry_points_follow_the_switch(kernels, monkeypatch):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    x = draw(100, 4, np.float32, 3)
    mean, var = batchnorm.mean_var(x)
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, x.var(axis=0), rtol=1e-4)
    inv_std = 1 / np.sqrt(var + 1e-3)
    ran = []
    for name in ("fast", "reference"):
        real = getattr(batchnorm.normalize, name)
        monkeypatch.setattr(batchnorm.normalize, name,
                            lambda *a, real=real, name=name: ran.append(name) or real(*a))
    x_hat, y = batchnorm.normalize(x, mean, inv_std, np.ones(4), np.zeros(4))
    assert ran == ["reference" if kernels == "numpy" else "fast"]
    np.testing.assert_allclose(x_hat.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y, x_hat)
