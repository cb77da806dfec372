"""Saving and loading models: one ``.npz`` file, architecture as JSON plus arrays, no pickle.

The file holds

* ``__minicnn_config__``: a NumPy unicode array with the JSON architecture: each layer's
  class name and constructor arguments (``Layer.get_config()``), the names of its params
  and state arrays, the model's input shape, dtype, name and a user ``metadata`` dict;
* ``layers.<i>.params.<name>`` and ``layers.<i>.state.<name>``: every array, as is.

Loading rebuilds each layer from ``LAYER_REGISTRY`` (every ``Layer`` subclass registers
itself by class name), builds the model, and copies the arrays in, so predictions are
bit-identical. ``np.load(..., allow_pickle=False)`` means a model file can never run code.
"""

import importlib
import json
import os
import pkgutil

import numpy as np

from .files import atomic_write
from .layers.base import LAYER_REGISTRY

__all__ = ["save_model", "load_model", "model_config"]

_FORMAT = "minicnn.Sequential"
_FORMAT_VERSION = 1
_CONFIG_KEY = "__minicnn_config__"


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


def model_config(model, metadata):
    """The JSON-able description of ``model``: format, input shape, dtype, layers, metadata."""
    layers = []
    for layer in model.layers:
        layers.append({"class_name": type(layer).__name__, "config": layer.get_config(),
                       "params": list(layer.params), "state": list(layer.state)})
    return {"format": _FORMAT, "format_version": _FORMAT_VERSION,
            "name": model.name, "input_shape": list(model.input_shape),
            "dtype": model.dtype.name, "layers": layers, "metadata": metadata}


def save_model(model, path, metadata=None):
    """Write the model to ONE ``.npz`` file; return the path written.

    The file holds the architecture as JSON (each layer's class name and
    ``get_config()``, the input shape, dtype and ``metadata``) in a NumPy unicode
    array, and every parameter and state array as ``layers.<i>.params.<name>`` /
    ``layers.<i>.state.<name>``. No pickle: load it with ``allow_pickle=False``.
    The optimizer state is not saved (compile again to continue training).

    Parameters
    ----------
    path : str or path
        ``.npz`` is appended when missing (as ``numpy.savez`` does).
    metadata : dict, optional
        JSON-serialisable facts to keep with the model, e.g. the decision
        threshold ``{"threshold": 0.31}``. Defaults to ``model.metadata``.

    The file is written to a temporary name in the same directory and renamed
    over ``path`` at the end: an interrupted save never leaves a broken model.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    metadata = model.metadata if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise ValueError(f"Sequential.save: metadata must be a dict, got {type(metadata).__name__}")
    try:
        config = json.dumps(model_config(model, metadata), default=_json_default)
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
    with atomic_write(path, prefix=".minicnn-save-", suffix=".npz") as f:
        np.savez(f, **arrays)
    model.metadata = metadata
    return path


def load_model(path, model_class):
    """Rebuild a model written by ``save``; ``model.metadata`` holds its metadata.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a minicnn model, or is damaged; the message names it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Sequential.load: no model file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if _CONFIG_KEY not in files:
                raise KeyError(f"no '{_CONFIG_KEY}' entry")
            config = json.loads(str(data[_CONFIG_KEY]))
            arrays = {key: data[key] for key in files if key != _CONFIG_KEY}
    except Exception as error:  # zip, npy, JSON errors: all mean "not a usable file"
        raise ValueError(f"Sequential.load: {path!r} is not a readable minicnn model file "
                         f"({type(error).__name__}: {error})") from error
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"Sequential.load: {path!r} is not a minicnn Sequential model")
    if config.get("format_version", 0) > _FORMAT_VERSION:
        raise ValueError(f"Sequential.load: {path!r} was written by a newer minicnn "
                         f"(format {config['format_version']}); upgrade minicnn")

    _import_all_layer_modules()
    layers = []
    for i, entry in enumerate(config["layers"]):
        layer_class = LAYER_REGISTRY.get(entry["class_name"])
        if layer_class is None:
            raise ValueError(f"Sequential.load: {path!r} uses layer class "
                             f"{entry['class_name']!r}, which minicnn does not know; "
                             "import the module that defines it first")
        layers.append(layer_class(**entry["config"]))
    model = model_class(layers, input_shape=config["input_shape"], dtype=config["dtype"],
                name=config["name"])
    for i, (layer, entry) in enumerate(zip(model.layers, config["layers"])):
        for kind, store in (("params", layer.params), ("state", layer.state)):
            if sorted(store) != sorted(entry[kind]):
                raise ValueError(f"Sequential.load: {path!r}: layer {i} '{layer.name}' has "
                                 f"{kind} {sorted(store)}, the file {sorted(entry[kind])}")
            for key, target in store.items():
                value = arrays.get(f"layers.{i}.{kind}.{key}")
                if value is None or value.shape != target.shape or value.dtype != target.dtype:
                    found = None if value is None else (value.shape, str(value.dtype))
                    raise ValueError(f"Sequential.load: {path!r}: layer {i} '{layer.name}' "
                                     f"{kind} '{key}' should be {target.shape} "
                                     f"{target.dtype}, the file has {found}")
                target[...] = value
    model.metadata = config.get("metadata") or {}
    return model
