"""Saving and loading models: one ``.npz`` file, architecture as JSON plus arrays, no pickle.

The file is a zip (``numpy.savez``) holding

* ``__minicnn_config__.npy``: a NumPy unicode array with the JSON architecture: each
  layer's class name and constructor arguments (``Layer.get_config()``), the names of its
  params and state arrays, the model's input shape, dtype, name and a user ``metadata`` dict;
* ``layers.<i>.params.<name>.npy`` and ``layers.<i>.state.<name>.npy``: every array, as is;
* with ``include_optimizer`` (the default, as Keras's): the optimizer's class, constructor
  arguments and step count in the JSON (``"optimizer"``), and its per-parameter arrays as
  ``optimizer.<j>.<name>.npy`` (Adam's ``m`` and ``v``, SGD's ``velocity``, the weight
  average ``average``), slot ``j`` naming the parameter it belongs to. Such a file is
  format version 2 (version 1 files, without an optimizer, are still written and read);
* optionally a JSON ``"training_state"`` (what ``callbacks.BackupAndRestore`` needs to
  resume: the next epoch, the generators' states, the History so far).

Loading treats the file as hostile until proven otherwise, and allocates nothing the file
asks for before it has checked it:

1. The zip directory is read (not the members). The architecture member must be small;
   it is the only one read before the checks below.
2. The JSON is checked against a schema: the known keys and their types; each layer's
   class must be registered (``LAYER_REGISTRY``) and its arguments must be the
   constructor's (``layer_schema``: names from the signature, types from the defaults);
   each layer is then constructed (constructors allocate nothing).
3. Every array the architecture implies is predicted, shape by shape, from the layers'
   arguments and the shapes flowing through them (``expected_arrays``), and the total is
   compared with ``max_bytes``: a 9 KB file declaring ``Dense(units=10**6)`` stops here.
4. The members must be exactly those arrays (no missing, no extra one, which is never
   read); each member's ``.npy`` header (a few bytes at its start) must declare the
   predicted shape and the model's dtype, and its uncompressed size in the zip
   directory must be exactly header plus data: a member padded to 2 GiB is refused
   before it is inflated.
   The optimizer is checked the same way: its class must be one of
   ``optimizers.OPTIMIZER_CLASSES`` and its arguments those of its constructor; each
   slot must name a distinct parameter of the model, hold only the arrays that class
   keeps, and every array must be declared with the shape and dtype of its parameter
   (and counts towards ``max_bytes``).
5. Only then is the model built, and each array is read straight into the layer's own
   buffer; an array with NaN or infinity is refused.

Every failure is a ``ValueError`` naming the file and the problem. ``allow_pickle`` is
never on: an object array is refused from its header, and nothing in a model file can
run code. Layer classes outside ``minicnn.layers`` (your own, registered by importing
their module) are trusted: their arrays are sized from the file's headers (still within
``max_bytes``), and their ``build`` runs before the shapes it made are compared.

``check_metadata`` validates the metadata a prediction needs (threshold, class names,
image size, colour mode) against the loaded model.
"""

import importlib
import inspect
import json
import math
import numbers
import os
import pkgutil
import warnings
import zipfile
import zlib

import numpy as np

from .files import atomic_write
from .layers.base import LAYER_REGISTRY
from .layers.conv import Conv2D
from .layers.dense import Dense
from .layers.normalization import BatchNormalization
from .optimizers import OPTIMIZER_CLASSES

__all__ = ["save_model", "load_model", "model_config", "check_metadata", "layer_schema",
           "expected_arrays", "DEFAULT_MAX_BYTES"]

_FORMAT = "minicnn.Sequential"
_FORMAT_VERSION = 2           # 2: may hold an optimizer and a training state
_CONFIG_KEY = "__minicnn_config__"
_TOP_LEVEL_KEYS = {"format", "format_version", "name", "input_shape", "dtype", "layers",
                   "metadata", "optimizer", "training_state"}
_OPTIMIZER_KEYS = {"class_name", "config", "iterations", "slots"}
_LAYER_KEYS = {"class_name", "config", "params", "state"}

#: Largest total size of the weights (params and state) a file may declare, in bytes.
#: Building also allocates a gradient per parameter, so loading needs a few times this.
DEFAULT_MAX_BYTES = 1 << 30
_MAX_CONFIG_BYTES = 16 << 20  # the JSON architecture of any real model is a few KB
_MAX_NPY_HEADER = 1 << 16     # an .npy header is 64 to a few hundred bytes

