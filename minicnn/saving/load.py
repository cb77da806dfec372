"""Loading a model file without trusting it: the plan, then ``load_model``.

Steps 3 to 5 of loading (see ``minicnn.saving``): the plan checks every member's header
and size (and the optimizer's) against what the schema and the predicted shapes allow,
and the total against ``max_bytes``, allocating nothing; only then is the model built and
each array read into its layer's own buffer. The members are read through ``archive``.
"""

import os
import zipfile

import numpy as np

from ..optimizers import OPTIMIZER_CLASSES
from .archive import READ_ERRORS, Archive, check_member, read_config
from .file_format import CONFIG_KEY, DEFAULT_MAX_BYTES, OPTIMIZER_KEYS, Refused
from .schema import (argument_problem, check_top_level, import_all_layer_modules, layer_schema,
                     make_layer)
from .shapes import expected_arrays, nbytes


def _plan_optimizer(archive, entry, param_shapes, dtype, total, max_bytes):
    """Check the file's optimizer against the model's parameters, allocating nothing.

    ``param_shapes`` maps ``"layers.<i>.params.<name>"`` to its shape, in the model's
    order. Returns ``(optimizer, slots, plan, total)``: the optimizer made from its
    arguments, the slots' parameter keys, and ``(j, name, shape, fortran_order, offset)``
    for each array.
    """
    if not isinstance(entry, dict) or set(entry) != OPTIMIZER_KEYS:
        raise Refused(f"'optimizer' must be a dict with exactly the keys "
                      f"{sorted(OPTIMIZER_KEYS)}, got {str(entry)[:80]}")
    class_name = entry["class_name"]
    optimizer_class = OPTIMIZER_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if optimizer_class is None:
        raise Refused(f"names the optimizer {class_name!r}; minicnn can load "
                      f"{sorted(OPTIMIZER_CLASSES)}")
    where = f"the optimizer ({class_name})"
    arguments = entry["config"]
    if not isinstance(arguments, dict):
        raise Refused(f"{where}: 'config' must be a dict of constructor arguments")
    schema = layer_schema(optimizer_class)
    for name, value in arguments.items():
        if name not in schema:
            raise Refused(f"{where}: unknown argument {name!r} ({class_name} takes "
                          f"{', '.join(schema)})")
        problem = argument_problem(name, value, schema[name])
        if problem:
            raise Refused(f"{where}: {problem}")
    try:
        optimizer = optimizer_class(**arguments)
    except (TypeError, ValueError) as error:
        raise Refused(f"{where} cannot be made from its arguments {arguments}: {error}") from None
    iterations = entry["iterations"]
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise Refused(f"{where}: 'iterations' must be an integer >= 0, got {iterations!r}")
    slots = entry["slots"]
    if not isinstance(slots, list) or len(slots) not in (0, len(param_shapes)):
        raise Refused(f"{where}: 'slots' must be a list of one entry per parameter of the "
                      f"model ({len(param_shapes)}), or empty before the first step; got "
                      f"{len(slots) if isinstance(slots, list) else type(slots).__name__}")
    if (iterations == 0) != (not slots):
        raise Refused(f"{where}: {iterations} step(s) but {len(slots)} slot(s); the state "
                      "exists from the first step on")
    plan, keys = [], []
    for j, slot in enumerate(slots):
        if (not isinstance(slot, dict) or set(slot) != {"param", "arrays"}
                or slot["param"] not in param_shapes or slot["param"] in keys):
            raise Refused(f"{where}: slot {j} must be {{'param': a parameter of the model "
                          f"not named by another slot, 'arrays': [...]}}, got {str(slot)[:80]}")
        names = slot["arrays"]
        if (not isinstance(names, list) or len(set(map(str, names))) != len(names)
                or not set(names) <= set(optimizer_class.SLOT_NAMES)):
            raise Refused(f"{where}: slot {j} arrays must be distinct names among "
                          f"{list(optimizer_class.SLOT_NAMES)}, got {names!r}")
        keys.append(slot["param"])
        want = tuple(param_shapes[slot["param"]])
        for name in names:
            key = f"optimizer.{j}.{name}"
            if key not in archive.members:
                raise Refused(f"array {key!r} is missing ({where} declares it)")
            size = nbytes(want, dtype)
            total += size
            if total > max_bytes:
                raise Refused(f"{where}: array {key!r} of shape {want} takes the arrays the "
                              f"file declares to {total:,} bytes, above the limit of "
                              f"{max_bytes:,} bytes")
            fortran_order, offset = check_member(archive, key, want, dtype,
                                                 f"{where} for {slot['param']!r}", size)
            plan.append((j, name, want, fortran_order, offset))
    return optimizer, (iterations, keys), plan, total


