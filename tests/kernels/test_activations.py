"""The ReLU forward kernel equals its NumPy reference, bit for bit, over drawn shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels import backend
from minicnn.kernels.activations import relu, relu_numba, relu_reference


@settings(deadline=None, max_examples=30)
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=4),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_kernel_equals_reference(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[:: 7] = 0  # exact zeros: slope 0 there, as Keras and PyTorch
    y_ref, mask_ref = relu_reference(x)
    y, mask = relu_numba(x, np.empty_like(x), np.empty(x.shape, np.bool_))
    assert y.dtype == dtype and mask.dtype == np.bool_
    np.testing.assert_array_equal(y.view(np.uint8), y_ref.view(np.uint8))  # same bits
    np.testing.assert_array_equal(mask, mask_ref)


def test_special_values_match_numpy_maximum():
    x = np.array([-1.0, 0.0, -0.0, 2.0, np.nan, -np.inf, np.inf], np.float32)
    y, mask = relu.fast(x)
    y_ref, mask_ref = relu_reference(x)
    np.testing.assert_array_equal(y.view(np.uint32), y_ref.view(np.uint32))  # -0.0 -> +0.0, NaN kept
    np.testing.assert_array_equal(mask, mask_ref)


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_entry_follows_the_switch(kernels, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4, 2)).astype(np.float32)
    monkeypatch.setattr(backend, "KERNELS", kernels)
    ran = []
    for name in ("fast", "reference"):
        real = getattr(relu, name)
        monkeypatch.setattr(relu, name, lambda x, real=real, name=name: ran.append(name) or real(x))
    y, m = relu(x)
    assert ran == ["reference" if kernels == "numpy" else "fast"]
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(m, x > 0)
