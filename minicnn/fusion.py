"""Inference without training baggage: fused Conv2D -> [BatchNormalization] -> ReLU -> MaxPool2D.

Training needs every layer's forward to keep what its backward reads (Conv2D its input,
ReLU its mask, MaxPool2D its argmax). Inference (``predict``, ``evaluate``) needs none of
it, and the block every CNN here is made of,

    Conv2D -> ReLU -> MaxPool2D(2)

can then run as ONE pass over the convolution's output, a band at a time in cache:
``minicnn.kernels.conv_relu_maxpool``, whose NumPy reference is literally the three
layers' forwards in turn. :func:`inference_steps` reads a model's layers and replaces
each such block by a :class:`ConvReluPool` step; every other layer runs its own
``forward(x, training=False)``, and what it kept for backward is dropped right after.

A BatchNormalization right after the convolution folds into it. At inference it is a
fixed affine map per output channel f, with the moving statistics:

    s_f  = gamma_f / sqrt(moving_variance_f + epsilon)
    BN(z)_f = s_f * (z_f - moving_mean_f) + beta_f,      z = x * W + b  (the convolution)
            = x * (W s)_f + (s_f * (b_f - moving_mean_f) + beta_f)

so the block is a convolution with weights ``W'[..., f] = W[..., f] * s_f`` and bias
``b'_f = s_f * (b_f - moving_mean_f) + beta_f`` (b = 0 without a bias): no pass over the
activations for the normalisation at all (:func:`fold_batchnorm`). Conv2D ->
BatchNormalization followed by anything else becomes a :class:`ConvBatchNorm` step, the
convolution with the folded weights.

A block is fused only when the result is the same computation:

* a ``Conv2D`` (any kernel, strides, padding, bias or none),
* optionally directly followed by a ``BatchNormalization`` (folded as above),
* directly followed by a ``ReLU`` layer (not another activation),
* directly followed by a ``MaxPool2D`` with a 2x2 pool and stride 2 (``"valid"`` or
  ``"same"``); any other pool runs unfused.

:func:`why_not_fused` says, in words, why a block at a given index is not fused.
"""

import numpy as np

from . import kernels
from .layers.activations import ReLU
from .layers.conv import Conv2D
from .layers.normalization import BatchNormalization
from .layers.pooling import MaxPool2D

__all__ = ["fold_batchnorm", "FusedStep", "ConvReluPool", "ConvBatchNorm", "why_not_fused",
           "inference_steps", "infer"]


def fold_batchnorm(conv, norm=None):
    """The convolution's ``(Wm, b)``, (kh*kw*C, F) and (F,) or None, with ``norm`` folded in.

    Without ``norm``, the layer's own weights (``b`` None when it has no bias). With it,
    ``Wm * s`` and ``s * (b - moving_mean) + beta``, ``s = gamma / sqrt(moving_variance +
    epsilon)`` (module docstring), worked out in float64 and returned in the weights' dtype.
    """
    Wm = conv.params["W"].reshape(-1, conv.filters)
    b = conv.params.get("b")
    if norm is None:
        return Wm, b
    s = norm.params["gamma"].astype(np.float64) / np.sqrt(
        norm.state["moving_variance"].astype(np.float64) + norm.epsilon)
    b = np.zeros(conv.filters) if b is None else b.astype(np.float64)
    folded_b = s * (b - norm.state["moving_mean"]) + norm.params["beta"]
    return (Wm * s).astype(Wm.dtype), folded_b.astype(Wm.dtype)


class FusedStep:
    """An inference step standing for several layers in turn: a convolution and what follows it.

    ``folded_weights(x)`` checks ``x`` against the convolution, drops what the layers kept
    from a training step (their memory can be reused), and returns the convolution's
    ``(Wm, b)`` with the normalisation, if any, folded in.
    """

    def __init__(self, conv, *rest, norm=None):
        self.conv, self.norm = conv, norm
        self.layers = (conv,) + ((norm,) if norm is not None else ()) + rest

    def folded_weights(self, x):
        self.conv.check_input_shape(x.shape)
        for layer in self.layers:
            layer.drop_kept()
        return fold_batchnorm(self.conv, self.norm)

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(layer.name for layer in self.layers) + ")"


