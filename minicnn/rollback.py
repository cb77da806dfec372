"""Undo one training step: a copy of everything a step changes, put back when the step went wrong.

A training step changes three kinds of arrays in place:

* the parameters (the optimizer's update),
* the optimizer's own memory (SGD's velocity, Adam's moments, the step count that
  Adam's bias correction divides by),
* state that a layer updates in its forward pass (BatchNormalization's moving mean and
  variance).

``minicnn.callbacks.NaNGuard`` stops ``fit`` when a step goes wrong and must then leave
the model exactly as it was before that step. Before every step it calls
:meth:`StepSnapshot.save`, which copies those arrays into buffers made once and reused
(a step never allocates them again); when the step went wrong it calls
:meth:`StepSnapshot.restore`. The copy moves as many bytes as the parameters and the
optimizer's memory hold: about what the optimizer's update itself reads and writes,
and little next to a forward and a backward pass.

Why check the weights when the loss is already checked? Because a finite loss does not
mean finite weights. The loss is computed BEFORE the update, so an update that
overflows, SGD's ``p - lr * g`` with a large learning rate past float32's 3.4e38, say,
meets a perfectly finite loss; the next step's loss would be NaN, and by then the inf
would be in the weights. :func:`first_non_finite` looks after the update, cheaply: one
sum per array, since a sum is finite when every term is (and nothing overflows); only
an array whose sum is not finite is scanned element by element, so a sum that merely
overflowed raises no false alarm.
"""

import numpy as np

__all__ = ["StepSnapshot", "first_non_finite"]


class StepSnapshot:
    """The parameters, layer state and optimizer memory of ``model`` at one moment.

    ``save()`` copies them (reusing the buffers of the last ``save`` for the same
    arrays), ``restore()`` writes the copies back in place, so layers and optimizer
    keep their arrays. The optimizer's memory is every attribute of the optimizer
    object: arrays (found directly or inside lists, tuples and dicts) are copied, other
    values (numbers such as ``iterations``) are kept as they are, and containers are
    rebuilt as they were (an optimizer whose slots were created during the step gets
    its empty list back). Objects of other types inside the optimizer are not copied.
    """

    def __init__(self, model):
        self.model = model
        self._buffers = {}  # id(live array) -> (live array, its copy)
        self._model_arrays = None
        self._optimizer = None

    def _keep(self, array, used):
        entry = self._buffers.get(id(array))
        if entry is None or entry[0] is not array or entry[1].shape != array.shape:
            entry = (array, np.empty_like(array))
        np.copyto(entry[1], array)
        used[id(array)] = entry
        return entry

    def save(self):
        """Copy everything a step may change."""
        used = {}
        self._model_arrays = [self._keep(a, used) for a in self.model._arrays()]
        optimizer = self.model.optimizer
        self._optimizer = (None if optimizer is None else
                           (optimizer, {k: _freeze(v, lambda a: self._keep(a, used))
                                        for k, v in vars(optimizer).items()}))
        self._buffers = used  # arrays no longer in use are forgotten

    def restore(self):
        """Put back what the last ``save`` copied."""
        if self._model_arrays is None:
            raise RuntimeError("StepSnapshot.restore: call save() first")
        for array, copy in self._model_arrays:
            np.copyto(array, copy)
        if self._optimizer is not None:
            optimizer, saved = self._optimizer
            for name in set(vars(optimizer)) - set(saved):
                delattr(optimizer, name)  # made during the step
            for name, frozen in saved.items():
                setattr(optimizer, name, _thaw(frozen))


def _freeze(value, keep):
    if isinstance(value, np.ndarray):
        return ("array", keep(value))
    if isinstance(value, dict):
        return ("dict", type(value), {k: _freeze(v, keep) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return ("sequence", type(value), [_freeze(v, keep) for v in value])
    return ("value", value)


def _thaw(frozen):
    kind = frozen[0]
    if kind == "array":
        array, copy = frozen[1]
        np.copyto(array, copy)
        return array
    if kind == "dict":
        return frozen[1]((k, _thaw(v)) for k, v in frozen[2].items())
    if kind == "sequence":
        return frozen[1](_thaw(v) for v in frozen[2])
    return frozen[1]


def _arrays_in(value, path):
    """(path, array) for every array in ``value`` and the lists, tuples, dicts it holds."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays_in(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _arrays_in(item, f"{path}[{i}]")


def _finite(array):
    if array.dtype.kind not in "fc":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(array.sum()):
            return True
    return bool(np.isfinite(array).all())  # the sum may have overflowed: look at each value


def first_non_finite(model):
    """The name of the first parameter or optimizer array holding inf or NaN, or None.

    Parameters are named ``"<layer>.<param>"`` (``"dense_1.W"``); the optimizer's arrays
    by their attribute path (``"SGD.slots[2]['velocity']"``). Layer state is not
    checked: BatchNormalization's statistics come from the forward pass, whose NaNs
    show in the loss.
    """
    for layer in model.layers:
        for key, array in layer.params.items():
            if not _finite(array):
                return f"{layer.name}.{key}"
    optimizer = model.optimizer
    if optimizer is not None:
        for name, value in vars(optimizer).items():
            for path, array in _arrays_in(value, f"{type(optimizer).__name__}.{name}"):
                if not _finite(array):
                    return path
    return None
