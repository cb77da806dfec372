"""minicnn.fusion: which blocks run fused at inference, and that the result is the same."""

import numpy as np
import pytest

from minicnn import fusion, kernels
from minicnn.kernels import backend
from minicnn.layers import (BatchNormalization, Conv2D, Dense, Flatten, GlobalAveragePooling2D,
                            MaxPool2D, ReLU, Sigmoid)
from minicnn.model import Sequential


def _model(dtype=np.float32, pool=MaxPool2D(2)):
    return Sequential([
        Conv2D(4, 3), ReLU(), pool,                                   # fused (7x7 -> 5x5 -> 2x2)
        Conv2D(5, 3, strides=2, padding="same"), ReLU(), MaxPool2D(2, padding="same"),  # fused
        Flatten(), Dense(3), ReLU(), Dense(1),
    ], input_shape=(11, 13, 2), seed=0, dtype=dtype)


def _norm_model(dtype=np.float32, use_bias=False):
    """Conv-BN-ReLU-Pool (fused, the BN folded), Conv-BN-ReLU (folded), GAP, Dense."""
    model = Sequential([
        Conv2D(4, 3, use_bias=use_bias), BatchNormalization(), ReLU(), MaxPool2D(2),
        Conv2D(6, 3, padding="same", use_bias=use_bias), BatchNormalization(), ReLU(),
        GlobalAveragePooling2D(), Dense(2),
    ], input_shape=(12, 11, 3), seed=0, dtype=dtype)
    rng = np.random.default_rng(5)
    for layer in model.layers:  # statistics and scales a trained model could have
        if isinstance(layer, BatchNormalization):
            c = layer.params["gamma"].size
            layer.params["gamma"][...] = rng.uniform(0.5, 2.0, c)
            layer.params["beta"][...] = rng.normal(0, 0.5, c)
            layer.state["moving_mean"][...] = rng.normal(0, 0.3, c)
            layer.state["moving_variance"][...] = rng.uniform(0.2, 3.0, c)
        if isinstance(layer, Conv2D) and use_bias:
            layer.params["b"][...] = rng.normal(0, 0.2, layer.filters)
    return model


def _fused_names(model):
    return [repr(step) for step in fusion.inference_steps(model.layers)
            if isinstance(step, fusion.ConvReluPool)]


def test_the_conv_relu_pool_blocks_are_found():
    model = _model()
    assert _fused_names(model) == ["ConvReluPool(conv2d, relu, maxpool2d)",
                                   "ConvReluPool(conv2d_1, relu_1, maxpool2d_1)"]
    steps = fusion.inference_steps(model.layers)
    assert [type(s).__name__ for s in steps] == ["ConvReluPool", "ConvReluPool", "Flatten",
                                                 "Dense", "ReLU", "Dense"]


MODELS = {  # name -> builder(dtype): fused blocks, and blocks with a folded BatchNormalization
    "conv-relu-pool": _model,
    "batchnorm": _norm_model,
    "batchnorm after a biased conv": lambda dtype: _norm_model(dtype, use_bias=True),
}


