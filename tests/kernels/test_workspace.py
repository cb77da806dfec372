"""minicnn.kernels.workspace: arrays kept between steps, never overwritten while someone holds them."""

import numpy as np
import pytest

from minicnn.kernels import workspace
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.pooling import MaxPool2D


def test_scratch_is_reused_and_grows_when_too_small():
    store = {}
    a = workspace.scratch(store, "k", (4, 5), np.float32)
    first = store["k"]
    b = workspace.scratch(store, "k", (2, 5), np.float32)  # smaller: front part, same memory
    assert store["k"] is first and b.base is first and b.shape == (2, 5)
    workspace.scratch(store, "k", (10, 5), np.float32)      # bigger: new array
    assert store["k"] is not first and store["k"].size == 50
    workspace.scratch(store, "k", (10, 5), np.float64)      # other dtype: new array
    assert store["k"].dtype == np.float64
    del a


def test_output_is_reused_only_when_nobody_holds_it():
    store = {}
    y = workspace.output(store, "y", (3, 4), np.float32)
    y[...] = 7.0
    first = store["y"]
    # The caller still holds y: the next call must not hand out the same memory.
    y2 = workspace.output(store, "y", (3, 4), np.float32)
    assert not np.shares_memory(y, y2)
    assert np.all(y == 7.0)
    second = id(store["y"])
    del y2, first
    # Nobody holds the second array now (only the store): reused.
    y3 = workspace.output(store, "y", (3, 4), np.float32)
    assert id(store["y"]) == second and y3.base is store["y"]


def test_output_kept_alive_by_a_view_is_not_reused():
    store = {}
    y = workspace.output(store, "y", (2, 6), np.float32)
    row = y[1]  # a view: refers to the buffer through .base
    del y
    z = workspace.output(store, "y", (2, 6), np.float32)
    assert not np.shares_memory(row, z)


@pytest.mark.parametrize("make", [lambda: Conv2D(3, 2), ReLU, lambda: MaxPool2D(2)],
                         ids=["conv", "relu", "maxpool"])
def test_layer_outputs_held_by_the_caller_survive_the_next_forward(make):
    rng = np.random.default_rng(0)
    layer = make()
    layer.build((6, 6, 2), rng=rng)
    x1 = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    x2 = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    y1 = layer.forward(x1, training=True)
    kept = y1.copy()
    y2 = layer.forward(x2, training=True)
    np.testing.assert_array_equal(y1, kept)       # not overwritten by the second call
    assert not np.shares_memory(y1, y2)
    # And the same for the gradient backward returns.
    g = np.ones_like(y2)
    dx1 = layer.backward(g.copy())
    dx1_kept = dx1.copy()
    layer.backward(2 * g)
    np.testing.assert_array_equal(dx1, dx1_kept)


def test_layer_output_memory_is_reused_when_released():
    rng = np.random.default_rng(0)
    layer = MaxPool2D(2)
    layer.build((6, 6, 3), rng=rng)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    address = layer.forward(x).__array_interface__["data"][0]
    # The first output was dropped at once: the second call writes into the same memory.
    assert layer.forward(x).__array_interface__["data"][0] == address
