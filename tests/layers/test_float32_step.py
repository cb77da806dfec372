"""No float64 anywhere in a float32 training step of the original CNN's layer stack."""

import numpy as np

from minicnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from minicnn.model import Sequential


def original_cnn(input_shape):
    """The original CNN's stack (as examples/chest_xray/models.py builds it), float32 by default."""
    def conv(filters):
        return Conv2D(filters, 3, kernel_initializer="glorot_uniform")
    return Sequential([conv(32), ReLU(), MaxPool2D(2), conv(64), ReLU(), MaxPool2D(2),
                       conv(128), ReLU(), MaxPool2D(2),
                       Flatten(), Dense(128), ReLU(), Dropout(0.5, seed=0), Dense(1)],
                      input_shape=input_shape, seed=0)


def test_every_layer_output_gradient_and_param_grad_stays_float32():
    model = original_cnn((40, 40, 3))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 40, 40, 3)).astype(np.float32)
    y = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)
    h, outputs = x, []
    for layer in model.layers:
        h = layer.forward(h, training=True)
        outputs.append((layer.name, h.dtype))
    assert all(dtype == np.float32 for _, dtype in outputs), outputs
    g, grads_in = np.ones_like(h), []
    for layer in reversed(model.layers):
        g = layer.backward(g)
        if g is not None:
            grads_in.append((layer.name, g.dtype))
    assert all(dtype == np.float32 for _, dtype in grads_in), grads_in
    model.train_on_batch(x, y)
    for layer in model.layers:
        for key in layer.params:
            assert layer.params[key].dtype == np.float32, (layer.name, key)
            assert layer.grads[key].dtype == np.float32, (layer.name, key)
