"""Conv2D: gradients, an independent loop convolution, TF padding, dtypes, errors."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.gradcheck import gradient_check
from minicnn.kernels.window import conv_output_size
from minicnn.layers.conv import Conv2D


def loop_conv(x, W, b, strides, pad):
    """Convolution by four nested loops over an explicitly padded input (independent check).

    ``pad`` = ((top, bottom), (left, right)).
    """
    (sh, sw), ((pt, pb), (pl, pr)) = strides, pad
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    kh, kw, _, f = W.shape
    n, hp, wp, _ = xp.shape
    out_h, out_w = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.zeros((n, out_h, out_w, f))
    for i in range(n):
        for oh in range(out_h):
            for ow in range(out_w):
                window = xp[i, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw, :]
                for k in range(f):
                    y[i, oh, ow, k] = np.sum(window * W[..., k]) + (0.0 if b is None else b[k])
    return y


def tf_pads(h, w, kernel, strides, padding):
    oh, top, bottom = conv_output_size(h, kernel[0], strides[0], padding)
    ow, left, right = conv_output_size(w, kernel[1], strides[1], padding)
    return (top, bottom), (left, right)


@st.composite
def conv_layer_cases(draw):
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    use_bias = draw(st.booleans())
    assume(conv_output_size(h, kernel[0], strides[0], padding)[0] > 0)
    assume(conv_output_size(w, kernel[1], strides[1], padding)[0] > 0)
    seed = draw(st.integers(0, 2**32 - 1))
    return (n, h, w, c), dict(filters=f, kernel_size=kernel, strides=strides, padding=padding,
                              use_bias=use_bias), seed


@settings(max_examples=40, deadline=None)
@given(conv_layer_cases())
def test_gradients_match_central_differences(case):
    shape, kwargs, seed = case
    layer = Conv2D(**kwargs)
    x = np.random.default_rng(seed).standard_normal(shape)
    errors = gradient_check(layer, x, seed=seed % 1000)
    assert set(errors) == ({"x", "W", "b"} if kwargs["use_bias"] else {"x", "W"})
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=40, deadline=None)
@given(conv_layer_cases())
def test_forward_equals_loop_convolution(case):
    (n, h, w, c), kwargs, seed = case
    rng = np.random.default_rng(seed)
    layer = Conv2D(**kwargs)
    layer.build((h, w, c), rng=rng, dtype=np.float64)
    if kwargs["use_bias"]:
        layer.params["b"][:] = rng.standard_normal(kwargs["filters"])
    x = rng.standard_normal((n, h, w, c))
    pad = tf_pads(h, w, layer.kernel_size, layer.strides, layer.padding)
    expected = loop_conv(x, layer.params["W"], layer.params.get("b"), layer.strides, pad)
    got = layer.forward(x)
    assert got.shape == (n,) + layer.output_shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "hw, kernel, strides, expected_hw",
    [((224, 224), 3, 1, (224, 224)), ((7, 8), 4, 3, (3, 3)), ((5, 5), 2, 2, (3, 3)),
     ((1, 9), (1, 5), (1, 2), (1, 5))],
)
def test_same_padding_output_shape(hw, kernel, strides, expected_hw):
    layer = Conv2D(2, kernel, strides, padding="same")
    layer.build(hw + (3,))
    assert layer.output_shape == expected_hw + (2,)


def test_same_padding_puts_the_extra_zero_bottom_right():
    # 4x4 input, 2x2 kernel, stride 1, "same": 1 padded row/column, at the bottom/right.
    # With an all-ones kernel each output is the sum of a 2x2 window of x starting at (oh, ow).
    layer = Conv2D(1, 2, padding="same", use_bias=False)
    layer.build((4, 4, 1), dtype=np.float64)
    layer.params["W"][:] = 1.0
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    y = layer.forward(x)[0, :, :, 0]
    assert y[0, 0] == 0 + 1 + 4 + 5  # top-left window fully inside: no padding before
    assert y[3, 3] == 15  # bottom-right window: 3 of its 4 cells are padding
    assert y[0, 3] == 3 + 7


def test_first_layer_skips_input_gradient_but_fills_grads():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 3))
    a, b = Conv2D(4, 3, padding="same"), Conv2D(4, 3, padding="same")
    a.build((6, 6, 3), rng=np.random.default_rng(1), dtype=np.float64)
    b.build((6, 6, 3), rng=np.random.default_rng(1), dtype=np.float64)
    b.needs_input_grad = False
    g = rng.standard_normal((2, 6, 6, 4))
    a.forward(x), b.forward(x)
    assert a.backward(g) is not None
    assert b.backward(g) is None
    np.testing.assert_array_equal(a.grads["W"], b.grads["W"])
    np.testing.assert_array_equal(a.grads["b"], b.grads["b"])


def test_gradients_overwrite_not_accumulate():
    # Regression: two identical backward calls leave the same grads, not twice them.
    rng = np.random.default_rng(0)
    layer = Conv2D(3, 3, strides=2, padding="same")
    layer.build((7, 7, 2), rng=rng, dtype=np.float64)
    x, g = rng.standard_normal((2, 7, 7, 2)), rng.standard_normal((2, 4, 4, 3))
    layer.forward(x)
    dx1 = layer.backward(g)
    w1, b1 = layer.grads["W"].copy(), layer.grads["b"].copy()
    layer.forward(x)
    dx2 = layer.backward(g)
    np.testing.assert_array_equal(layer.grads["W"], w1)
    np.testing.assert_array_equal(layer.grads["b"], b1)
    np.testing.assert_array_equal(dx1, dx2)
    assert not np.shares_memory(dx1, dx2)  # a returned gradient is not a reused buffer


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    layer = Conv2D(4, 3, padding="same")
    layer.build((8, 8, 3), rng=rng)  # float32 by default
    assert layer.params["W"].dtype == np.float32 and layer.params["b"].dtype == np.float32
    y = layer.forward(rng.standard_normal((2, 8, 8, 3), dtype=np.float32), training=True)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32
    assert layer.grads["W"].dtype == np.float32 and layer.grads["b"].dtype == np.float32


def test_params_shapes_and_config():
    layer = Conv2D(8, (3, 5), strides=[2, 1], use_bias=False, name="c1")
    layer.build((10, 12, 3), rng=np.random.default_rng(0))
    assert layer.params["W"].shape == (3, 5, 3, 8) and "b" not in layer.params
    assert layer.kernel_size == (3, 5) and layer.strides == (2, 1)
    assert layer.count_params() == 3 * 5 * 3 * 8
    config = layer.get_config()
    assert config["kernel_size"] == [3, 5] and config["filters"] == 8
    assert Conv2D(**config).kernel_size == (3, 5)  # rebuilt from its config


def test_original_model_first_layer_params():
    layer = Conv2D(32, 3)
    layer.build((224, 224, 3), rng=np.random.default_rng(0))
    assert layer.output_shape == (222, 222, 32)
    assert layer.count_params() == 3 * 3 * 3 * 32 + 32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filters=0, kernel_size=3), "filters must be a positive int"),
        (dict(filters=2.5, kernel_size=3), "filters must be a positive int"),
        (dict(filters=2, kernel_size=0), "kernel_size must be positive"),
        (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size must be a positive int or a pair"),
        (dict(filters=2, kernel_size=3, strides=-1), "strides must be positive"),
        (dict(filters=2, kernel_size=3, padding="full"), "padding must be 'valid' or 'same'"),
        (dict(filters=2, kernel_size=3, kernel_initializer="nope"), "unknown initializer"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2D(**kwargs)


def test_input_too_small_or_wrong_rank_raises_naming_layer_and_shapes():
    with pytest.raises(ValueError, match=r"conv_a \(Conv2D\).*\(2, 2, 3\).*\(3, 3\)"):
        Conv2D(4, 3, name="conv_a").build((2, 2, 3))
    Conv2D(4, 3, padding="same").build((2, 2, 3))  # "same" always fits
    with pytest.raises(ValueError, match=r"conv_b \(Conv2D\).*\(8, 8\)"):
        Conv2D(4, 3, name="conv_b").build((8, 8))
    layer = Conv2D(4, 3, name="conv_c")
    layer.build((8, 8, 3))
    with pytest.raises(ValueError, match=r"conv_c.*\(None, 8, 8, 3\).*\(2, 8, 8, 1\)"):
        layer(np.zeros((2, 8, 8, 1), dtype=np.float32))


def test_matches_torch_conv2d():
    torch = pytest.importorskip("torch", reason="optional reference: pip install torch==2.13.0")
    rng = np.random.default_rng(0)
    layer = Conv2D(5, (3, 2), strides=(2, 1), padding="valid")
    layer.build((9, 8, 3), rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(5)
    x = rng.standard_normal((2, 9, 8, 3))
    y = layer.forward(x)
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)

    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)  # NCHW
    wt = torch.tensor(layer.params["W"].transpose(3, 2, 0, 1), requires_grad=True)  # OIHW
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=(2, 1))
    yt.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], wt.grad.numpy().transpose(2, 3, 1, 0),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_memory_stays_flat_across_steps_and_smaller_batches():
    # cols, y and dx come from the workspace pool: after the first steps, further steps
    # (and a smaller batch) reuse its arrays instead of adding new ones.
    from minicnn.kernels import workspace

    workspace.release()
    rng = np.random.default_rng(0)
    layer = Conv2D(8, 3)
    layer.build((64, 64, 8), rng=rng, dtype=np.float32)  # cols of several MB: pooled
    layer.needs_input_grad = True
    big = rng.standard_normal((4, 64, 64, 8)).astype(np.float32)
    small = big[:3]
    sizes = []
    for x in (big, big, big, small, big, big):
        y = layer.forward(x)
        del y
        layer.backward(np.ones((len(x), 62, 62, 8), np.float32))
        sizes.append(len(workspace._POOL))
    assert sizes[2:] == [sizes[2]] * 4, sizes
    expected = Conv2D(8, 3)
    expected.build((64, 64, 8), dtype=np.float32)
    expected.params["W"][...] = layer.params["W"]
    np.testing.assert_allclose(layer.forward(big), expected.forward(big), rtol=1e-6)

def test_the_layer_keeps_its_input_and_never_holds_cols_whole():
    # Forward keeps x (not cols, kh*kw times larger) and backward rebuilds cols in bands:
    # no array of the step, pooled or kept, is as large as the whole cols.
    from minicnn.kernels import workspace

    workspace.release()
    rng = np.random.default_rng(0)
    layer = Conv2D(32, 3, padding="same")
    layer.build((64, 64, 16), rng=rng, dtype=np.float32)
    layer.needs_input_grad = True
    x = rng.standard_normal((4, 64, 64, 16)).astype(np.float32)
    y = layer(x)
    assert layer.x is x and not hasattr(layer, "cols")
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape
    cols_bytes = 4 * 64 * 64 * 9 * 16 * 4
    assert workspace._POOL  # y (2 MB) and dx (1 MB) are pooled ...
    assert max(buf.nbytes for buf in workspace._POOL) < cols_bytes / 4  # ... nothing cols-sized
