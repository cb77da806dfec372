"""MaxPool2D and GlobalAveragePooling2D: gradients, Keras shapes, ties, dtypes, errors."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.gradcheck import gradient_check
from minicnn.kernels.window import conv_output_size
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D


@st.composite
def pool_layer_cases(draw):
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    c = draw(st.integers(1, 3))
    pool = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.sampled_from(["valid", "same"]))
    s = pool if strides is None else strides
    assume(conv_output_size(h, pool[0], s[0], padding)[0] > 0)
    assume(conv_output_size(w, pool[1], s[1], padding)[0] > 0)
    seed = draw(st.integers(0, 2**32 - 1))
    return (n, h, w, c), dict(pool_size=pool, strides=strides, padding=padding), seed


@settings(max_examples=40, deadline=None)
@given(pool_layer_cases())
def test_maxpool_gradient_matches_central_differences(case):
    shape, kwargs, seed = case
    rng = np.random.default_rng(seed)
    # Distinct values 0.1 apart: a 1e-6 nudge never changes a window's winner (no ties, no kinks).
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    errors = gradient_check(MaxPool2D(**kwargs), x, seed=seed % 1000)
    assert errors["x"] < 1e-6, errors


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 999))
def test_global_average_pooling_gradient(n, h, w, c, seed):
    x = np.random.default_rng(seed).standard_normal((n, h, w, c))
    errors = gradient_check(GlobalAveragePooling2D(), x, seed=seed)
    assert errors["x"] < 1e-6, errors


def test_maxpool_values_and_default_strides():
    layer = MaxPool2D(2)
    assert layer.strides == (2, 2) and layer.pool_size == (2, 2)
    layer.build((4, 4, 1))
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    y = layer.forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 7], [13, 15]])
    dx = layer.backward(np.ones_like(y))
    assert dx.sum() == 4 and dx[0, 1, 1, 0] == 1 and dx[0, 3, 3, 0] == 1


@pytest.mark.parametrize(
    "input_hw, pool, strides, padding, expected_hw",
    [((222, 222), 2, None, "valid", (111, 111)), ((109, 109), 2, None, "valid", (54, 54)),
     ((5, 5), 2, None, "same", (3, 3)), ((7, 6), 3, 2, "valid", (3, 2)), ((7, 6), 3, 2, "same", (4, 3))],
)
def test_maxpool_output_shapes_follow_keras(input_hw, pool, strides, padding, expected_hw):
    layer = MaxPool2D(pool, strides, padding)
    layer.build(input_hw + (4,))
    assert layer.output_shape == expected_hw + (4,)


def test_maxpool_ties_send_gradient_to_one_element():
    # Regression at the layer level: a constant input has 4-way ties in every window.
    layer = MaxPool2D(2)
    layer.build((4, 6, 3))
    x = np.full((2, 4, 6, 3), 0.5, dtype=np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert dx.sum() == y.size  # not 4 * y.size
    assert set(np.unique(dx)) == {0.0, 1.0}


def test_maxpool_overlapping_windows_and_overwrite():
    layer = MaxPool2D(3, strides=1)
    layer.build((5, 5, 1), dtype=np.float64)
    x = np.zeros((1, 5, 5, 1))
    x[0, 2, 2, 0] = 1.0
    g = np.ones((1, 3, 3, 1))
    layer.forward(x)
    dx1 = layer.backward(g)
    dx2 = layer.backward(g)  # a second call gives the same, not double
    assert dx1[0, 2, 2, 0] == 9.0
    np.testing.assert_array_equal(dx1, dx2)


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    for layer in (MaxPool2D(2, padding="same"), GlobalAveragePooling2D()):
        layer.build((6, 6, 3))
        y = layer.forward(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_global_average_pooling_values():
    layer = GlobalAveragePooling2D()
    layer.build((2, 3, 2))
    assert layer.output_shape == (2,)
    x = np.arange(12, dtype=np.float64).reshape(1, 2, 3, 2)
    np.testing.assert_allclose(layer.forward(x), [[5.0, 6.0]])
    dx = layer.backward(np.array([[6.0, 12.0]]))
    np.testing.assert_allclose(dx[..., 0], 1.0)
    np.testing.assert_allclose(dx[..., 1], 2.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(pool_size=0), "pool_size must be positive"), (dict(strides=(1, 2, 3)), "strides must be"),
     (dict(padding="causal"), "padding must be 'valid' or 'same'")],
)
def test_maxpool_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaxPool2D(**kwargs)


def test_bad_input_shapes_raise_naming_the_layer():
    with pytest.raises(ValueError, match=r"pool1 \(MaxPool2D\).*\(1, 1, 3\)"):
        MaxPool2D(2, name="pool1").build((1, 1, 3))
    with pytest.raises(ValueError, match=r"gap \(GlobalAveragePooling2D\).*\(10,\)"):
        GlobalAveragePooling2D(name="gap").build((10,))
    layer = MaxPool2D(2, name="pool2")
    layer.build((4, 4, 2))
    with pytest.raises(ValueError, match=r"pool2.*\(None, 4, 4, 2\).*\(1, 4, 4, 3\)"):
        layer(np.zeros((1, 4, 4, 3), dtype=np.float32))
