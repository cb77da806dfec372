"""What the saving tests share: small models, their files read back or crafted, layer samples."""

import json

import numpy as np

from minicnn.layers.activations import ReLU
from minicnn.layers.base import LAYER_REGISTRY
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.normalization import BatchNormalization
from minicnn.model import Sequential
from minicnn.saving.schema import import_all_layer_modules


def data(n=16, shape=(10, 10, 3), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype(np.float32)
    return x, y


def small_model():
    return Sequential([Conv2D(2, 3), ReLU(), Flatten(), Dense(1)], input_shape=(5, 5, 1), seed=0)


def members(path):
    """``(config dict, {key: array})`` of a saved model, read the plain NumPy way."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(str(arrays.pop("__minicnn_config__"))), arrays


def craft(tmp_path, name, edit_config=None, edit_arrays=None, config_text=None):
    """A copy of a small model's file with its architecture or arrays edited."""
    config, arrays = members(small_model().save(tmp_path / "good.npz"))
    if edit_config is not None:
        edit_config(config)
    if edit_arrays is not None:
        edit_arrays(arrays)
    text = json.dumps(config) if config_text is None else config_text
    np.savez(tmp_path / name, __minicnn_config__=np.array(text), **arrays)
    return tmp_path / name


def dense(config):
    return config["layers"][3]


def trained_with(optimizer, epochs=2):
    model = Sequential([Conv2D(2, 3), BatchNormalization(), ReLU(), Flatten(), Dense(1)],
                       input_shape=(5, 5, 1), seed=0)
    model.compile(optimizer)
    x, y = data(shape=(5, 5, 1))
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model, x, y


# The library's layers, each with arguments and an input shape to build it from.
LAYER_SAMPLES = {
    "Conv2D": [({"filters": 3, "kernel_size": [2, 3]}, (6, 7, 2)),
               ({"filters": 1, "kernel_size": 1, "use_bias": False}, (4, 4, 5))],
    "Dense": [({"units": 4}, (7,)), ({"units": 2, "use_bias": False}, (3,))],
    "BatchNormalization": [({}, (5,)), ({"momentum": 0.5}, (4, 4, 3))],
    "Dropout": [({"rate": 0.5}, (3, 2))],
    "Flatten": [({}, (2, 3, 4))],
    "GlobalAveragePooling2D": [({}, (4, 4, 3))],
    "MaxPool2D": [({"pool_size": 2}, (4, 4, 3))],
    "ReLU": [({}, (5,))],
    "Sigmoid": [({}, (5,))],
    "Softmax": [({}, (5,))],
}


def library_layer_classes():
    import_all_layer_modules()
    return {name: cls for name, cls in LAYER_REGISTRY.items()
            if cls.__module__.startswith("minicnn.layers.")}
