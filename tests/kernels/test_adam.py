"""The Adam update: the fused Numba loop equals its NumPy reference, and stays fast."""

import math
import tracemalloc

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn.kernels import backend
from minicnn.kernels.adam import _adam_kernel, adam_update, adam_update_numba, adam_update_reference
from minicnn.optimizers import Adam

FAST = settings(deadline=None, max_examples=25)


@FAST
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
       dtype=st.sampled_from([np.float32, np.float64]), steps=st.integers(1, 4),
       weight_decay=st.sampled_from([0.0, 0.01]), seed=st.integers(0, 2**16))
def test_fused_kernel_equals_numpy_reference(shape, dtype, steps, weight_decay, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape).astype(dtype)
    arrays = {"fused": [p0.copy(), np.zeros_like(p0), np.zeros_like(p0)],
              "reference": [p0.copy(), np.zeros_like(p0), np.zeros_like(p0)],
              "python": [p0.copy(), np.zeros_like(p0), np.zeros_like(p0)]}
    for t in range(1, steps + 1):
        g = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3)).astype(dtype)
        hyper = (1e-2, 0.9, 0.999, 1e-7, t, weight_decay)
        adam_update_numba(*arrays["fused"][:1], g, *arrays["fused"][1:], *hyper)
        adam_update_reference(*arrays["reference"][:1], g, *arrays["reference"][1:], *hyper)
        # the kernel's own source run by the Python interpreter (what NUMBA_DISABLE_JIT=1 does)
        s = np.dtype(dtype).type
        p, m, v = (a.reshape(-1) for a in arrays["python"])
        lr, b1, b2, eps = hyper[:4]
        getattr(_adam_kernel, "py_func", _adam_kernel)(p, g.reshape(-1), m, v, s(b1), s(1 - b1), s(b2), s(1 - b2),
                             s(lr / (1 - b1**t)), s(1 / math.sqrt(1 - b2**t)), s(eps), s(1 - lr * weight_decay))
    tol = {"rtol": 2e-6, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-15}
    for name in ("fused", "python"):
        for got, want in zip(arrays[name], arrays["reference"]):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, **tol)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="with the JIT off Adam uses the NumPy reference")
def test_fused_update_makes_no_full_size_temporaries():
    n = 1_000_000
    p, g = np.ones(n, np.float32), np.full(n, 0.1, np.float32)
    opt = Adam()
    opt.step([p], [g])  # creates m and v, compiles
    tracemalloc.start()
    opt.step([p], [g])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * n / 4, f"peak {peak} bytes: a full-size temporary was made"


def test_strided_parameters_fall_back_to_the_reference():
    base = np.zeros((4, 6))
    p = base[:, ::2]  # not contiguous: the kernel's flat view would be a copy
    adam_update(p, np.ones((4, 3)), np.zeros((4, 3)), np.zeros((4, 3)), 0.1, 0.9, 0.999, 1e-7, 1)
    np.testing.assert_allclose(base[:, ::2], -0.1, rtol=1e-6)
    assert not base[:, 1::2].any()
    with pytest.raises(ValueError, match="contiguous"):
        adam_update_numba(p, np.ones((4, 3)), np.zeros((4, 3)), np.zeros((4, 3)), 0.1, 0.9, 0.999, 1e-7, 1)


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_adam_entry_follows_the_switch(kernels, monkeypatch):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    ran = []
    for name in ("fast", "reference"):
        real = getattr(adam_update, name)
        monkeypatch.setattr(adam_update, name,
                            lambda *a, real=real, name=name: ran.append(name) or real(*a))
    p = np.zeros(3, np.float32)
    Adam(learning_rate=0.5).step([p], [np.array([1.0, -2.0, 0.0], np.float32)])
    assert ran == ["reference" if kernels == "numpy" else "fast"]
    np.testing.assert_allclose(p, [-0.5, 0.5, 0.0], atol=1e-6)