@pytest.mark.parametrize("kernels_choice", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_infer_equals_forward_layer_by_layer(monkeypatch, kernels_choice, dtype, name):
    monkeypatch.setattr(backend, "KERNELS", kernels_choice)
    model = MODELS[name](dtype)
    x = np.random.default_rng(1).standard_normal((3, *model.input_shape)).astype(dtype)
    expected = model.forward(x, training=False).copy()
    got = model.infer(x)
    assert got.dtype == dtype and got.shape == expected.shape == (3, model.output_shape[-1])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_infer_keeps_nothing_for_backward():
    model = _model()
    x = np.random.default_rng(2).standard_normal((2, 11, 13, 2)).astype(np.float32)
    model.forward(x, training=True)
    model.infer(x)
    for layer in model.layers:
        for name in layer.kept_for_backward:
            assert getattr(layer, name) is None, f"{layer.name} kept {name}"


def test_predict_and_evaluate_run_the_fused_kernel(monkeypatch):
    model = _model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    calls = []
    real = kernels.conv_relu_maxpool.fast
    monkeypatch.setattr(kernels.conv_relu_maxpool, "fast",
                        lambda *args: calls.append(1) or real(*args))
    x = np.random.default_rng(3).standard_normal((5, 11, 13, 2)).astype(np.float32)
    p = model.predict(x, batch_size=4)
    assert p.shape == (5, 1) and len(calls) == 4  # two blocks, two batches
    np.testing.assert_allclose(p, model.probabilities(model.forward(x, training=False)),
                               rtol=1e-5, atol=1e-6)
    model.evaluate(x, np.ones(5), batch_size=8)
    assert len(calls) == 6


@pytest.mark.parametrize("layers, reason", [
    ([Conv2D(3, 3), ReLU(), MaxPool2D(3)], "pools (3, 3) by (3, 3), not 2x2 by 2"),
    ([Conv2D(3, 3), ReLU(), MaxPool2D(2, strides=1)], "pools (2, 2) by (1, 1), not 2x2 by 2"),
    ([Conv2D(3, 3), Sigmoid(), MaxPool2D(2)], "is a Sigmoid, not a ReLU"),
    ([Conv2D(3, 3), MaxPool2D(2), ReLU()], "is a MaxPool2D, not a ReLU"),
    ([Conv2D(3, 3), ReLU(), Flatten()], "is a Flatten, not a MaxPool2D"),
    ([ReLU(), Conv2D(3, 3), ReLU()], "is a ReLU, not a Conv2D"),
])
def test_the_pattern_is_refused_where_it_does_not_apply(layers, reason):
    model = Sequential(layers + [Flatten(), Dense(1)], input_shape=(12, 12, 1), seed=0)
    assert reason in fusion.why_not_fused(model.layers, 0)
    assert _fused_names(model) == []
    x = np.random.default_rng(4).standard_normal((2, 12, 12, 1)).astype(np.float32)
    np.testing.assert_allclose(model.infer(x), model.forward(x, training=False), rtol=1e-6)


def test_too_few_layers_left_is_not_a_block():
    model = Sequential([Conv2D(3, 3), ReLU()], input_shape=(6, 6, 1), seed=0)
    assert fusion.why_not_fused(model.layers, 0) == "fewer than three layers left"


def test_infer_checks_the_input_shape():
    model = _model()
    with pytest.raises(ValueError, match=r"conv2d \(Conv2D\): expected input of shape"):
        model.infer(np.zeros((2, 12, 13, 2), np.float32))


# --- BatchNormalization folded into the convolution -----------------------------------------
def test_a_batchnorm_after_a_convolution_is_folded_into_it():
    steps = fusion.inference_steps(_norm_model().layers)
    assert [repr(step) for step in steps[:2]] == [
        "ConvReluPool(conv2d, batchnormalization, relu, maxpool2d)",
        "ConvBatchNorm(conv2d_1, batchnormalization_1)"]
    assert [type(step).__name__ for step in steps[2:]] == ["ReLU", "GlobalAveragePooling2D", "Dense"]


@pytest.mark.parametrize("use_bias", [False, True])
def test_fold_batchnorm_is_the_normalised_convolution(use_bias):
    """conv(x; W', b') == BN(conv(x; W, b)) with the moving statistics (float64)."""
    model = _norm_model(np.float64, use_bias=use_bias)
    conv, norm = model.layers[0], model.layers[1]
    x = np.random.default_rng(6).standard_normal((2, 12, 11, 3))
    expected = norm.forward(conv.forward(x, training=False), training=False)
    Wm, b = fusion.fold_batchnorm(conv, norm)
    got = kernels.im2col_matmul.reference(x, Wm, b, conv.window).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    plain_W, plain_b = fusion.fold_batchnorm(conv)  # no norm: the layer's own arrays
    assert np.shares_memory(plain_W, conv.params["W"]) and plain_b is conv.params.get("b")


def test_a_folded_batchnorm_keeps_nothing_and_changes_no_weight():
    model = _norm_model()
    x = np.random.default_rng(8).standard_normal((2, 12, 11, 3)).astype(np.float32)
    model.forward(x, training=True)
    saved = [{k: v.copy() for k, v in {**layer.params, **layer.state}.items()} for layer in model.layers]
    model.infer(x)
    for layer, before in zip(model.layers, saved):
        for name in layer.kept_for_backward:
            assert getattr(layer, name) is None, f"{layer.name} kept {name}"
        for key, value in before.items():
            np.testing.assert_array_equal({**layer.params, **layer.state}[key], value)


@pytest.mark.parametrize("layers, reason", [
    ([Conv2D(3, 3), BatchNormalization(), Sigmoid(), MaxPool2D(2)],
     "after the batch normalisation is a Sigmoid, not a ReLU"),
    ([Conv2D(3, 3), BatchNormalization(), ReLU(), MaxPool2D(3)], "pools (3, 3) by (3, 3), not 2x2 by 2"),
    ([Conv2D(3, 3), BatchNormalization(), ReLU()], "flatten after the ReLU is a Flatten, not a MaxPool2D"),
])
def test_a_batchnorm_block_that_is_not_fused_still_folds(layers, reason):
    model = Sequential(layers + [Flatten(), Dense(1)], input_shape=(12, 12, 1), seed=0)
    assert reason in fusion.why_not_fused(model.layers, 0)
    assert isinstance(fusion.inference_steps(model.layers)[0], fusion.ConvBatchNorm)
    model.layers[1].state["moving_variance"][...] = 2.5
    x = np.random.default_rng(9).standard_normal((2, 12, 12, 1)).astype(np.float32)
    np.testing.assert_allclose(model.infer(x), model.forward(x, training=False), rtol=1e-5, atol=1e-6)


def test_a_batchnorm_not_after_a_convolution_runs_as_itself():
    model = Sequential([Flatten(), Dense(4), BatchNormalization(), ReLU(), Dense(1)],
                       input_shape=(3, 3, 1), seed=0)
    assert [type(s).__name__ for s in fusion.inference_steps(model.layers)] == [
        "Flatten", "Dense", "BatchNormalization", "ReLU", "Dense"]


def test_a_model_ending_in_conv_batchnorm_relu_folds_the_norm():
    model = Sequential([Conv2D(3, 3), BatchNormalization(), ReLU()], input_shape=(6, 6, 1), seed=0)
    assert fusion.why_not_fused(model.layers, 0) == "fewer than four layers left"
    assert [repr(s) for s in fusion.inference_steps(model.layers)][0] == \
        "ConvBatchNorm(conv2d, batchnormalization)"
