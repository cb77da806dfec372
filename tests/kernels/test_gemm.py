"""minicnn.kernels.gemm.matmul: a @ b in whichever orientation, same numbers."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels.gemm import matmul


@settings(deadline=None, max_examples=30)
@given(m=st.integers(1, 40), k=st.integers(1, 300), n=st.integers(1, 40),
       dtype=st.sampled_from([np.float32, np.float64]), transposed_a=st.booleans())
def test_matmul_equals_the_plain_product(m, k, n, dtype, transposed_a):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    # A transposed view as ``a`` is how Conv2D calls it (cols.T).
    a = rng.standard_normal((k, m)).astype(dtype).T if transposed_a else \
        rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    got = matmul(a, b)
    assert got.shape == (m, n) and got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=tol, atol=tol * np.sqrt(k))


def test_matmul_transposes_only_when_the_result_is_wide():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 7))
    assert matmul(a, b).flags.f_contiguous and not matmul(a, b).flags.c_contiguous  # (3, 7): via b.T @ a.T
    assert matmul(b.T, a.T).flags.c_contiguous                                        # (7, 3): as written
