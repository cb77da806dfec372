"""minicnn.kernels.workspace: arrays reused between steps, never overwritten while someone holds them."""

import numpy as np
import pytest

from minicnn.kernels import workspace
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.pooling import MaxPool2D

BIG = (512, 1024)  # 2 MB in float32: above the pooling threshold


def _address(a):
    return a.__array_interface__["data"][0]


def test_scratch_is_reused_and_grows_when_too_small():
    store = {}
    workspace.scratch(store, "k", (4, 5), np.float32)
    first = store["k"]
    b = workspace.scratch(store, "k", (2, 5), np.float32)  # smaller: front part, same memory
    assert store["k"] is first and b.base is first and b.shape == (2, 5)
    workspace.scratch(store, "k", (10, 5), np.float32)      # bigger: new array
    assert store["k"] is not first and store["k"].size == 50
    workspace.scratch(store, "k", (10, 5), np.float64)      # other dtype: new array
    assert store["k"].dtype == np.float64


def test_output_is_never_an_array_someone_holds():
    held = [workspace.output(BIG, np.float32) for _ in range(3)]
    for i, a in enumerate(held):
        a[...] = i
    more = workspace.output(BIG, np.float32)
    for a in held:
        assert not np.shares_memory(a, more)
    for i, a in enumerate(held):
        assert np.all(a == i)


def test_output_memory_is_reused_once_released():
    workspace.release()  # no free arrays left over from other tests
    a = workspace.output(BIG, np.float32)
    address = _address(a)
    del a
    b = workspace.output(BIG, np.float32)
    assert _address(b) == address
    # A slightly smaller request of the same dtype also fits (at most 2x waste) ...
    del b
    c = workspace.output((400, 1024), np.float32)
    assert _address(c) == address and c.shape == (400, 1024)
    del c
    # ... a much smaller one or another dtype does not.
    d = workspace.output((100, 1024), np.float32)
    e = workspace.output(BIG, np.float64)
    assert _address(d) != address and _address(e) != address


def test_a_kept_view_keeps_the_array_taken():
    a = workspace.output(BIG, np.float32)
    row = a[1]  # a view refers to the pooled array through .base
    del a
    b = workspace.output(BIG, np.float32)
    assert not np.shares_memory(row, b)


def test_small_outputs_are_plain_arrays_and_release_drops_free_ones():
    small = workspace.output((4, 4), np.float32)
    assert small.base is None and small.shape == (4, 4)
    kept = workspace.output(BIG, np.float32)
    workspace.output(BIG, np.float32)  # dropped at once: free
    workspace.release()
    assert any(buf is kept.base for buf in workspace._POOL)
    assert all(np.shares_memory(buf, kept) for buf in workspace._POOL if buf.size == kept.size)


@pytest.mark.parametrize("make", [lambda: Conv2D(8, 3), ReLU, lambda: MaxPool2D(2)],
                         ids=["conv", "relu", "maxpool"])
def test_layer_outputs_held_by_the_caller_survive_the_next_call(make):
    rng = np.random.default_rng(0)
    layer = make()
    layer.build((64, 64, 16), rng=rng)  # outputs of several MB: pooled
    x1 = rng.standard_normal((4, 64, 64, 16)).astype(np.float32)
    x2 = rng.standard_normal((4, 64, 64, 16)).astype(np.float32)
    y1 = layer.forward(x1, training=True)
    kept = y1.copy()
    y2 = layer.forward(x2, training=True)
    np.testing.assert_array_equal(y1, kept)       # not overwritten by the second call
    assert not np.shares_memory(y1, y2)
    g = np.ones_like(y2)
    dx1 = layer.backward(g.copy())
    dx1_kept = dx1.copy()
    layer.backward(2 * g)
    np.testing.assert_array_equal(dx1, dx1_kept)


def test_a_dropped_activation_is_reused_for_a_gradient():
    # The pool's point: a block's gradient can live where its forward output was.
    workspace.release()  # no free arrays left over from other tests
    rng = np.random.default_rng(0)
    pool = MaxPool2D(2)
    pool.build((64, 64, 16), rng=rng)
    x = rng.standard_normal((4, 64, 64, 16)).astype(np.float32)
    relu_out = workspace.output(x.shape, np.float32)
    np.maximum(x, 0, out=relu_out)
    address = _address(relu_out)
    y = pool.forward(relu_out, training=True)
    del relu_out  # the activation is no longer needed once pooled
    dx = pool.backward(np.ones_like(y))
    assert _address(dx) == address
