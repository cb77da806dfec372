"""minicnn: a convolutional neural network framework written to be read.

NumPy for the math, Numba for the hot loops, nothing hidden.
"""

__version__ = "0.1.0"
