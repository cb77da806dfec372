"""Sequential: building, summary, shape errors, predict / evaluate, weights, compile checks."""

import numpy as np
import pytest

import minicnn
from minicnn.layers.activations import ReLU, Sigmoid, stable_sigmoid
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.losses import BinaryCrossEntropy
from minicnn.model import Sequential
from minicnn.optimizers import SGD


def original_layers():
    """The original TensorFlow project's CNN, layer for layer."""
    return [Conv2D(32, 3), ReLU(), MaxPool2D(2),
            Conv2D(64, 3), ReLU(), MaxPool2D(2),
            Conv2D(128, 3), ReLU(), MaxPool2D(2),
            Flatten(), Dense(128), ReLU(), Dropout(0.5), Dense(1)]


def small_model(seed=0, dtype=np.float32, input_shape=(12, 12, 2)):
    return Sequential([Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(6), ReLU(), Dense(1)],
                      input_shape=input_shape, seed=seed, dtype=dtype)


def images(n, shape=(12, 12, 2), seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(dtype)


# --- building ---------------------------------------------------------------------------
def test_original_model_has_11169089_parameters_and_keras_output_shapes():
    model = Sequential(original_layers(), input_shape=(224, 224, 3), seed=0)
    text = model.summary(print_fn=None)
    assert model.count_params() == 11_169_089
    assert "Total params: 11,169,089" in text
    assert "Trainable params: 11,169,089" in text
    assert "Non-trainable params: 0" in text
    # Output shapes as Keras prints them for this model.
    for shape in ["(None, 222, 222, 32)", "(None, 111, 111, 32)", "(None, 109, 109, 64)",
                  "(None, 54, 54, 64)", "(None, 52, 52, 128)", "(None, 26, 26, 128)",
                  "(None, 86528)", "(None, 128)", "(None, 1)"]:
        assert shape in text, shape
    # Per-layer counts: 3*3*3*32+32, 3*3*32*64+64, 3*3*64*128+128, 86528*128+128, 128+1.
    for count in ["896", "18,496", "73,856", "11,075,712", "129"]:
        assert count in text
    assert model.output_shape == (1,)
    # Names are unique, as Keras makes them, so errors and summary rows are unambiguous.
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names) and names[3] == "conv2d_1"
    # Only the first layer may skip its input gradient.
    assert [layer.needs_input_grad for layer in model.layers] == [False] + [True] * 13


def test_summary_prints_and_counts_batchnorm_state_as_non_trainable(capsys):
    model = Sequential([Conv2D(4, 3), BatchNormalization(), ReLU(), GlobalAveragePooling2D(), Dense(1)],
                       input_shape=(8, 8, 3), seed=0)
    text = model.summary()
    assert capsys.readouterr().out.strip() == text.strip()
    trainable = (3 * 3 * 3 * 4 + 4) + (4 + 4) + (4 + 1)  # conv, BN gamma/beta, dense
    assert f"Trainable params: {trainable:,}" in text
    assert "Non-trainable params: 8" in text  # moving mean and variance, 4 channels each
    assert f"Total params: {trainable + 8:,}" in text


def test_build_error_names_the_layer_and_the_shape_it_received():
    with pytest.raises(ValueError, match=r"maxpool2d_2.*\(None, 1, 1, 128\)"):
        Sequential(original_layers(), input_shape=(20, 20, 3))
    with pytest.raises(ValueError, match=r"conv2d.*\(None, 224, 224\)"):
        Sequential(original_layers(), input_shape=(224, 224))
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([], input_shape=(4, 4, 1))
    with pytest.raises(TypeError, match=r"layers\[1\]"):
        Sequential([Flatten(), "dense"], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="dtype"):
        Sequential([Flatten()], input_shape=(4, 4, 1), dtype=np.int32)


@pytest.mark.parametrize("shape", [(2, 12, 12, 3), (2, 10, 12, 2), (2, 12, 12), (2, 12, 12, 2, 1)])
def test_wrong_input_names_the_layer_and_both_shapes(shape):
    model = small_model()
    with pytest.raises(ValueError) as error:
        model.predict(np.zeros(shape, np.float32))
    message = str(error.value)
    assert "conv2d" in message
    assert "(None, 12, 12, 2)" in message and str(shape) in message


