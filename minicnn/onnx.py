"""Export a trained model to ONNX, for onnxruntime, Netron or another framework.

``minicnn.onnx.export(model, "model.onnx", metadata={"threshold": 0.31})`` writes one
file that any ONNX runtime can run: it takes the images exactly as ``model.predict``
does (float32, NHWC, the same pixel scale) and returns what ``model.predict`` returns
(probabilities). It needs the optional ``onnx`` package (``pip install minicnn[onnx]``,
which also installs onnxruntime); importing minicnn does not.

NHWC in, NCHW inside
--------------------
minicnn keeps images channels-last, ``(N, H, W, C)``, as Keras does. ONNX's ``Conv`` and
``MaxPool`` only take channels-first, ``(N, C, H, W)``. So the graph keeps the input
NHWC (a caller feeds the same arrays as to ``predict``) and inserts a ``Transpose`` to
NCHW before the first layer that needs it; after that, layers that do not care about
the layout (ReLU, BatchNormalization, pooling) stay in NCHW, and no further transpose is
made until a layer needs NHWC again. Each converter states the layout it needs; the
graph builder adds a transpose only when the layout changes. The kernels change layout
too: minicnn's ``W`` is ``(kh, kw, C_in, F)``, ONNX's ``(F, C_in, kh, kw)``, so the
converter stores ``W.transpose(3, 2, 0, 1)``.

Flatten needs NHWC: minicnn's ``Flatten`` lists the values of one example in memory
order, ``h, w, c`` (c fastest), and the ``Dense`` after it learned one weight row per
position in THAT order. ONNX's ``Flatten`` of an NCHW tensor would list them ``c, h, w``
and every weight row would meet the wrong value (the output would be wrong, not an
error). So ``Flatten`` transposes back to NHWC first. (Permuting the Dense weight rows
instead would save that transpose; we keep the graph a literal picture of the model.)

Padding
-------
minicnn's ``"same"`` is TensorFlow's: ``ceil(H / stride)`` outputs, with the zeros
needed split as ``total // 2`` before and the rest (the odd one) after. ONNX's
``auto_pad="SAME_UPPER"`` means the same thing, but explicit ``pads`` say it with no
room for interpretation, so the converters write ``[top, left, bottom, right]`` from the
very function the layers use (``minicnn.kernels.im2col.conv_output_size``). Padded cells
of a ``MaxPool`` never win the max in ONNX either.

The head
--------
Most minicnn models end in logits and ``predict`` applies the sigmoid (one unit) or the
softmax (K units; the losses were on logits). The export appends the same head, so the
ONNX output IS ``predict``'s: it asks the very function ``predict`` asks,
``minicnn.targets.head``. A ``Sigmoid`` for one unit; a ``Softmax`` over the last axis
for K >= 2 units or a loss that says it was trained on softmax logits (a loss object
with ``activation = "softmax"``); nothing when the model already ends in probabilities
(a final ``Sigmoid`` or ``Softmax`` layer, whose own converter wrote that op).

Adding a layer
--------------
:data:`CONVERTERS` maps a layer class to a function ``convert(layer, graph, x)`` that
adds the layer's nodes to ``graph`` (a :class:`GraphBuilder`) and returns the name of
its output. A new layer plugs in with::

    @minicnn.onnx.register(MyLayer)
    def _my_layer(layer, graph, x):
        x = graph.layout(x, "NCHW")            # if it needs channels first
        return graph.node("MyOp", [x, graph.constant(layer.params["W"], "W")])

A layer class without a converter makes :func:`export` fail with an error that names
the layer (index, name, class). Dropout is dropped: at inference it is the identity.

Metadata
--------
``metadata`` (a dict of str -> JSON-serialisable values, default ``model.metadata``) is
stored in the file's ``metadata_props``, each value as its JSON text, so numbers, lists
and strings come back exactly: :func:`read_metadata` returns the dict.
"""

import json
import os

import numpy as np

