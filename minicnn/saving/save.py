"""Writing a model: its architecture as JSON, its arrays, and optionally its optimizer."""

import json
import os
import warnings

import numpy as np

from ..files import atomic_write
from ..optimizers import OPTIMIZER_CLASSES
from .file_format import CONFIG_KEY, FORMAT, FORMAT_VERSION


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
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
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
    arrays = {CONFIG_KEY: np.array(config)}
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