# Reading a zip member can fail in all of these ways; each means "damaged file".
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError)


class _Refused(ValueError):
    """A problem with the file; ``load_model`` adds the file's name."""


def _import_all_layer_modules():
    """Import every module of ``minicnn.layers`` so LAYER_REGISTRY knows every class."""
    package = importlib.import_module("minicnn.layers")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"minicnn.layers.{module.name}")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{value!r} ({type(value).__name__}) is not JSON serialisable")


# --- saving ----------------------------------------------------------------------------------
def model_config(model, metadata):
    """The JSON-able description of ``model``: format, input shape, dtype, layers, metadata."""
    layers = []
    for layer in model.layers:
        layers.append({"class_name": type(layer).__name__, "config": layer.get_config(),
                       "params": list(layer.params), "state": list(layer.state)})
    return {"format": _FORMAT, "format_version": _FORMAT_VERSION,
            "name": model.name, "input_shape": list(model.input_shape),
            "dtype": model.dtype.name, "layers": layers, "metadata": metadata}


def _optimizer_config(model):
    """The optimizer's JSON entry and its arrays ``{member: array}``, or ``(None, {})``."""
    optimizer = model.optimizer
    if optimizer is None:
        return None, {}
    if type(optimizer) not in OPTIMIZER_CLASSES.values():
        warnings.warn(f"Sequential.save: the optimizer {type(optimizer).__name__} is not one of "
                      f"{sorted(OPTIMIZER_CLASSES)}, so its state is not saved "
                      "(pass include_optimizer=False to silence this)", UserWarning, stacklevel=4)
        return None, {}
    keys = [f"layers.{i}.params.{name}" for i, layer in enumerate(model.layers)
            for name in layer.params]
    state = optimizer.get_state()
    slots, arrays = [], {}
    if state["slots"]:
        if len(state["slots"]) != len(keys):
            raise ValueError(f"Sequential.save: the optimizer holds state for "
                             f"{len(state['slots'])} parameters, the model has {len(keys)}; "
                             "call model.optimizer.reset() or compile again")
        for j, (key, slot) in enumerate(zip(keys, state["slots"])):
            slots.append({"param": key, "arrays": sorted(slot)})
            arrays.update((f"optimizer.{j}.{name}", value) for name, value in slot.items())
    entry = {"class_name": type(optimizer).__name__, "config": optimizer.get_config(),
             "iterations": int(state["iterations"]), "slots": slots}
    return entry, arrays


