"""minicnn.kernels.gemm: matmul (a @ b in whichever orientation) and column_sums equal NumPy."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.kernels.gemm import column_sums, column_sums_reference, matmul, matmul_reference


@settings(deadline=None, max_examples=30)
@given(m=st.integers(1, 40), k=st.integers(1, 300), n=st.integers(1, 40),
       dtype=st.sampled_from([np.float32, np.float64]), transposed_a=st.booleans())
def test_matmul_equals_the_plain_product(m, k, n, dtype, transposed_a):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    # A transposed view as ``a`` is how Conv2D calls it (cols.T).
    a = rng.standard_normal((k, m)).astype(dtype).T if transposed_a else \
        rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    got = matmul.fast(a, b)
    assert got.shape == (m, n) and got.dtype == dtype and got.flags.c_contiguous
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=tol, atol=tol * np.sqrt(k))
    np.testing.assert_allclose(matmul_reference(a, b), got, rtol=tol, atol=tol * np.sqrt(k))
    out = np.full((m, n), np.nan, dtype)
    assert matmul.fast(a, b, out=out) is out
    np.testing.assert_allclose(out, got, rtol=tol, atol=tol * np.sqrt(k))


def test_matmul_computes_a_wide_result_as_the_tall_product(monkeypatch):
    import minicnn.kernels.gemm as gemm

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 7))
    shapes = []
    real = np.matmul
    monkeypatch.setattr(gemm.np, "matmul", lambda x, y, **k: shapes.append(x.shape) or real(x, y, **k))
    matmul.fast(b.T, a.T)                  # (7, 3): as written, through np.matmul
    assert shapes == [(7, 5)]
    got = matmul.fast(a, b)                # (3, 7): computed as (b.T @ a.T).T, no np.matmul call
    assert shapes == [(7, 5)] and got.flags.c_contiguous
    np.testing.assert_allclose(got, a @ b, rtol=1e-12)


@settings(deadline=None, max_examples=20)
@given(m=st.integers(1, 500), n=st.integers(1, 20), dtype=st.sampled_from([np.float32, np.float64]))
def test_column_sums_equal_the_reference(m, n, dtype):
    dy = np.random.default_rng(m + n).standard_normal((m, n)).astype(dtype)
    got = column_sums.fast(dy)
    assert got.shape == (n,) and got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, column_sums_reference(dy), rtol=tol, atol=tol * np.sqrt(m))
    np.testing.assert_allclose(column_sums.fast(dy[: m // 2 + 1]), dy[: m // 2 + 1].sum(0),
                               rtol=tol, atol=tol * np.sqrt(m))  # a shorter call after a longer one
