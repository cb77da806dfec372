"""BatchNormalization: gradients through the batch statistics, moving statistics, modes, dtypes."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn.gradcheck import gradient_check
from minicnn.layers.normalization import BatchNormalization

FAST = settings(deadline=None, max_examples=25)


def built(shape, seed, dtype=np.float64, **kwargs):
    """A BatchNormalization built for ``shape`` with random gamma, beta and moving statistics."""
    rng = np.random.default_rng(seed)
    layer = BatchNormalization(**kwargs)
    layer.build(shape, dtype=dtype)
    c = shape[-1]
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, c) * rng.choice([-1, 1], c)
    layer.params["beta"][:] = rng.standard_normal(c)
    layer.state["moving_mean"][:] = rng.standard_normal(c)
    layer.state["moving_variance"][:] = rng.uniform(0.5, 2.0, c)
    return layer


@FAST
@given(batch=st.integers(3, 6), channels=st.integers(1, 5), training=st.booleans(),
       scale=st.floats(0.1, 10.0), seed=st.integers(0, 2**16))
def test_dense_input_gradients(batch, channels, training, scale, seed):
    # batch >= 3: see the note in test_image_input_gradients
    layer = built((channels,), seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, channels)) * scale + 3.0
    errors = gradient_check(layer, x, training=training, seed=seed)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < 1e-6, errors


@FAST
@given(batch=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4), channels=st.integers(1, 4),
       training=st.booleans(), seed=st.integers(0, 2**16))
def test_image_input_gradients(batch, h, w, channels, training, seed):
    if batch * h * w < 3:
        # With m = 1 value per channel there is nothing to normalise; with m = 2 the output is
        # about +-1 whatever x is, dx is tiny and the central difference measures only rounding.
        h = 3
    layer = built((h, w, channels), seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, h, w, channels))
    errors = gradient_check(layer, x, training=training, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_training_normalises_each_channel_and_updates_moving_statistics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5, 5, 3)) * [1.0, 4.0, 0.5] + [0.0, -3.0, 10.0]
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3)
    layer.build(x.shape[1:], dtype=np.float64)
    y = layer.forward(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 * 1.0 + 0.1 * var, rtol=1e-12)


def test_inference_uses_moving_statistics_and_leaves_them_alone():
    layer = built((4,), seed=3)
    x = np.random.default_rng(4).standard_normal((6, 4))
    state = {k: v.copy() for k, v in layer.state.items()}
    y = layer.forward(x, training=False)
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    expected = gamma * (x - state["moving_mean"]) / np.sqrt(state["moving_variance"] + 1e-3) + beta
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    for k in state:
        np.testing.assert_array_equal(layer.state[k], state[k])
    assert not np.allclose(layer.forward(x, training=True), y)


def test_moving_statistics_converge_to_the_data_statistics():
    rng = np.random.default_rng(5)
    layer = BatchNormalization(momentum=0.5)
    layer.build((2,), dtype=np.float64)
    for _ in range(60):
        layer.forward(rng.standard_normal((512, 2)) * [2.0, 0.5] + [1.0, -1.0], training=True)
    np.testing.assert_allclose(layer.state["moving_mean"], [1.0, -1.0], atol=0.1)
    np.testing.assert_allclose(layer.state["moving_variance"], [4.0, 0.25], rtol=0.15)


def test_grads_are_overwritten_not_accumulated():
    layer = built((3,), seed=6)
    x, g = np.random.default_rng(7).standard_normal((2, 5, 3))
    layer.forward(x, training=True)
    layer.backward(g.copy())
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x, training=True)
    layer.backward(g.copy())
    for k in first:
        np.testing.assert_array_equal(layer.grads[k], first[k])


def test_float32_stays_float32():
    layer = BatchNormalization()
    layer.build((4, 4, 2))
    x = np.random.default_rng(0).standard_normal((3, 4, 4, 2)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    arrays = [y, dx, *layer.params.values(), *layer.grads.values(), *layer.state.values()]
    assert all(a.dtype == np.float32 for a in arrays)
    assert layer.count_params() == 4  # gamma and beta; the moving statistics are state


def test_matches_torch_batchnorm_in_training():
    torch = pytest.importorskip("torch", reason="torch is an optional reference")
    layer = built((3, 3, 4), seed=8)
    rng = np.random.default_rng(9)
    x, g = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((2, 3, 3, 4))
    y = layer.forward(x, training=True)
    dx = layer.backward(g.copy())
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)  # torch is NCHW
    bn = torch.nn.BatchNorm2d(4, eps=1e-3, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(layer.params["gamma"]))
        bn.bias.copy_(torch.tensor(layer.params["beta"]))
    ty = bn.train()(tx)
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], bn.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.grads["beta"], bn.bias.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("kwargs", [{"momentum": 1.5}, {"momentum": -0.1}, {"epsilon": 0},
                                    {"epsilon": -1e-3}, {"momentum": "0.9"}])
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        BatchNormalization(**kwargs)


def test_wrong_channels_name_the_layer_and_both_shapes():
    layer = BatchNormalization(name="bn1")
    layer.build((4, 4, 8))
    with pytest.raises(ValueError, match=r"bn1.*\(None, 4, 4, 8\).*\(2, 4, 4, 3\)"):
        layer.forward(np.zeros((2, 4, 4, 3), np.float32), training=True)
    with pytest.raises(ValueError, match="bn1"):
        BatchNormalization(name="bn1").build(())


def test_backward_checks():
    layer = BatchNormalization(name="bn2")
    layer.build((3,))
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer.forward(np.zeros((2, 3), np.float32), training=True)
    with pytest.raises(ValueError, match="bn2"):
        layer.backward(np.zeros((2, 4), np.float32))


def test_config_round_trip():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn")
    assert layer.get_config() == {"momentum": 0.9, "epsilon": 1e-5, "name": "bn"}
