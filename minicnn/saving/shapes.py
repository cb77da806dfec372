"""The arrays each layer will make, known before it makes them.

Step 3 of loading (see ``minicnn.saving``): every array the architecture implies is
predicted, shape by shape, from the layers' arguments and the shapes flowing through
them, so that the total can be compared with ``max_bytes`` before anything is allocated.
"""

import math

from ..layers.conv import Conv2D
from ..layers.dense import Dense
from ..layers.normalization import BatchNormalization


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
# others own none. tests/saving/test_shapes.py builds every library layer and compares,
# so a new layer with arrays (or a changed build) fails there until it is described here.
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


def nbytes(shape, dtype):
    return math.prod(shape) * dtype.itemsize  # Python ints: no overflow for any declaration
