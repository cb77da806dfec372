"""The hot loops, each written twice: a plain NumPy reference and a Numba kernel.

``im2col`` / ``col2im`` turn a convolution into one matrix multiply and back;
``maxpool_forward`` / ``maxpool_backward`` do max pooling with its argmax. The
``*_reference`` functions are the ones to read; tests prove the kernels agree with them.
``MINICNN_KERNELS=numpy`` in the environment makes the layers call the references
(``minicnn.kernels.backend``). ``workspace`` keeps big arrays between steps;
``gemm.matmul`` orients a product so multi-threaded OpenBLAS stays fast.
"""

from . import backend

from .im2col import (
    col2im,
    col2im_numba,
    col2im_reference,
    conv_output_size,
    im2col,
    im2col_numba,
    im2col_reference,
)
from .pooling import (
    maxpool_backward,
    maxpool_backward_numba,
    maxpool_backward_reference,
    maxpool_forward,
    maxpool_forward_numba,
    maxpool_forward_reference,
)

__all__ = [
    "conv_output_size",
    "im2col",
    "im2col_numba",
    "im2col_reference",
    "col2im",
    "col2im_numba",
    "col2im_reference",
    "maxpool_forward",
    "maxpool_forward_numba",
    "maxpool_forward_reference",
    "maxpool_backward",
    "maxpool_backward_numba",
    "maxpool_backward_reference",
]