from . import targets
from .files import atomic_write
from .kernels.im2col import conv_output_size
from .layers.activations import ReLU, Sigmoid
from .layers.conv import Conv2D
from .layers.dense import Dense, Flatten
from .layers.dropout import Dropout
from .layers.normalization import BatchNormalization
from .layers.pooling import GlobalAveragePooling2D, MaxPool2D
from .layers.softmax import Softmax

__all__ = ["export", "read_metadata", "register", "CONVERTERS", "GraphBuilder", "ExportError",
           "OPSET"]

#: The ONNX operator set the graphs are written for (ONNX 1.12+, onnxruntime 1.12+).
OPSET = 17

#: Layer class -> ``convert(layer, graph, x) -> output name``. See :func:`register`.
CONVERTERS = {}

_INSTALL_HINT = "pip install minicnn[onnx]  (or: pip install onnx onnxruntime)"

# Transpose permutations between the two layouts.
_TO_NCHW = (0, 3, 1, 2)
_TO_NHWC = (0, 2, 3, 1)


class ExportError(ValueError):
    """A model that cannot be written as ONNX; the message names the layer and why."""


def _onnx():
    """The ``onnx`` package, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"minicnn.onnx needs the 'onnx' package: {_INSTALL_HINT}") from exc
    return onnx


def register(layer_class):
    """Decorator: ``@register(MyLayer)`` makes ``fn(layer, graph, x)`` its converter.

    Looked up by the exact class (a subclass may compute something else, so it needs
    its own converter). Registering a class again replaces its converter.
    """
    def decorate(fn):
        CONVERTERS[layer_class] = fn
        return fn
    return decorate


class GraphBuilder:
    """Collects the nodes and weights of one ONNX graph while converters add layers.

    It also tracks the layout of the 4-D tensor flowing between layers ("NHWC" or
    "NCHW"; 2-D tensors have none), so that :meth:`layout` transposes only when the
    layout has to change.
    """

    def __init__(self, onnx, prefix=""):
        self.onnx = onnx
        self.nodes = []
        self.initializers = []
        self.current_layout = "NHWC"
        self.prefix = prefix  # the layer's name while its converter runs
        self._used = set()

    def fresh(self, name):
        """A tensor name not used yet, prefixed by the current layer's name."""
        base = f"{self.prefix}/{name}" if self.prefix else name
        candidate, i = base, 1
        while candidate in self._used:
            candidate, i = f"{base}_{i}", i + 1
        self._used.add(candidate)
        return candidate

    def constant(self, array, name):
        """Store ``array`` (as float32 unless integer) as a weight; returns its name."""
        array = np.asarray(array)
        if not np.issubdtype(array.dtype, np.integer):
            array = array.astype(np.float32)
        tensor = self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), self.fresh(name))
        self.initializers.append(tensor)
        return tensor.name

    def node(self, op_type, inputs, name=None, **attributes):
        """Add one ONNX node; returns the name of its (single) output."""
        output = self.fresh(name or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), [output], name=self.fresh(f"{op_type}_node"), **attributes))
        return output

    def layout(self, x, wanted):
        """``x`` in the ``wanted`` 4-D layout, adding a Transpose only if it is not already."""
        if self.current_layout == wanted:
            return x
        perm = _TO_NCHW if wanted == "NCHW" else _TO_NHWC
        self.current_layout = wanted
        return self.node("Transpose", [x], name=f"to_{wanted.lower()}", perm=list(perm))


# --- the converters -------------------------------------------------------------------

def _window_pads(input_shape, kernel, strides, padding):
    """ONNX ``pads`` ``[top, left, bottom, right]``: minicnn's exact split (TensorFlow's)."""
    h, w = input_shape[0], input_shape[1]
    _, top, bottom = conv_output_size(h, kernel[0], strides[0], padding)
    _, left, right = conv_output_size(w, kernel[1], strides[1], padding)
    return [top, left, bottom, right]


@register(Conv2D)
def _conv2d(layer, graph, x):
    # y[n, f, oh, ow] = b[f] + sum_{c, i, j} x[n, c, oh*sh + i - top, ow*sw + j - left] * K[f, c, i, j]
    x = graph.layout(x, "NCHW")
    kernel = graph.constant(layer.params["W"].transpose(3, 2, 0, 1), "W")  # (F, C, kh, kw)
    inputs = [x, kernel] + ([graph.constant(layer.params["b"], "b")] if layer.use_bias else [])
    return graph.node("Conv", inputs, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.strides),
                      pads=_window_pads(layer.input_shape, layer.kernel_size, layer.strides,
                                        layer.padding))


