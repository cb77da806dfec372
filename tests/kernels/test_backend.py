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


# Counts calls to every kernel entry's two implementations during one conv/pool step.
_PROBE = """
import importlib
import numpy as np
# import_module, not "import ... as": minicnn.kernels.im2col is also a function's name.
i2c, pool, adam = (importlib.import_module("minicnn.kernels." + m) for m in ("im2col", "pooling", "adam"))
from minicnn.kernels import backend
calls = {}
def spy(module, name):
    real = getattr(module, name)
    def wrapped(*a, **k):
        calls[name] = calls.get(name, 0) + 1
        return real(*a, **k)
    setattr(module, name, wrapped)
for name in ("im2col_reference", "im2col_numba", "col2im_reference", "col2im_numba"):
    spy(i2c, name)
for name in ("maxpool_forward_reference", "maxpool_forward_numba",
             "maxpool_backward_reference", "maxpool_backward_numba"):
    spy(pool, name)
for name in ("adam_update_reference", "adam_update_numba"):
    spy(adam, name)
from minicnn.layers import Conv2D, MaxPool2D, Flatten, Dense
from minicnn.model import Sequential
m = Sequential([Conv2D(2, 3), Conv2D(2, 3), MaxPool2D(2), Flatten(), Dense(1)], input_shape=(8, 8, 1), seed=0)
m.compile(optimizer="adam", loss="binary_crossentropy")
x = np.random.default_rng(0).standard_normal((2, 8, 8, 1)).astype(np.float32)
m.train_on_batch(x, np.array([0.0, 1.0], np.float32))
print(backend.KERNELS, sorted(k for k, v in calls.items() if v))
"""


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
    expected_suffix = "_reference" if used == "reference" else "_numba"
    assert called and all(name.endswith(expected_suffix) for name in called), called
    # Both conv kernels, both pooling kernels and Adam really went through the chosen path.
    assert {n.rsplit("_", 1)[0] for n in called} == {
        "im2col", "col2im", "maxpool_forward", "maxpool_backward", "adam_update"}


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
    y = model._forward(x, training=True)
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