def test_a_single_example_without_batch_axis_gets_a_hint():
    model = small_model()
    with pytest.raises(ValueError, match=r"ONE example.*x\[None\]"):
        model.predict(np.zeros((12, 12, 2), np.float32))


# --- predict and evaluate --------------------------------------------------------------------
def test_predict_returns_probabilities_of_the_logits_in_float32():
    model = small_model()
    x = images(37) * 10  # large inputs give large logits: the sigmoid must stay finite
    logits = model.predict_logits(x, batch_size=8)
    probabilities = model.predict(x, batch_size=8)
    assert logits.shape == probabilities.shape == (37, 1)
    assert logits.dtype == probabilities.dtype == np.float32
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_array_equal(probabilities, stable_sigmoid(logits))
    # Batching does not change the answer (up to BLAS rounding for other batch shapes).
    np.testing.assert_allclose(model.predict(x, batch_size=37), probabilities, rtol=1e-5, atol=1e-6)
    # Integer images are cast to the model dtype, not promoted to float64.
    assert model.predict(np.ones((3, 12, 12, 2), np.uint8)).dtype == np.float32


def test_predict_of_a_model_ending_in_sigmoid_returns_its_output():
    model = Sequential([Flatten(), Dense(1), Sigmoid()], input_shape=(3, 3, 1), seed=0)
    x = images(5, (3, 3, 1))
    np.testing.assert_array_equal(model.predict(x), model.predict_logits(x))
    with pytest.raises(ValueError, match="Sigmoid.*from_logits"):
        model.compile(loss="binary_crossentropy")
    model.compile(loss=BinaryCrossEntropy(from_logits=False))  # the consistent pairing


def test_predict_accepts_an_iterable_of_batches_and_uses_only_images():
    model = small_model()
    x = images(10)
    expected = model.predict(x, batch_size=4)
    batches = [(x[:4], np.zeros(4)), (x[4:8], np.zeros(4)), (x[8:], np.zeros(2))]
    np.testing.assert_array_equal(model.predict(batches), expected)
    np.testing.assert_array_equal(model.predict([x[:4], x[4:8], x[8:]]), expected)
    assert model.predict([]).shape == (0, 1)


