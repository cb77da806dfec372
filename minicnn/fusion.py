"""Inference without training baggage: where Conv2D -> ReLU -> MaxPool2D runs as one kernel.

Training needs every layer's forward to keep what its backward reads (Conv2D its input,
ReLU its mask, MaxPool2D its argmax). Inference (``predict``, ``evaluate``) needs none of
it, and the block every CNN here is made of,

    Conv2D -> ReLU -> MaxPool2D(2)

can then run as ONE pass over the convolution's output, a band at a time in cache:
``minicnn.kernels.conv_relu_maxpool``, whose NumPy reference is literally the three
layers' forwards in turn. :func:`inference_steps` reads a model's layers and replaces
each such block by a :class:`ConvReluPool` step; every other layer runs its own
``forward(x, training=False)``, and what it kept for backward is dropped right after.

The block is fused only when the result is the same computation:

* a ``Conv2D`` (any kernel, strides, padding, bias or none),
* directly followed by a ``ReLU`` layer (not another activation),
* directly followed by a ``MaxPool2D`` with a 2x2 pool and stride 2 (``"valid"`` or
  ``"same"``); any other pool runs unfused.

:func:`why_not_fused` says, in words, why a block at a given index is not fused.
"""

from . import kernels
from .layers.activations import ReLU
from .layers.conv import Conv2D
from .layers.pooling import MaxPool2D

__all__ = ["ConvReluPool", "why_not_fused", "inference_steps", "infer"]


class ConvReluPool:
    """One inference step standing for the layers ``conv``, ``relu``, ``pool`` in turn."""

    def __init__(self, conv, relu, pool):
        self.layers = (conv, relu, pool)

    def __call__(self, x):
        conv, _, pool = self.layers
        conv.check_input_shape(x.shape)
        for layer in self.layers:
            layer.drop_kept()  # a training step's leftovers: their memory can be reused
        Wm = conv.params["W"].reshape(-1, conv.filters)                   # (kh*kw*C, F)
        return kernels.conv_relu_maxpool(x, Wm, conv.params.get("b"), conv.window, pool.window)

    def __repr__(self):
        return "ConvReluPool(" + ", ".join(layer.name for layer in self.layers) + ")"


def why_not_fused(layers, index):
    """None when ``layers[index:index + 3]`` is a block to fuse, else the reason (a str)."""
    block = layers[index:index + 3]
    if len(block) < 3:
        return "fewer than three layers left"
    conv, relu, pool = block
    if type(conv) is not Conv2D:
        return f"{conv.name} is a {type(conv).__name__}, not a Conv2D"
    if type(relu) is not ReLU:
        return f"{relu.name} after the convolution is a {type(relu).__name__}, not a ReLU"
    if type(pool) is not MaxPool2D:
        return f"{pool.name} after the ReLU is a {type(pool).__name__}, not a MaxPool2D"
    if not kernels.pool_is_2x2(pool.window):
        return f"{pool.name} pools {pool.pool_size} by {pool.strides}, not 2x2 by 2"
    return None


def inference_steps(layers):
    """The steps of an inference pass: fused blocks and the remaining layers, in order."""
    steps, index = [], 0
    while index < len(layers):
        if why_not_fused(layers, index) is None:
            steps.append(ConvReluPool(*layers[index:index + 3]))
            index += 3
        else:
            steps.append(layers[index])
            index += 1
    return steps


def infer(layers, x):
    """The output of ``layers`` for the batch ``x`` in inference mode, keeping nothing.

    The numbers of ``forward(x, training=False)`` layer by layer, up to float rounding:
    a fused block's products are summed in another order, or by Winograd's F(2x2, 3x3)
    (``minicnn.kernels.fused``).
    """
    for step in inference_steps(layers):
        if isinstance(step, ConvReluPool):
            x = step(x)
        else:
            x = step(x, training=False)
            step.drop_kept()  # nothing will call backward
    return x
