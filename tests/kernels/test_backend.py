"""MINICNN_KERNELS=numpy routes the layers to the NumPy reference kernels, with the same results."""

import os
import subprocess
import sys

import numpy as np
import pytest

from minicnn.kernels import backend
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.pooling import MaxPool2D
from minicnn.model import Sequential

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(code, value):
    env = dict(os.environ, MINICNN_KERNELS=value, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


# Records which implementation of every kernel entry one training step ran.
_PROBE = """
import numpy as np
from minicnn import kernels
from minicnn.kernels import backend, batchnorm
entries = {"im2col_matmul": kernels.im2col_matmul, "im2col_t_matmul": kernels.im2col_t_matmul,
           "col2im_matmul": kernels.col2im_matmul,
           "matmul": kernels.matmul, "column_sums": kernels.column_sums, "relu": kernels.relu,
           "maxpool_forward": kernels.maxpool_forward, "maxpool_backward": kernels.maxpool_backward,
           "mean_var": batchnorm.mean_var, "normalize": batchnorm.normalize,
           "grad_sums": batchnorm.grad_sums, "input_grad": batchnorm.input_grad,
           "adam_update": kernels.adam_update}
calls = set()
for entry_name, entry in entries.items():
    for kind in ("fast", "reference"):
        real = getattr(entry, kind)
        setattr(entry, kind, lambda *a, real=real, tag=entry_name + "_" + kind, **k:
                calls.add(tag) or real(*a, **k))
from minicnn.layers import BatchNormalization, Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.model import Sequential
m = Sequential([Conv2D(2, 3), BatchNormalization(), ReLU(), Conv2D(2, 3), MaxPool2D(2), Flatten(),
                Dense(1)], input_shape=(8, 8, 1), seed=0)
m.compile(optimizer="adam", loss="binary_crossentropy")
x = np.random.default_rng(0).standard_normal((2, 8, 8, 1)).astype(np.float32)
m.train_on_batch(x, np.array([0.0, 1.0], np.float32))
print(backend.KERNELS, sorted(calls))
"""

_ENTRIES = {"im2col_matmul", "im2col_t_matmul", "col2im_matmul", "matmul", "column_sums", "relu", "maxpool_forward",
            "maxpool_backward", "mean_var", "normalize", "grad_sums", "input_grad", "adam_update"}


@pytest.mark.parametrize("value, used", [
    ("numpy", "reference"),
    ("numba", "numba"),
    ("", "numba"),  # unset or empty: the default
])
def test_environment_variable_selects_the_kernels(value, used):
    done = _run(_PROBE, value)
    assert done.returncode == 0, done.stderr
    chosen, called = done.stdout.strip().split(" ", 1)
    assert chosen == (value or "numba")
    called = eval(called)  # a list of names printed by the probe
    # Every entry the step uses went through the chosen implementation, and only that one.
    assert set(called) == {f"{name}_{'reference' if used == 'reference' else 'fast'}"
                           for name in _ENTRIES}, called


def test_unknown_value_is_a_clear_error():
    done = _run("import minicnn", "cuda")
    assert done.returncode != 0
    assert "MINICNN_KERNELS='cuda'" in done.stderr and "numpy" in done.stderr


def _step(kernels, monkeypatch, dtype):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    rng = np.random.default_rng(1)
    model = Sequential([Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(3, 2, strides=2),
                        ReLU(), MaxPool2D(3, strides=1, padding="same")],
                       input_shape=(11, 10, 2), seed=0, dtype=dtype)
    x = rng.standard_normal((3, 11, 10, 2)).astype(dtype)
    y = model.forward(x, training=True)
    g = rng.standard_normal(y.shape).astype(dtype)
    for layer in reversed(model.layers[1:]):
        g = layer.backward(g)
    model.layers[0].backward(g)
    grads = [l.grads[k].copy() for l in model.layers for k in l.grads]
    return y.copy(), g.copy(), grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_and_numba_kernels_give_the_same_model_results(monkeypatch, dtype):
    y_ref, g_ref, grads_ref = _step("numpy", monkeypatch, dtype)
    y_fast, g_fast, grads_fast = _step("numba", monkeypatch, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y_fast, y_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(g_fast, g_ref, rtol=tol, atol=tol)
    for a, b in zip(grads_fast, grads_ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_small_calls_run_on_one_thread_and_restore_the_thread_count(monkeypatch):
    import numba

    seen = []
    real_set = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: seen.append(n) or real_set(n))
    before = numba.get_num_threads()
    with backend.threads_for(10):
        inside = numba.get_num_threads()
    with backend.threads_for(backend.PARALLEL_MIN_ELEMENTS):
        big = numba.get_num_threads()
    assert numba.get_num_threads() == before and big == before
    if not numba.config.DISABLE_JIT:
        assert inside == 1 and seen == [1, before]


def test_kernels_agree_with_references_below_and_above_the_parallel_threshold(monkeypatch):
    from minicnn.kernels import Window, col2im, col2im_reference, im2col, im2col_reference

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 9, 8, 4)).astype(np.float32)
    window = Window.over((9, 8), (3, 2), (2, 1), "same")
    expected = im2col_reference(x, window)
    for threshold in (1, 1 << 40):  # everything parallel / everything on one thread
        monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", threshold)
        cols = im2col.fast(x, window)
        np.testing.assert_array_equal(cols, expected)
        np.testing.assert_allclose(col2im.fast(cols, window), col2im_reference(cols, window),
                                   rtol=1e-6)


def test_the_switch_is_read_in_one_place():
    # Every kernel module picks its implementation through backend.fast_version_of;
    # none reads MINICNN_KERNELS or backend.KERNELS itself.
    import pathlib

    package = pathlib.Path(backend.__file__).parent
    for path in package.glob("*.py"):
        if path.name == "backend.py":
            continue
        text = path.read_text()
        assert "MINICNN_KERNELS=" not in text.replace("``MINICNN_KERNELS=numpy``", ""), path
        assert "KERNELS ==" not in text and "use_reference()" not in text, path
