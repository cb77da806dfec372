"""minicnn: a convolutional neural network framework written to be read.

NumPy for the math, Numba for the hot loops, nothing hidden.
"""

__version__ = "0.1.0"

from . import layers, losses, optimizers  # noqa: E402  (submodules as minicnn.layers ...)
from .model import History, Sequential  # noqa: E402

__all__ = ["Sequential", "History", "layers", "losses", "optimizers", "__version__"]
