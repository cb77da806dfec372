"""Dropout: randomly silence units while training, so no unit can rely on another."""

import numbers

import numpy as np

from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014; Keras ``Dropout``).

    Training:   mask_i = 1 / (1 - rate)  with probability 1 - rate,  else 0
                y = x * mask,            dL/dx = dL/dy * mask      (the SAME mask)
    Inference:  y = x,                   dL/dx = dL/dy
    Shapes:     x, y, mask and both gradients (batch, ...), all the same. No parameters.

    Scaling the kept units by 1 / (1 - rate) at training time keeps the expected value
    of every unit equal to its inference value, E[y_i] = x_i, so nothing has to change
    when dropout is switched off. (Forgetting the scale, or dropping at inference, are
    the two classic mistakes; the tests in ``tests/layers/test_dropout.py`` guard
    against both.)

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units dropped at training time.
    seed : int or None
        Seeds ``self.rng``, the ``numpy.random.Generator`` the masks come from. With
        ``seed=None`` the layer takes an independent child of the generator passed to
        ``build`` (so one model seed makes the run repeatable), or an unseeded one.
    """

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name=name)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.mask = None  # None after an inference forward: backward is then the identity

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng=rng, dtype=dtype)
        if self.seed is None and rng is not None:
            # spawn() derives an independent stream without advancing ``rng`` itself,
            # so the weights of the other layers do not depend on where Dropout sits.
            try:
                self.rng = rng.spawn(1)[0]
            except (AttributeError, TypeError):  # a Generator without a SeedSequence
                self.rng = np.random.default_rng(rng.integers(2**63))

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1.0 - self.rate
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        # Uniform draws in x's own precision; keep a unit where u < keep.
        u = self.rng.random(x.shape, dtype=dtype)
        self.mask = (u < keep).astype(dtype)
        self.mask *= dtype.type(1.0 / keep)  # a scalar of x's dtype: float32 stays float32
        return x * self.mask

    def backward(self, grad_out):
        if self.mask is None:
            return grad_out
        if grad_out.shape != self.mask.shape:
            raise ValueError(
                f"{self.name} (Dropout): grad_out has shape {grad_out.shape}, "
                f"expected the forward output's shape {self.mask.shape}"
            )
        return grad_out * self.mask