def save_model(model, path, metadata=None, include_optimizer=True, training_state=None):
    """Write the model to ONE ``.npz`` file; return the path written.

    The file holds the architecture as JSON (each layer's class name and
    ``get_config()``, the input shape, dtype and ``metadata``) in a NumPy unicode
    array, and every parameter and state array as ``layers.<i>.params.<name>`` /
    ``layers.<i>.state.<name>``. No pickle: load it with ``allow_pickle=False``.
    With ``include_optimizer`` and a compiled model, the optimizer's configuration,
    step count and per-parameter arrays too (module docstring).

    Parameters
    ----------
    path : str or path
        ``.npz`` is appended when missing (as ``numpy.savez`` does).
    metadata : dict, optional
        JSON-serialisable facts to keep with the model, e.g. the decision
        threshold ``{"threshold": 0.31}``. Defaults to ``model.metadata``.
    include_optimizer : bool
        Store the optimizer (a ``minicnn.optimizers`` one; another object is skipped
        with a warning).
    training_state : dict, optional
        JSON-serialisable training state, read back by ``load_model(...,
        with_training_state=True)``.

    The file is written to a temporary name in the same directory and renamed
    over ``path`` at the end: an interrupted save never leaves a broken model.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    metadata = model.metadata if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise ValueError(f"Sequential.save: metadata must be a dict, got {type(metadata).__name__}")
    if training_state is not None and not isinstance(training_state, dict):
        raise ValueError(f"Sequential.save: training_state must be a dict, got "
                         f"{type(training_state).__name__}")
    config = model_config(model, metadata)
    optimizer, optimizer_arrays = _optimizer_config(model) if include_optimizer else (None, {})
    if optimizer is not None:
        config["optimizer"] = optimizer
    if training_state is not None:
        config["training_state"] = training_state
    if optimizer is None and training_state is None:
        config["format_version"] = 1  # readable by every minicnn
    try:
        config = json.dumps(config, default=_json_default)
    except TypeError as error:
        raise ValueError(f"Sequential.save: the architecture or metadata is not JSON serialisable "
                         f"({error}); layer constructor arguments and metadata must be "
                         "numbers, strings, lists, dicts or None") from error
    arrays = {_CONFIG_KEY: np.array(config)}
    for i, layer in enumerate(model.layers):
        for key, value in layer.params.items():
            arrays[f"layers.{i}.params.{key}"] = value
        for key, value in layer.state.items():
            arrays[f"layers.{i}.state.{key}"] = value
    arrays.update(optimizer_arrays)
    with atomic_write(path, prefix=".minicnn-save-", suffix=".npz") as f:
        np.savez(f, **arrays)
    model.metadata = metadata
    return path


# --- the schema: what a layer entry may say --------------------------------------------------
def layer_schema(layer_class):
    """The constructor arguments of ``layer_class``: ``{name: inspect.Parameter}``, in order.

    Read from the signature of ``__init__``, so it follows the layer classes: an argument
    in a file that the constructor does not take is unknown, one it requires is missing,
    and an argument whose default is a bool, a number or a string must be one too.
    """
    signature = inspect.signature(layer_class.__init__)
    return {name: p for name, p in list(signature.parameters.items())[1:]
            if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_plain(value):
    """None, a bool, a finite number, a string, or a flat list of those: all a layer takes."""
    leaf = (value is None or isinstance(value, (bool, str)) or _is_number(value))
    return leaf or (isinstance(value, list) and all(_is_plain(v) and not isinstance(v, list)
                                                    for v in value))


def _argument_problem(name, value, parameter):
    """Why ``value`` cannot be the argument ``name``, or None."""
    if not _is_plain(value):
        return (f"argument {name!r} is {value!r}; layer arguments are finite numbers, strings, "
                "booleans, None or flat lists of those")
    default = parameter.default
    if name == "name":
        wanted, ok = "a string or null", value is None or isinstance(value, str)
    elif default is inspect.Parameter.empty or default is None:
        return None  # the constructor checks it
    elif isinstance(default, bool):
        wanted, ok = "true or false", isinstance(value, bool)
    elif isinstance(default, numbers.Real):
        wanted = "a number (or a list of numbers)"
        ok = _is_number(value) or (isinstance(value, list) and all(map(_is_number, value)))
    elif isinstance(default, str):
        wanted, ok = "a string", isinstance(value, str)
    else:
        return None
    return None if ok else f"argument {name!r} must be {wanted}, got {value!r}"


def _check_top_level(config):
    """Check the architecture's own keys; return ``(input_shape, dtype, name, metadata)``."""
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise _Refused("is not a minicnn Sequential model")
    unknown = sorted(set(config) - _TOP_LEVEL_KEYS)
    if unknown:
        raise _Refused(f"the architecture has unknown key(s) {', '.join(map(repr, unknown))}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Refused(f"'format_version' must be a positive integer, got {version!r}")
    if version > _FORMAT_VERSION:
        raise _Refused(f"was written by a newer minicnn (format {version}); upgrade minicnn")
    shape = config.get("input_shape")
    if (not isinstance(shape, list) or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise _Refused(f"'input_shape' must be a list of positive integers, got {shape!r}")
    if config.get("dtype") not in ("float32", "float64"):
        raise _Refused(f"'dtype' must be \"float32\" or \"float64\", got {config.get('dtype')!r}")
    name = config.get("name")
    if not isinstance(name, str):
        raise _Refused(f"the model's 'name' must be a string, got {name!r}")
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _Refused(f"'metadata' must be a dict, got {type(metadata).__name__}")
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _Refused(f"'layers' must be a non-empty list, got {type(layers).__name__} "
                       f"{str(layers)[:60]}")
    return tuple(shape), np.dtype(config["dtype"]), name, metadata or {}


def _make_layer(i, entry):
    """Check one layer entry against the schema and construct the layer (nothing built)."""
    if not isinstance(entry, dict):
        raise _Refused(f"layer {i} is not a dict but {type(entry).__name__} {str(entry)[:60]!r}")
    keys = set(entry)
    if keys != _LAYER_KEYS:
        missing, extra = sorted(_LAYER_KEYS - keys), sorted(keys - _LAYER_KEYS)
        raise _Refused(f"layer {i} must have exactly the keys {sorted(_LAYER_KEYS)}"
                       + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                       + (f"; unknown {', '.join(map(repr, extra))}" if extra else ""))
    class_name = entry["class_name"]
    if not isinstance(class_name, str):
        raise _Refused(f"layer {i}: 'class_name' must be a string, got {class_name!r}")
    layer_class = LAYER_REGISTRY.get(class_name)
    if layer_class is None:
        raise _Refused(f"uses layer class {class_name!r} (layer {i}), which minicnn does not "
                       "know; import the module that defines it first")
    where = f"layer {i} ({class_name})"
    for kind in ("params", "state"):
        names = entry[kind]
        if (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
                or len(set(names)) != len(names)):
            raise _Refused(f"{where}: {kind!r} must be a list of distinct names, got {names!r}")
    arguments = entry["config"]
    if not isinstance(arguments, dict):
        raise _Refused(f"{where}: 'config' must be a dict of constructor arguments, "
                       f"got {arguments!r}")
    schema = layer_schema(layer_class)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD
                    for p in inspect.signature(layer_class.__init__).parameters.values())
    for name in arguments:
        if name not in schema and not takes_any:
            raise _Refused(f"{where}: unknown argument {name!r} ({class_name} takes "
                           f"{', '.join(schema)})")
    for name, parameter in schema.items():
        if name not in arguments:
            if parameter.default is inspect.Parameter.empty:
                raise _Refused(f"{where}: argument {name!r} is missing")
            continue
        problem = _argument_problem(name, arguments[name], parameter)
        if problem:
            raise _Refused(f"{where}: {problem}")
    try:
        return layer_class(**arguments)
    except (TypeError, ValueError) as error:
        raise _Refused(f"{where} cannot be made from its arguments {arguments}: {error}") from None


# --- the arrays each layer will make, known before it makes them ----------------------------
def _dense_arrays(layer, shape):
    if len(shape) != 1:
        raise ValueError(f"{layer.name} (Dense): expects flat examples of shape (features,), "
                         f"got example shape {shape}; put a Flatten() before it")
    params = {"W": (shape[0], layer.units)}
    if layer.use_bias:
        params["b"] = (layer.units,)
    return params, {}


def _conv_arrays(layer, shape):
    layer.compute_output_shape(shape)  # raises on anything but (H, W, C) large enough
    kh, kw = layer.kernel_size
    params = {"W": (kh, kw, shape[2], layer.filters)}
    if layer.use_bias:
        params["b"] = (layer.filters,)
    return params, {}


def _batchnorm_arrays(layer, shape):
    if len(shape) < 1:
        raise ValueError(f"{layer.name} (BatchNormalization): needs inputs with a channel axis")
    channels = (shape[-1],)
    return ({"gamma": channels, "beta": channels},
            {"moving_mean": channels, "moving_variance": channels})


# The layers of minicnn.layers that own arrays, and the shapes their build() makes. The
# others own none. tests/test_saving.py builds every library layer and compares, so a new
# layer with arrays (or a changed build) fails there until it is described here.
_ARRAY_SHAPES = {Dense: _dense_arrays, Conv2D: _conv_arrays, BatchNormalization: _batchnorm_arrays}


def expected_arrays(layer, input_shape):
    """``{"params": {name: shape}, "state": {name: shape}}`` that ``layer.build(input_shape)``
    will create, computed without building; None for a layer class outside ``minicnn.layers``
    (its shapes cannot be known before its own code runs). Raises ValueError when the layer
    cannot take ``input_shape``.
    """
    input_shape = tuple(int(d) for d in input_shape)
    rule = _ARRAY_SHAPES.get(type(layer))
    if rule is not None:
        params, state = rule(layer, input_shape)
        return {"params": params, "state": state}
    if type(layer).__module__.startswith("minicnn.layers."):
        return {"params": {}, "state": {}}
    return None


def _nbytes(shape, dtype):
    return math.prod(shape) * dtype.itemsize  # Python ints: no overflow for any declaration


# --- reading members without trusting them ---------------------------------------------------
class _Archive:
    """The members of an open zip, by array key; each read only when asked, and bounded."""

    def __init__(self, archive):
        self.archive = archive
        self.members = {}
        self.others = []
        for info in archive.infolist():
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else None
            if key is None:
                self.others.append(name)
            elif key in self.members:
                raise _Refused(f"holds two members named {name!r}")
            else:
                self.members[key] = info

    def header(self, key, limit):
        """``(shape, fortran_order, dtype, data_offset)`` of member ``key``, refusing a
        member whose uncompressed size could not fit a header and ``limit`` data bytes."""
        info = self.members[key]
        if info.file_size > limit + _MAX_NPY_HEADER:
            raise _Refused(f"member {key!r} is {info.file_size:,} bytes uncompressed, far more "
                           f"than the {limit:,} bytes its array needs; refused without "
                           "inflating it")
        with self.archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise _Refused(f"member {key!r} is in .npy format {version}, not 1.0 or 2.0")
            return shape, fortran_order, dtype, stream.tell()

    def read_into(self, key, target, fortran_order, offset):
        """Fill ``target`` (C-contiguous) with the data of member ``key``."""
        buffer = np.empty(target.shape[::-1], target.dtype) if fortran_order else target
        view = memoryview(buffer.reshape(-1).view(np.uint8))
        with self.archive.open(self.members[key]) as stream:
            stream.read(offset)
            filled = 0
            while filled < len(view):
                n = stream.readinto(view[filled:])
                if not n:
                    raise _Refused(f"member {key!r} ends after {filled:,} of its "
                                   f"{len(view):,} data bytes")
                filled += n
        if fortran_order:
            target[...] = buffer.T


def _read_config(archive):
    if _CONFIG_KEY not in archive.members:
        raise _Refused(f"is not a readable minicnn model file (no '{_CONFIG_KEY}' entry)")
    shape, _, dtype, offset = archive.header(_CONFIG_KEY, _MAX_CONFIG_BYTES)
    if shape != () or dtype.kind != "U":
        raise _Refused(f"'{_CONFIG_KEY}' must be a unicode string, got {dtype} {shape}")
    if archive.members[_CONFIG_KEY].file_size != offset + dtype.itemsize:
        raise _Refused(f"'{_CONFIG_KEY}' declares a {dtype.itemsize:,}-byte string but holds "
                       f"{archive.members[_CONFIG_KEY].file_size - offset:,} bytes")
    text = np.empty((), dtype)
    archive.read_into(_CONFIG_KEY, text, False, offset)
    try:
        return json.loads(str(text[()]))
    except (ValueError, RecursionError) as error:
        raise _Refused(f"its architecture is not valid JSON ({type(error).__name__}: "
                       f"{str(error)[:200]})") from None


def _check_member(archive, key, want, dtype, where, size):
    """The member ``key`` must be a ``dtype`` array of shape ``want`` and exactly that size."""
    file_shape, fortran_order, file_dtype, offset = archive.header(key, size)
    if file_dtype.hasobject or file_dtype != dtype or tuple(file_shape) != want:
        raise _Refused(f"member {key!r} holds {file_dtype} {tuple(file_shape)}; "
                       f"{where} needs {dtype} {want}")
    if archive.members[key].file_size != offset + size:
        raise _Refused(f"member {key!r} is {archive.members[key].file_size:,} bytes "
                       f"uncompressed; a {dtype} {want} array is {offset + size:,} "
                       "with its header")
    return fortran_order, offset


def _plan_optimizer(archive, entry, param_shapes, dtype, total, max_bytes):
    """Check the file's optimizer against the model's parameters, allocating nothing.

    ``param_shapes`` maps ``"layers.<i>.params.<name>"`` to its shape, in the model's
    order. Returns ``(optimizer, slots, plan, total)``: the optimizer made from its
    arguments, the slots' parameter keys, and ``(j, name, shape, fortran_order, offset)``
    for each array.
    """
    if not isinstance(entry, dict) or set(entry) != _OPTIMIZER_KEYS:
        raise _Refused(f"'optimizer' must be a dict with exactly the keys "
                       f"{sorted(_OPTIMIZER_KEYS)}, got {str(entry)[:80]}")
    class_name = entry["class_name"]
    optimizer_class = OPTIMIZER_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if optimizer_class is None:
        raise _Refused(f"names the optimizer {class_name!r}; minicnn can load "
                       f"{sorted(OPTIMIZER_CLASSES)}")
    where = f"the optimizer ({class_name})"
    arguments = entry["config"]
    if not isinstance(arguments, dict):
        raise _Refused(f"{where}: 'config' must be a dict of constructor arguments")
    schema = layer_schema(optimizer_class)
    for name, value in arguments.items():
        if name not in schema:
            raise _Refused(f"{where}: unknown argument {name!r} ({class_name} takes "
                           f"{', '.join(schema)})")
        problem = _argument_problem(name, value, schema[name])
        if problem:
            raise _Refused(f"{where}: {problem}")
    try:
        optimizer = optimizer_class(**arguments)
    except (TypeError, ValueError) as error:
        raise _Refused(f"{where} cannot be made from its arguments {arguments}: {error}") from None
    iterations = entry["iterations"]
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise _Refused(f"{where}: 'iterations' must be an integer >= 0, got {iterations!r}")
    slots = entry["slots"]
    if not isinstance(slots, list) or len(slots) not in (0, len(param_shapes)):
        raise _Refused(f"{where}: 'slots' must be a list of one entry per parameter of the "
                       f"model ({len(param_shapes)}), or empty before the first step; got "
                       f"{len(slots) if isinstance(slots, list) else type(slots).__name__}")
    if (iterations == 0) != (not slots):
        raise _Refused(f"{where}: {iterations} step(s) but {len(slots)} slot(s); the state "
                       "exists from the first step on")
    plan, keys = [], []
    for j, slot in enumerate(slots):
        if (not isinstance(slot, dict) or set(slot) != {"param", "arrays"}
                or slot["param"] not in param_shapes or slot["param"] in keys):
            raise _Refused(f"{where}: slot {j} must be {{'param': a parameter of the model "
                           f"not named by another slot, 'arrays': [...]}}, got {str(slot)[:80]}")
        names = slot["arrays"]
        if (not isinstance(names, list) or len(set(map(str, names))) != len(names)
                or not set(names) <= set(optimizer_class.SLOT_NAMES)):
            raise _Refused(f"{where}: slot {j} arrays must be distinct names among "
                           f"{list(optimizer_class.SLOT_NAMES)}, got {names!r}")
        keys.append(slot["param"])
        want = tuple(param_shapes[slot["param"]])
        for name in names:
            key = f"optimizer.{j}.{name}"
            if key not in archive.members:
                raise _Refused(f"array {key!r} is missing ({where} declares it)")
            size = _nbytes(want, dtype)
            total += size
            if total > max_bytes:
                raise _Refused(f"{where}: array {key!r} of shape {want} takes the arrays the "
                               f"file declares to {total:,} bytes, above the limit of "
                               f"{max_bytes:,} bytes")
            fortran_order, offset = _check_member(archive, key, want, dtype,
                                                  f"{where} for {slot['param']!r}", size)
            plan.append((j, name, want, fortran_order, offset))
    return optimizer, (iterations, keys), plan, total


def _plan(archive, config, max_bytes):
    """Every check that needs no allocation; returns the layers, model settings and plan.

    The plan lists ``(i, kind, name, shape, fortran_order, offset)`` for every array, in
    file order; the total of the shapes is within ``max_bytes``.
    """
    input_shape, dtype, name, metadata = _check_top_level(config)
    _import_all_layer_modules()
    entries = config["layers"]
    layers = [_make_layer(i, entry) for i, entry in enumerate(entries)]
    plan, total, shape = [], 0, input_shape
    for i, (layer, entry) in enumerate(zip(layers, entries)):
        where = f"layer {i} '{layer.name}' ({type(layer).__name__})"
        try:
            expected = expected_arrays(layer, shape)
            out = tuple(int(d) for d in layer.compute_output_shape(shape))
        except (ValueError, TypeError, IndexError) as error:
            raise _Refused(f"{where} cannot take input of shape {(None,) + shape}: "
                           f"{error}") from None
        if any(d <= 0 for d in out):
            raise _Refused(f"{where}: input of shape {(None,) + shape} gives an empty output "
                           f"{(None,) + out}")
        for kind in ("params", "state"):
            declared = entry[kind]
            if expected is not None and sorted(declared) != sorted(expected[kind]):
                raise _Refused(f"{where} has {kind} {sorted(expected[kind])}, the file "
                               f"declares {sorted(declared)}")
            for array in declared:
                key = f"layers.{i}.{kind}.{array}"
                if key not in archive.members:
                    raise _Refused(f"array {key!r} is missing ({where} needs it)")
                if expected is not None:
                    want = tuple(expected[kind][array])
                else:  # a layer of your own: sized by its file header, bounded by the limit
                    want = tuple(archive.header(key, max_bytes)[0])
                size = _nbytes(want, dtype)
                total += size
                if total > max_bytes:
                    raise _Refused(
                        f"{where} needs {kind} {array!r} of shape {want} ({size:,} bytes as "
                        f"{dtype}), which takes the weights the file declares to {total:,} "
                        f"bytes, above the limit of {max_bytes:,} bytes; if this model is "
                        "really that large, pass max_bytes to minicnn.saving.load_model")
                fortran_order, offset = _check_member(archive, key, want, dtype, where, size)
                plan.append((i, kind, array, want, fortran_order, offset))
        shape = out
    used = {f"layers.{i}.{kind}.{array}" for i, kind, array, *_ in plan} | {_CONFIG_KEY}
    optimizer = None
    if config.get("optimizer") is not None:
        param_shapes = {f"layers.{i}.params.{array}": want
                        for i, kind, array, want, *_ in plan if kind == "params"}
        optimizer = _plan_optimizer(archive, config["optimizer"], param_shapes, dtype, total,
                                    max_bytes)
        used |= {f"optimizer.{j}.{name}" for j, name, *_ in optimizer[2]}
        optimizer = optimizer[:3]
    unexpected = sorted(set(archive.members) - used) + sorted(archive.others)
    if unexpected:
        raise _Refused(f"holds unexpected member(s) {', '.join(map(repr, unexpected[:5]))}"
                       f"{' ...' if len(unexpected) > 5 else ''} that no layer declares "
                       "(not read)")
    training_state = config.get("training_state")
    if training_state is not None and not isinstance(training_state, dict):
        raise _Refused(f"'training_state' must be a dict, got {type(training_state).__name__}")
    return layers, (input_shape, dtype, name, metadata), plan, optimizer, training_state


def _read_optimizer(archive, model, planned, path):
    """Make the planned optimizer and fill its state from the archive, in the model's order."""
    optimizer, (iterations, keys), plan = planned
    order = [f"layers.{i}.params.{name}" for i, layer in enumerate(model.layers)
             for name in layer.params]
    slots = [{} for _ in keys]
    for j, name, shape, fortran_order, offset in plan:
        target = np.empty(shape, model.dtype)  # every declaration checked by _plan_optimizer
        archive.read_into(f"optimizer.{j}.{name}", target, fortran_order, offset)
        if not np.isfinite(target).all():
            raise _Refused(f"array 'optimizer.{j}.{name}' holds non-finite values (NaN or "
                           "infinity)")
        slots[j][name] = target
    by_key = dict(zip(keys, slots))
    if keys and sorted(keys) != sorted(order):
        raise _Refused(f"the optimizer's slots name {sorted(keys)}, the model's parameters "
                       f"are {order}")
    optimizer.set_state({"iterations": iterations,
                         "slots": [by_key[key] for key in order] if keys else []})
    return optimizer


def load_model(path, model_class, max_bytes=DEFAULT_MAX_BYTES, with_training_state=False):
    """Rebuild a model written by ``save``; ``model.metadata`` holds its metadata.

    The file is checked completely before anything it declares is allocated (see the
    module docstring); ``max_bytes`` bounds the total size of its weights (and of the
    optimizer's arrays). A stored optimizer becomes ``model.optimizer``, its state
    restored (compile with it to train on). ``with_training_state=True`` returns
    ``(model, training_state)``, the latter None when the file has none.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a minicnn model, is damaged, declares more than ``max_bytes`` of
        weights, or holds a NaN or infinite weight; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Sequential.load: no model file at {path!r}")
    try:
        with zipfile.ZipFile(path) as opened:
            archive = _Archive(opened)
            config = _read_config(archive)
            layers, (input_shape, dtype, name, metadata), plan, planned_optimizer, \
                training_state = _plan(archive, config, max_bytes)
            try:
                model = model_class(layers, input_shape=input_shape, dtype=dtype, name=name)
            except (ValueError, TypeError) as error:
                raise _Refused(str(error)) from None
            for i, kind, array, shape, fortran_order, offset in plan:
                layer = model.layers[i]
                store = layer.params if kind == "params" else layer.state
                target = store.get(array)
                key = f"layers.{i}.{kind}.{array}"
                if target is None or target.shape != shape or target.dtype != dtype:
                    found = None if target is None else (target.shape, str(target.dtype))
                    raise _Refused(f"layer {i} '{layer.name}' built {kind} {array!r} as "
                                   f"{found}; the file holds {dtype} {shape}")
                archive.read_into(key, target, fortran_order, offset)
                finite = np.isfinite(target)
                if not finite.all():
                    raise _Refused(f"array {key!r} holds {target.size - int(finite.sum()):,} "
                                   "non-finite value(s) (NaN or infinity): the model was "
                                   "saved after its training diverged")
            for i, layer in enumerate(model.layers):
                for kind, store in (("params", layer.params), ("state", layer.state)):
                    planned = {a for j, k, a, *_ in plan if j == i and k == kind}
                    if set(store) != planned:
                        raise _Refused(f"layer {i} '{layer.name}' built {kind} {sorted(store)}, "
                                       f"the file declares {sorted(planned)}")
            if planned_optimizer is not None:
                model.optimizer = _read_optimizer(archive, model, planned_optimizer, path)
    except _Refused as problem:
        raise ValueError(f"Sequential.load: {path!r}: {problem}") from None
    except _READ_ERRORS as error:  # zip or npy damage: "not a usable file"
        raise ValueError(f"Sequential.load: {path!r} is not a readable minicnn model file "
                         f"({type(error).__name__}: {error})") from error
    model.metadata = metadata
    return (model, training_state) if with_training_state else model


# --- what a prediction needs from the metadata -----------------------------------------------
def check_metadata(model, path=None):
    """Validate the prediction settings in ``model.metadata``; return them, defaults filled in.

    Every key is optional; a key that is present with a wrong value is an error, never
    replaced by its default.

    ``threshold``
        A finite number in [0, 1] (not a bool): ``P(class 1) >= threshold`` predicts
        class 1. Default 0.5.
    ``class_names``
        A list of distinct strings, one per class: 2 for a model with one output (a
        sigmoid over logits), ``k`` for ``k`` outputs. Default ``["0", "1", ...]``.
    ``image_size``
        ``[height, width]``, integers equal to the model's input. Default the model's;
        None for a model whose input is not an image ``(H, W, C)`` (then the key must
        be absent).
    ``color_mode``
        One of ``minicnn.data.decode.COLOR_MODES`` whose channel count is the model's
        input channels. Default the mode with that count; None when there is none.

    Returns
    -------
    dict with exactly the keys ``threshold`` (float), ``class_names`` (list of str),
    ``image_size`` (tuple or None) and ``color_mode`` (str or None).

    Raises
    ------
    ValueError
        Naming ``path`` (when given) and the key, what it holds and what was expected.
    """
    from .data.decode import COLOR_MODES  # here: minicnn.data imports much that saving needs not

    metadata = model.metadata
    where = f"the metadata of {os.fspath(path)!r}" if path is not None else "the model's metadata"
    if not isinstance(metadata, dict):
        raise ValueError(f"{where} must be a dict, got {type(metadata).__name__}")

    def bad(key, wanted):
        return ValueError(f"{where}: {key!r} must be {wanted}; got {metadata[key]!r}")

    threshold = metadata.get("threshold", 0.5)
    if not _is_number(threshold) or not 0 <= threshold <= 1:
        raise bad("threshold", "a number in [0, 1]")

    outputs = int(model.output_shape[-1])
    classes = 2 if outputs == 1 else outputs
    names = metadata.get("class_names", [str(c) for c in range(classes)])
    if (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
            or len(set(names)) != len(names) or len(names) != classes):
        raise bad("class_names", f"a list of {classes} distinct strings, one per class of "
                                 f"this model ({outputs} output(s))")

    is_image = len(model.input_shape) == 3
    size = tuple(model.input_shape[:2]) if is_image else None
    if "image_size" in metadata:
        value = metadata["image_size"]
        if (size is None or not isinstance(value, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
                or tuple(value) != size):
            raise bad("image_size", f"[height, width] equal to the model's input {size}"
                      if size else "absent: this model's input is not an image (H, W, C)")

    channels = model.input_shape[-1] if is_image else None
    modes = [m for m, c in COLOR_MODES.items() if c == channels]
    mode = metadata.get("color_mode", modes[0] if modes else None)
    if "color_mode" in metadata and (not isinstance(mode, str) or mode not in modes):
        raise bad("color_mode", f"one of {modes}, the mode(s) with this model's "
                                f"{channels} input channel(s)" if modes
                  else "absent: no colour mode has this model's input channels")
    return {"threshold": float(threshold), "class_names": list(names), "image_size": size,
            "color_mode": mode}
