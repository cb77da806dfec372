"""minicnn.onnx.export: onnxruntime computes what model.predict computes.

Every zoo model and drawn conv/pool/batchnorm/dense stacks (strides, paddings, sizes drawn
by hypothesis) are exported, checked by ``onnx.checker`` and run in onnxruntime; the
outputs must equal ``model.predict`` within 1e-5 (float32). Also: metadata round-trips,
the error for a layer without a converter, a converter plugged in for a new layer, and
the message when the ``onnx`` package is missing.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx", reason="the onnx package is optional: pip install minicnn[onnx]")
ort = pytest.importorskip("onnxruntime",
                          reason="onnxruntime is optional: pip install minicnn[onnx]")

from minicnn import Sequential  # noqa: E402
from minicnn import onnx as mo  # noqa: E402
from minicnn.layers import (BatchNormalization, Conv2D, Dense, Dropout, Flatten,  # noqa: E402
                            GlobalAveragePooling2D, Layer, MaxPool2D, ReLU, Sigmoid)

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)
from chest_xray import models as zoo  # noqa: E402  (the example's models: every layer it uses)

TOLERANCE = 1e-5


def run_onnx(path, x):
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    return session.run(None, {"images": x})[0]


def randomise_batchnorm(model, rng):
    """Moving statistics and scales far from their initial 0/1, so a mistake would show."""
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            c = layer.params["gamma"].shape[0]
            layer.params["gamma"][:] = rng.uniform(0.5, 1.5, c)
            layer.params["beta"][:] = rng.normal(0, 0.2, c)
            layer.state["moving_mean"][:] = rng.normal(0, 0.2, c)
            layer.state["moving_variance"][:] = rng.uniform(0.3, 2.0, c)


def export_and_compare(model, tmp_path, x, name="model.onnx"):
    path = mo.export(model, tmp_path / name)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    got = run_onnx(path, x)
    expected = model.predict(x)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    return path


# --- the zoo --------------------------------------------------------------------------

@pytest.mark.parametrize("make, shape", [
    (zoo.original_cnn, (32, 32, 3)),
    (zoo.original_cnn, (37, 29, 1)),
    (zoo.batchnorm_cnn, (48, 44, 1)),
    (zoo.batchnorm_cnn, (40, 40, 3)),
])
def test_zoo_models_match_predict(tmp_path, make, shape):
    rng = np.random.default_rng(0)
    model = make(shape, seed=0)
    randomise_batchnorm(model, rng)
    x = rng.uniform(0, 1, (6, *shape)).astype(np.float32)
    # The zoo's logits sit near 0 at initialisation, where the sigmoid is steepest:
    # the comparison there sees any error of the logits at a quarter of its size.
    assert np.abs(model.predict_logits(x)).max() < 5
    export_and_compare(model, tmp_path, x)


def test_a_trained_zoo_model_matches_predict(tmp_path):
    # A few Adam steps move every weight (and the moving statistics) off their start.
    rng = np.random.default_rng(1)
    model = zoo.batchnorm_cnn((40, 40, 1), seed=1)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = rng.uniform(0, 1, (16, 40, 40, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=0)
    export_and_compare(model, tmp_path, x)


# --- drawn models ---------------------------------------------------------------------

@st.composite
def small_models(draw):
    h, w = draw(st.integers(4, 14)), draw(st.integers(4, 14))
    channels = draw(st.integers(1, 3))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        layers.append(Conv2D(draw(st.integers(1, 4)), draw(st.integers(1, 3)),
                             strides=draw(st.integers(1, 3)),
                             padding=draw(st.sampled_from(["same", "valid"])),
                             use_bias=draw(st.booleans()), kernel_initializer="glorot_uniform"))
        if draw(st.booleans()):
            layers.append(BatchNormalization())
        if draw(st.booleans()):
            layers.append(ReLU())
        if draw(st.booleans()):
            layers.append(MaxPool2D(draw(st.integers(1, 3)),
                                    strides=draw(st.sampled_from([None, 1, 2, 3])),
                                    padding=draw(st.sampled_from(["same", "valid"]))))
    if draw(st.booleans()):
        layers += [Flatten(), Dense(draw(st.integers(1, 5))), ReLU(), Dropout(0.5)]
        if draw(st.booleans()):
            layers.append(BatchNormalization())  # over flat (N, C) features
    else:
        layers += [GlobalAveragePooling2D()]
    layers.append(Dense(draw(st.integers(1, 3))))
    if draw(st.booleans()):
        layers.append(Sigmoid())  # already probabilities: no head is appended
    try:
        model = Sequential(layers, input_shape=(h, w, channels), seed=draw(st.integers(0, 99)))
    except ValueError:
        assume(False)  # a "valid" window larger than what is left of the image
    return model


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.filter_too_much])
@given(model=small_models(), seed=st.integers(0, 2**16))
def test_drawn_models_match_predict(tmp_path, model, seed):
    rng = np.random.default_rng(seed)
    randomise_batchnorm(model, rng)
    x = rng.uniform(0, 1, (3, *model.input_shape)).astype(np.float32)
    export_and_compare(model, tmp_path, x)


def test_the_comparison_catches_a_flatten_in_nchw_order(tmp_path, monkeypatch):
    # The check is not vacuous: flattening the NCHW tensor (the classic export bug)
    # gives other probabilities.
    rng = np.random.default_rng(0)
    model = Sequential([Conv2D(4, 3, padding="same"), ReLU(), Flatten(), Dense(1)],
                       input_shape=(5, 6, 2), seed=0)
    x = rng.uniform(0, 1, (4, 5, 6, 2)).astype(np.float32)
    export_and_compare(model, tmp_path, x, "right.onnx")
    monkeypatch.setitem(mo.CONVERTERS, Flatten,
                        lambda layer, graph, x: graph.node("Flatten", [x], axis=1))
    wrong = run_onnx(mo.export(model, tmp_path / "wrong.onnx"), x)
    assert np.abs(wrong - model.predict(x)).max() > 1e-3


def test_padding_split_is_minicnns_even_where_the_extra_zero_matters(tmp_path):
    # Kernel 2, stride 1, "same": one zero in total, and it goes after (bottom/right).
    # The other split (before) would shift every window by one pixel.
    model = Sequential([Conv2D(1, 2, padding="same"), MaxPool2D(2, strides=1, padding="same"),
                        Flatten(), Dense(1)], input_shape=(4, 4, 1), seed=0)
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 16
    path = export_and_compare(model, tmp_path, x)
    conv = next(n for n in onnx.load(path).graph.node if n.op_type == "Conv")
    pads = next(a for a in conv.attribute if a.name == "pads")
    assert list(pads.ints) == [0, 0, 1, 1]


def test_graph_layout_and_head(tmp_path):
    model = zoo.original_cnn((32, 32, 1), seed=0)
    proto = onnx.load(mo.export(model, tmp_path / "m.onnx"))
    ops = [n.op_type for n in proto.graph.node]
    # NHWC -> NCHW once before the first Conv, back once before Flatten; no Dropout node;
    # the sigmoid that predict applies is the last op.
    assert ops.count("Transpose") == 2 and ops[0] == "Transpose" and "Dropout" not in ops
    assert ops[ops.index("Flatten") - 1] == "Transpose"
    assert ops[-1] == "Sigmoid"
    assert proto.opset_import[0].version >= 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [32, 32, 1]


def test_a_dense_only_model_on_flat_inputs(tmp_path):
    model = Sequential([Dense(4), BatchNormalization(), ReLU(), Dense(2)], input_shape=(7,), seed=3)
    randomise_batchnorm(model, np.random.default_rng(3))
    x = np.random.default_rng(4).normal(size=(5, 7)).astype(np.float32)
    export_and_compare(model, tmp_path, x)


# --- metadata, errors, plug-ins ---------------------------------------------------------

def test_metadata_round_trips(tmp_path):
    model = zoo.original_cnn((32, 32, 1), seed=0)
    metadata = {"threshold": 0.31, "class_names": ["NORMAL", "PNEUMONIA"], "image_size": [32, 32],
                "color_mode": "grayscale", "rescale": 1 / 255, "note": "0.5", "nested": {"a": None}}
    path = mo.export(model, tmp_path / "m.onnx", metadata=metadata)
    assert mo.read_metadata(path) == metadata
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert props["threshold"] == "0.31" and props["note"] == '"0.5"'  # JSON text, typed
    model.metadata = {"threshold": 0.5}  # the default is the model's own metadata
    assert mo.read_metadata(mo.export(model, tmp_path / "d.onnx")) == {"threshold": 0.5}
    for bad in ({"x": object()}, {"x": float("nan")}, {1: "a"}, ["threshold"]):
        with pytest.raises(mo.ExportError, match="metadata"):
            mo.export(model, tmp_path / "bad.onnx", metadata=bad)
    assert not os.path.exists(tmp_path / "bad.onnx")
    assert sorted(os.listdir(tmp_path)) == ["d.onnx", "m.onnx"]  # no temporary files left


@pytest.fixture
def doubler_class():
    from minicnn.layers.base import LAYER_REGISTRY

    class Doubler(Layer):
        def forward(self, x, training=False):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    yield Doubler
    LAYER_REGISTRY.pop("Doubler", None)
    mo.CONVERTERS.pop(Doubler, None)


def test_a_layer_without_converter_is_named_and_one_can_be_plugged_in(tmp_path, doubler_class):
    model = Sequential([Conv2D(2, 3), doubler_class(name="twice"), Flatten(), Dense(1)],
                       input_shape=(6, 6, 1), seed=0)
    with pytest.raises(mo.ExportError, match=r"layer 1 'twice' \(Doubler\) cannot be exported.*"
                                             r"register\(Doubler\)"):
        mo.export(model, tmp_path / "m.onnx")
    assert not os.path.exists(tmp_path / "m.onnx")

    @mo.register(doubler_class)
    def _doubler(layer, graph, x):
        return graph.node("Mul", [x, graph.constant(np.float32(2), "two")])

    x = np.random.default_rng(0).uniform(0, 1, (3, 6, 6, 1)).astype(np.float32)
    export_and_compare(model, tmp_path, x)


def test_import_minicnn_needs_no_onnx_and_the_error_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['onnx'] = None\n"
            f"import sys; sys.path.insert(0, {EXAMPLES!r})\n"
            "import minicnn, minicnn.data, minicnn.onnx\n"
            "from chest_xray import models\n"
            "model = models.original_cnn((32, 32, 1), seed=0)\n"
            "try:\n"
            "    minicnn.onnx.export(model, 'm.onnx')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's minicnn
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install minicnn[onnx]" in out.stdout
    assert not os.path.exists(tmp_path / "m.onnx")


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_head_for_k_logits_and_for_a_loss_on_softmax_logits(tmp_path):
    model = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=0)
    x = np.random.default_rng(0).normal(size=(4, 2, 2, 1)).astype(np.float32)
    expected = softmax_rows(model.predict_logits(x))
    # K = 3 logit units: predict applies the softmax, with or without a loss; so does ONNX.
    for loss in (None, "sparse_categorical_crossentropy", "categorical_crossentropy"):
        if loss is not None:
            model.compile(loss=loss)
        path = mo.export(model, tmp_path / "m.onnx")
        assert [n.op_type for n in onnx.load(path).graph.node][-1] == "Softmax"
        got = run_onnx(path, x)
        np.testing.assert_allclose(got, expected, atol=TOLERANCE)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(got, model.predict(x), atol=TOLERANCE)

    class SoftmaxLoss:  # a loss of one's own that says it was trained on softmax logits
        activation = "softmax"

    model.loss = SoftmaxLoss()
    np.testing.assert_allclose(run_onnx(mo.export(model, tmp_path / "c.onnx"), x), expected,
                               atol=TOLERANCE)


def test_a_trained_softmax_model_matches_predict_and_gets_no_second_softmax(tmp_path):
    from minicnn.layers import Softmax
    from minicnn.losses import CategoricalCrossEntropy

    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    model = Sequential([Conv2D(4, 3), BatchNormalization(), ReLU(), MaxPool2D(2), Flatten(),
                        Dense(3), Softmax()], input_shape=(6, 6, 1), seed=0)
    model.compile("adam", loss=CategoricalCrossEntropy(from_logits=False))
    model.fit(x, np.eye(3)[y], epochs=2, batch_size=8, verbose=0)
    path = export_and_compare(model, tmp_path, x)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("Softmax") == 1 and ops[-2:] == ["Softmax", "Identity"]  # the layer's own
    np.testing.assert_allclose(run_onnx(path, x).sum(axis=1), 1.0, atol=1e-6)
    # The same model without its Softmax layer, trained on logits, gets the Softmax head.
    logits = Sequential(model.layers[:-1], input_shape=(6, 6, 1), seed=0)
    logits.set_weights(model.get_weights())
    logits.compile("adam", loss="sparse_categorical_crossentropy")
    np.testing.assert_allclose(run_onnx(mo.export(logits, tmp_path / "l.onnx"), x),
                               model.predict(x), atol=TOLERANCE)


def test_a_softmax_over_image_channels_uses_the_channel_axis_of_nchw(tmp_path):
    from minicnn.layers import Softmax

    # Conv2D leaves the graph in NCHW; minicnn's Softmax is over the last axis (channels).
    model = Sequential([Conv2D(3, 3, padding="same"), Softmax(), Conv2D(2, 1), Flatten(),
                        Dense(1)], input_shape=(5, 5, 2), seed=0)
    x = np.random.default_rng(2).normal(size=(3, 5, 5, 2)).astype(np.float32)
    export_and_compare(model, tmp_path, x)