class ConvReluPool(FusedStep):
    """``conv``, ``norm`` (optional), ``relu``, ``pool`` in turn, as the one fused kernel."""

    def __init__(self, conv, relu, pool, norm=None):
        super().__init__(conv, relu, pool, norm=norm)
        self.pool = pool

    def __call__(self, x):
        Wm, b = self.folded_weights(x)
        return kernels.conv_relu_maxpool(x, Wm, b, self.conv.window, self.pool.window)


class ConvBatchNorm(FusedStep):
    """``conv`` then ``norm``: the convolution with the normalisation folded into its weights."""

    def __init__(self, conv, norm):
        super().__init__(conv, norm=norm)

    def __call__(self, x):
        Wm, b = self.folded_weights(x)
        y = kernels.im2col_matmul(x, Wm, b, self.conv.window)    # cols @ W' + b'
        return y.reshape(x.shape[0], *self.conv.output_shape)


def _block_size(layers, index):
    """4 where ``layers[index]`` is a Conv2D directly followed by a BatchNormalization, else 3."""
    with_norm = (type(layers[index]) is Conv2D and index + 1 < len(layers)
                 and type(layers[index + 1]) is BatchNormalization)
    return 4 if with_norm else 3


def why_not_fused(layers, index):
    """None when a block to fuse starts at ``layers[index]``, else the reason (a str).

    The block is Conv2D, ReLU, MaxPool2D, or Conv2D, BatchNormalization, ReLU, MaxPool2D.
    """
    size = _block_size(layers, index)
    block = layers[index:index + size]
    if len(block) < size:
        return f"fewer than {'three' if size == 3 else 'four'} layers left"
    conv, relu, pool = block[0], block[-2], block[-1]
    if type(conv) is not Conv2D:
        return f"{conv.name} is a {type(conv).__name__}, not a Conv2D"
    after = "the convolution" if size == 3 else "the batch normalisation"
    if type(relu) is not ReLU:
        return f"{relu.name} after {after} is a {type(relu).__name__}, not a ReLU"
    if type(pool) is not MaxPool2D:
        return f"{pool.name} after the ReLU is a {type(pool).__name__}, not a MaxPool2D"
    if not kernels.pool_is_2x2(pool.window):
        return f"{pool.name} pools {pool.pool_size} by {pool.strides}, not 2x2 by 2"
    return None


def inference_steps(layers):
    """The steps of an inference pass: fused blocks and the remaining layers, in order."""
    steps, index = [], 0
    while index < len(layers):
        size = _block_size(layers, index)
        norm = layers[index + 1] if size == 4 else None
        if why_not_fused(layers, index) is None:
            conv, relu, pool = layers[index], layers[index + size - 2], layers[index + size - 1]
            steps.append(ConvReluPool(conv, relu, pool, norm=norm))
            index += size
        elif norm is not None:
            steps.append(ConvBatchNorm(layers[index], norm))
            index += 2
        else:
            steps.append(layers[index])
            index += 1
    return steps


def infer(layers, x):
    """The output of ``layers`` for the batch ``x`` in inference mode, keeping nothing.

    The numbers of ``forward(x, training=False)`` layer by layer, up to float rounding:
    a fused block's products are summed in another order, or by Winograd's F(2x2, 3x3)
    (``minicnn.kernels.fused``), and a folded normalisation is rounded once, in the weights.
    """
    for step in inference_steps(layers):
        if isinstance(step, FusedStep):
            x = step(x)
        else:
            x = step(x, training=False)
            step.drop_kept()  # nothing will call backward
    return x