def test_evaluate_is_the_loss_and_metrics_of_the_predictions():
    model = small_model()
    model.compile(optimizer="sgd", metrics=["accuracy", "auc"])
    x = images(20)
    y = np.arange(20) % 2
    result = model.evaluate(x, y, batch_size=6)
    assert set(result) == {"loss", "accuracy", "auc"}
    z = model.predict_logits(x).astype(np.float64).ravel()
    bce = np.logaddexp(0, z) - y * z  # log(1 + e^z) - y z
    assert result["loss"] == pytest.approx(bce.mean(), rel=1e-5)
    p = 1 / (1 + np.exp(-z))
    assert result["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    assert result["auc"] == pytest.approx(minicnn.metrics.roc_auc(y, p))
    # sample_weight multiplies each example's loss (mean over the batch size).
    w = np.where(y == 1, 3.0, 0.5)
    weighted = model.evaluate(x, y, batch_size=6, sample_weight=w)
    assert weighted["loss"] == pytest.approx((w * bce).mean(), rel=1e-5)
    # The same data as batches gives the same result.
    batches = [(x[i:i + 6], y[i:i + 6]) for i in range(0, 20, 6)]
    assert model.evaluate(batches)["loss"] == pytest.approx(result["loss"], rel=1e-6)


def test_evaluate_and_predict_use_inference_mode():
    """Dropout is off: two predictions agree, and differ from a training forward."""
    model = Sequential([Flatten(), Dense(32), Dropout(0.5), Dense(1)], input_shape=(4, 4, 1), seed=0)
    x = images(8, (4, 4, 1))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert not np.allclose(model.forward(x, training=True), model.predict_logits(x))


def test_float64_model_stays_float64_and_float32_model_casts_float64_input():
    model64 = small_model(dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model64._arrays())
    assert model64.predict(images(3, dtype=np.float64)).dtype == np.float64
    assert small_model().predict(images(3, dtype=np.float64)).dtype == np.float32


# --- weights ---------------------------------------------------------------------------
def test_get_and_set_weights_copy_in_place_and_check_shapes():
    model = Sequential([Conv2D(2, 3), BatchNormalization(), Flatten(), Dense(1)],
                       input_shape=(5, 5, 1), seed=0)
    weights = model.get_weights()
    # params then state, layer by layer: conv W b, BN gamma beta moving_mean moving_variance, dense W b
    assert [w.shape for w in weights] == [(3, 3, 1, 2), (2,), (2,), (2,), (2,), (2,), (18, 1), (1,)]
    weights[0] += 1.0  # copies: the model is not changed
    assert not np.array_equal(model.layers[0].params["W"], weights[0])
    original_array = model.layers[0].params["W"]
    model.set_weights(weights)
    assert model.layers[0].params["W"] is original_array  # in place: optimizer slots stay valid
    np.testing.assert_array_equal(original_array, weights[0])
    with pytest.raises(ValueError, match="8 arrays, got 7"):
        model.set_weights(weights[:-1])
    with pytest.raises(ValueError, match=r"array 6 has shape \(18, 1\)"):
        model.set_weights(weights[:6] + [np.zeros((1, 18))] + weights[7:])


# --- compile and argument checks ---------------------------------------------------------------
def test_compile_resolves_names_and_rejects_bad_metrics():
    model = small_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics="accuracy")
    assert type(model.optimizer).__name__ == "Adam"
    assert isinstance(model.loss, BinaryCrossEntropy)
    assert [m.name for m in model.metrics] == ["accuracy"]
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(metrics=["f2"])
    with pytest.raises(ValueError, match="unique"):
        model.compile(metrics=["auc", "auc"])
    with pytest.raises(ValueError, match="step"):
        model.compile(optimizer=object())


def test_fit_and_evaluate_need_compile_and_consistent_data():
    model = small_model()
    x, y = images(6), np.array([0, 1, 0, 1, 0, 1])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    model.compile(optimizer=SGD(0.01))
    with pytest.raises(ValueError, match="y .*required"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="6 examples but y has shape"):
        model.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight .* no weight for label\(s\) \[1.0\]"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="class weights must be finite"):
        model.fit(x, y, class_weight={0: 1.0, 1: -2.0}, verbose=0)
    with pytest.raises(ValueError, match="iterable of"):
        model.fit(42, verbose=0)
    with pytest.raises(ValueError, match="Callback"):
        model.fit(x, y, callbacks=[print], verbose=0)


def test_minicnn_exports_sequential_and_submodules():
    assert minicnn.Sequential is Sequential
    assert minicnn.layers is not None and minicnn.losses.BinaryCrossEntropy is BinaryCrossEntropy
    assert minicnn.optimizers.SGD is SGD


def test_train_on_batch_takes_one_step_and_returns_the_batch_loss():
    from minicnn import Sequential
    from minicnn.layers import Dense

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = Sequential([Dense(1)], input_shape=(3,), seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    before = model.get_weights()
    expected = model.evaluate(x, y, batch_size=8)["loss"]
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(expected, rel=1e-6)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.evaluate(x, y, batch_size=8)["loss"] < loss


def test_backward_lets_go_of_what_forward_kept():
    # Memory: each layer's kept arrays (Conv2D's x, ReLU's mask, MaxPool2D's argmax, Dense's
    # x) are dropped once its backward ran, so the next step's forward can reuse them.
    model = small_model()
    x = images(3)
    out = model.forward(x, training=True)
    kept = [(layer, name) for layer in model.layers for name in layer.kept_for_backward]
    assert kept and all(getattr(layer, name) is not None for layer, name in kept)
    model.backward(np.ones_like(out))
    assert all(getattr(layer, name) is None for layer, name in kept)
    assert all(np.any(g != 0) for layer in model.layers for g in layer.grads.values())