@register(MaxPool2D)
def _maxpool2d(layer, graph, x):
    x = graph.layout(x, "NCHW")
    return graph.node("MaxPool", [x], kernel_shape=list(layer.pool_size),
                      strides=list(layer.strides),
                      pads=_window_pads(layer.input_shape, layer.pool_size, layer.strides,
                                        layer.padding))


@register(BatchNormalization)
def _batchnorm(layer, graph, x):
    # Inference: y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta,
    # per channel. ONNX's BatchNormalization takes the channel on axis 1: NCHW for
    # images, and (N, C) for flat inputs is already that.
    if len(layer.input_shape) == 3:
        x = graph.layout(x, "NCHW")
    elif len(layer.input_shape) != 1:
        raise ExportError(f"BatchNormalization over inputs of shape {layer.input_shape}: only "
                          f"(C,) and (H, W, C) are exported")
    inputs = [x] + [graph.constant(v, k) for k, v in (
        ("gamma", layer.params["gamma"]), ("beta", layer.params["beta"]),
        ("moving_mean", layer.state["moving_mean"]),
        ("moving_variance", layer.state["moving_variance"]))]
    return graph.node("BatchNormalization", inputs, epsilon=layer.epsilon)


@register(Dense)
def _dense(layer, graph, x):
    # y = x @ W + b with W (in, units): ONNX's Gemm computes A @ B + C.
    inputs = [x, graph.constant(layer.params["W"], "W")]
    if layer.use_bias:
        inputs.append(graph.constant(layer.params["b"], "b"))
    return graph.node("Gemm", inputs)


@register(Flatten)
def _flatten(layer, graph, x):
    # minicnn flattens (h, w, c) in memory order; the next Dense's weight rows follow
    # that order, so the values must be NHWC before they are laid out in a row.
    if len(layer.input_shape) == 3:
        x = graph.layout(x, "NHWC")
    return graph.node("Flatten", [x], axis=1)


@register(GlobalAveragePooling2D)
def _global_average_pooling(layer, graph, x):
    # y[n, c] = mean over h, w: whichever layout x is in, average its two spatial axes.
    axes = [2, 3] if graph.current_layout == "NCHW" else [1, 2]
    return graph.node("ReduceMean", [x], axes=axes, keepdims=0)


@register(ReLU)
def _relu(layer, graph, x):
    return graph.node("Relu", [x])


@register(Sigmoid)
def _sigmoid(layer, graph, x):
    return graph.node("Sigmoid", [x])


@register(Softmax)
def _softmax(layer, graph, x):
    # minicnn's Softmax runs along the last axis of ITS layout: the units of a flat
    # tensor, the channels of an NHWC image, which are ONNX's axis 1 once in NCHW.
    axis = 1 if graph.current_layout == "NCHW" else -1
    return graph.node("Softmax", [x], axis=axis)


@register(Dropout)
def _dropout(layer, graph, x):
    return x  # identity at inference: no node at all


# --- the head and the export ----------------------------------------------------------

def _head(model):
    """The op that turns the model's outputs into ``predict``'s, or None.

    ``predict`` decides by ``minicnn.targets.head``; so does the export, so the two can
    never disagree.
    """
    return {None: None, "sigmoid": "Sigmoid", "softmax": "Softmax"}[targets.head(model)]


def _check_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ExportError(f"metadata must be a dict of str -> JSON values; got {type(metadata).__name__}")
    props = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ExportError(f"metadata keys must be strings; got {key!r}")
        try:
            props[key] = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ExportError(f"metadata[{key!r}] = {value!r} is not JSON-serialisable "
                              f"({exc}); use numbers, strings, lists and dicts") from None
    return props