def _plan(archive, config, max_bytes):
    """Every check that needs no allocation; returns the layers, model settings and plan.

    The plan lists ``(i, kind, name, shape, fortran_order, offset)`` for every array, in
    file order; the total of the shapes is within ``max_bytes``.
    """
    input_shape, dtype, name, metadata = check_top_level(config)
    import_all_layer_modules()
    entries = config["layers"]
    layers = [make_layer(i, entry) for i, entry in enumerate(entries)]
    plan, total, shape = [], 0, input_shape
    for i, (layer, entry) in enumerate(zip(layers, entries)):
        where = f"layer {i} '{layer.name}' ({type(layer).__name__})"
        try:
            expected = expected_arrays(layer, shape)
            out = tuple(int(d) for d in layer.compute_output_shape(shape))
        except (ValueError, TypeError, IndexError) as error:
            raise Refused(f"{where} cannot take input of shape {(None,) + shape}: "
                          f"{error}") from None
        if any(d <= 0 for d in out):
            raise Refused(f"{where}: input of shape {(None,) + shape} gives an empty output "
                          f"{(None,) + out}")
        for kind in ("params", "state"):
            declared = entry[kind]
            if expected is not None and sorted(declared) != sorted(expected[kind]):
                raise Refused(f"{where} has {kind} {sorted(expected[kind])}, the file "
                              f"declares {sorted(declared)}")
            for array in declared:
                key = f"layers.{i}.{kind}.{array}"
                if key not in archive.members:
                    raise Refused(f"array {key!r} is missing ({where} needs it)")
                if expected is not None:
                    want = tuple(expected[kind][array])
                else:  # a layer of your own: sized by its file header, bounded by the limit
                    want = tuple(archive.header(key, max_bytes)[0])
                size = nbytes(want, dtype)
                total += size
                if total > max_bytes:
                    raise Refused(
                        f"{where} needs {kind} {array!r} of shape {want} ({size:,} bytes as "
                        f"{dtype}), which takes the weights the file declares to {total:,} "
                        f"bytes, above the limit of {max_bytes:,} bytes; if this model is "
                        "really that large, pass max_bytes to minicnn.saving.load_model")
                fortran_order, offset = check_member(archive, key, want, dtype, where, size)
                plan.append((i, kind, array, want, fortran_order, offset))
        shape = out
    used = {f"layers.{i}.{kind}.{array}" for i, kind, array, *_ in plan} | {CONFIG_KEY}
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
        raise Refused(f"holds unexpected member(s) {', '.join(map(repr, unexpected[:5]))}"
                      f"{' ...' if len(unexpected) > 5 else ''} that no layer declares "
                      "(not read)")
    training_state = config.get("training_state")
    if training_state is not None and not isinstance(training_state, dict):
        raise Refused(f"'training_state' must be a dict, got {type(training_state).__name__}")
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
            raise Refused(f"array 'optimizer.{j}.{name}' holds non-finite values (NaN or "
                          "infinity)")
        slots[j][name] = target
    by_key = dict(zip(keys, slots))
    if keys and sorted(keys) != sorted(order):
        raise Refused(f"the optimizer's slots name {sorted(keys)}, the model's parameters "
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
            archive = Archive(opened)
            config = read_config(archive)
            layers, (input_shape, dtype, name, metadata), plan, planned_optimizer, \
                training_state = _plan(archive, config, max_bytes)
            try:
                model = model_class(layers, input_shape=input_shape, dtype=dtype, name=name)
            except (ValueError, TypeError) as error:
                raise Refused(str(error)) from None
            for i, kind, array, shape, fortran_order, offset in plan:
                layer = model.layers[i]
                store = layer.params if kind == "params" else layer.state
                target = store.get(array)
                key = f"layers.{i}.{kind}.{array}"
                if target is None or target.shape != shape or target.dtype != dtype:
                    found = None if target is None else (target.shape, str(target.dtype))
                    raise Refused(f"layer {i} '{layer.name}' built {kind} {array!r} as "
                                  f"{found}; the file holds {dtype} {shape}")
                archive.read_into(key, target, fortran_order, offset)
                finite = np.isfinite(target)
                if not finite.all():
                    raise Refused(f"array {key!r} holds {target.size - int(finite.sum()):,} "
                                  "non-finite value(s) (NaN or infinity): the model was "
                                  "saved after its training diverged")
            for i, layer in enumerate(model.layers):
                for kind, store in (("params", layer.params), ("state", layer.state)):
                    planned = {a for j, k, a, *_ in plan if j == i and k == kind}
                    if set(store) != planned:
                        raise Refused(f"layer {i} '{layer.name}' built {kind} {sorted(store)}, "
                                      f"the file declares {sorted(planned)}")
            if planned_optimizer is not None:
                model.optimizer = _read_optimizer(archive, model, planned_optimizer, path)
    except Refused as problem:
        raise ValueError(f"Sequential.load: {path!r}: {problem}") from None
    except READ_ERRORS as error:  # zip or npy damage: "not a usable file"
        raise ValueError(f"Sequential.load: {path!r} is not a readable minicnn model file "
                         f"({type(error).__name__}: {error})") from error
    model.metadata = metadata
    return (model, training_state) if with_training_state else model
