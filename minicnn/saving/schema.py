"""The schema of the architecture: what its top level and each layer entry may say.

Step 2 of loading (see ``minicnn.saving``): the known keys and their types; a layer's
class must be registered (``LAYER_REGISTRY``) and its arguments must be the
constructor's (``layer_schema``: names from the signature, types from the defaults).
"""

import importlib
import inspect
import math
import numbers
import pkgutil

import numpy as np

from ..layers.base import LAYER_REGISTRY
from .file_format import FORMAT, FORMAT_VERSION, LAYER_KEYS, TOP_LEVEL_KEYS, Refused


def import_all_layer_modules():
    """Import every module of ``minicnn.layers`` so LAYER_REGISTRY knows every class."""
    package = importlib.import_module("minicnn.layers")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"minicnn.layers.{module.name}")


def layer_schema(layer_class):
    """The constructor arguments of ``layer_class``: ``{name: inspect.Parameter}``, in order.

    Read from the signature of ``__init__``, so it follows the layer classes: an argument
    in a file that the constructor does not take is unknown, one it requires is missing,
    and an argument whose default is a bool, a number or a string must be one too.
    """
    signature = inspect.signature(layer_class.__init__)
    return {name: p for name, p in list(signature.parameters.items())[1:]
            if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_plain(value):
    """None, a bool, a finite number, a string, or a flat list of those: all a layer takes."""
    leaf = (value is None or isinstance(value, (bool, str)) or is_number(value))
    return leaf or (isinstance(value, list) and all(_is_plain(v) and not isinstance(v, list)
                                                    for v in value))


def argument_problem(name, value, parameter):
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
        ok = is_number(value) or (isinstance(value, list) and all(map(is_number, value)))
    elif isinstance(default, str):
        wanted, ok = "a string", isinstance(value, str)
    else:
        return None
    return None if ok else f"argument {name!r} must be {wanted}, got {value!r}"


def check_top_level(config):
    """Check the architecture's own keys; return ``(input_shape, dtype, name, metadata)``."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise Refused("is not a minicnn Sequential model")
    unknown = sorted(set(config) - TOP_LEVEL_KEYS)
    if unknown:
        raise Refused(f"the architecture has unknown key(s) {', '.join(map(repr, unknown))}")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise Refused(f"'format_version' must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise Refused(f"was written by a newer minicnn (format {version}); upgrade minicnn")
    shape = config.get("input_shape")
    if (not isinstance(shape, list) or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise Refused(f"'input_shape' must be a list of positive integers, got {shape!r}")
    if config.get("dtype") not in ("float32", "float64"):
        raise Refused(f"'dtype' must be \"float32\" or \"float64\", got {config.get('dtype')!r}")
    name = config.get("name")
    if not isinstance(name, str):
        raise Refused(f"the model's 'name' must be a string, got {name!r}")
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise Refused(f"'metadata' must be a dict, got {type(metadata).__name__}")
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise Refused(f"'layers' must be a non-empty list, got {type(layers).__name__} "
                      f"{str(layers)[:60]}")
    return tuple(shape), np.dtype(config["dtype"]), name, metadata or {}


def make_layer(i, entry):
    """Check one layer entry against the schema and construct the layer (nothing built)."""
    if not isinstance(entry, dict):
        raise Refused(f"layer {i} is not a dict but {type(entry).__name__} {str(entry)[:60]!r}")
    keys = set(entry)
    if keys != LAYER_KEYS:
        missing, extra = sorted(LAYER_KEYS - keys), sorted(keys - LAYER_KEYS)
        raise Refused(f"layer {i} must have exactly the keys {sorted(LAYER_KEYS)}"
                      + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                      + (f"; unknown {', '.join(map(repr, extra))}" if extra else ""))
    class_name = entry["class_name"]
    if not isinstance(class_name, str):
        raise Refused(f"layer {i}: 'class_name' must be a string, got {class_name!r}")
    layer_class = LAYER_REGISTRY.get(class_name)
    if layer_class is None:
        raise Refused(f"uses layer class {class_name!r} (layer {i}), which minicnn does not "
                      "know; import the module that defines it first")
    where = f"layer {i} ({class_name})"
    for kind in ("params", "state"):
        names = entry[kind]
        if (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
                or len(set(names)) != len(names)):
            raise Refused(f"{where}: {kind!r} must be a list of distinct names, got {names!r}")
    arguments = entry["config"]
    if not isinstance(arguments, dict):
        raise Refused(f"{where}: 'config' must be a dict of constructor arguments, "
                      f"got {arguments!r}")
    schema = layer_schema(layer_class)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD
                    for p in inspect.signature(layer_class.__init__).parameters.values())
    for name in arguments:
        if name not in schema and not takes_any:
            raise Refused(f"{where}: unknown argument {name!r} ({class_name} takes "
                          f"{', '.join(schema)})")
    for name, parameter in schema.items():
        if name not in arguments:
            if parameter.default is inspect.Parameter.empty:
                raise Refused(f"{where}: argument {name!r} is missing")
            continue
        problem = argument_problem(name, arguments[name], parameter)
        if problem:
            raise Refused(f"{where}: {problem}")
    try:
        return layer_class(**arguments)
    except (TypeError, ValueError) as error:
        raise Refused(f"{where} cannot be made from its arguments {arguments}: {error}") from None