def build_onnx_model(model, metadata=None):
    """The ``onnx.ModelProto`` for ``model`` (see :func:`export`), checked, not written."""
    onnx = _onnx()
    helper = onnx.helper
    graph = GraphBuilder(onnx)
    x = "images"
    graph._used.add(x)
    if len(model.input_shape) != 3:
        graph.current_layout = None  # flat examples: no image layout to track
    for index, layer in enumerate(model.layers):
        convert = CONVERTERS.get(type(layer))
        where = f"layer {index} '{layer.name}' ({type(layer).__name__})"
        if convert is None:
            known = ", ".join(sorted(c.__name__ for c in CONVERTERS))
            raise ExportError(f"{where} cannot be exported to ONNX: no converter for "
                              f"{type(layer).__name__}. Exportable layers: {known}. Add one "
                              f"with @minicnn.onnx.register({type(layer).__name__}) "
                              f"(see minicnn/onnx.py)")
        graph.prefix = layer.name
        try:
            x = convert(layer, graph, x)
        except ExportError as exc:
            raise ExportError(f"{where}: {exc}") from None
        if len(layer.output_shape) != 3:
            graph.current_layout = None  # a flat tensor has no layout
    graph.prefix = ""
    if len(model.output_shape) == 3:
        x = graph.layout(x, "NHWC")  # a model with image outputs returns them NHWC
    head = _head(model)
    if head == "Softmax":
        x = graph.node("Softmax", [x], name="probabilities", axis=-1)
    elif head == "Sigmoid":
        x = graph.node("Sigmoid", [x], name="probabilities")
    # Name the output "probabilities" whatever the last node was.
    output = "probabilities"
    if x != output:
        graph.nodes.append(helper.make_node("Identity", [x], [output], name="output"))

    inputs = [helper.make_tensor_value_info(
        "images", onnx.TensorProto.FLOAT, ["batch", *model.input_shape])]
    outputs = [helper.make_tensor_value_info(
        output, onnx.TensorProto.FLOAT, ["batch", *model.output_shape])]
    onnx_graph = helper.make_graph(
        graph.nodes, model.name, inputs, outputs, initializer=graph.initializers,
        doc_string=f"minicnn model {model.name!r}: NHWC float32 images in, "
                   f"probabilities (model.predict) out")
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="minicnn", producer_version=_version())
    helper.set_model_props(proto, _check_metadata(metadata))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _version():
    from . import __version__
    return __version__


def export(model, path, metadata=None):
    """Write ``model`` as an ONNX file that computes ``model.predict``.

    Parameters
    ----------
    model : minicnn.Sequential
        Every layer must have a converter in :data:`CONVERTERS` (all of
        ``minicnn.layers`` do). Weights are stored as float32.
    path : str or path-like
        The ``.onnx`` file; written atomically (a temporary file, then a rename).
    metadata : dict of str -> JSON-serialisable, optional
        Stored in the file's ``metadata_props`` (default: ``model.metadata``), e.g. the
        decision threshold and the preprocessing the model expects.

    Returns
    -------
    str
        The path written. The graph has one input ``images`` of shape
        ``(batch, *model.input_shape)`` (NHWC, float32, the pixels ``predict`` takes)
        and one output ``probabilities`` of shape ``(batch, *model.output_shape)``.

    Raises
    ------
    ImportError
        Without the ``onnx`` package (``pip install minicnn[onnx]``).
    ExportError
        A layer without a converter (the message names its index, name and class), or
        metadata that is not JSON.
    """
    if metadata is None:
        metadata = getattr(model, "metadata", None) or None
    proto = build_onnx_model(model, metadata)
    path = os.fspath(path)
    with atomic_write(path, prefix=".minicnn-onnx-", suffix=".onnx") as f:
        f.write(proto.SerializeToString())
    return path


def read_metadata(path):
    """The ``metadata`` dict that :func:`export` stored in the ONNX file ``path``."""
    onnx = _onnx()
    proto = onnx.load(os.fspath(path), load_external_data=False)
    out = {}
    for prop in proto.metadata_props:
        try:
            out[prop.key] = json.loads(prop.value)
        except ValueError:
            out[prop.key] = prop.value  # written by another tool: keep the text
    return out
