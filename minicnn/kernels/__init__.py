"""The hot loops, each written twice: a plain NumPy reference and a Numba kernel.

``im2col`` / ``col2im`` turn a convolution into one matrix multiply and back;
``maxpool_forward`` / ``maxpool_backward`` do max pooling with its argmax. The
``*_reference`` functions are the ones to read; tests prove the kernels agree with them.
``MINICNN_KERNELS=numpy`` in the environment makes the layers call the references
(``minicnn.kernels.backend``). ``workspace`` keeps big arrays between steps;
``gemm.matmul`` orients a product so multi-threaded OpenBLAS stays fast.

Threads. The matrix products run in NumPy's OpenBLAS and the kernels in Numba, each
with one thread per core unless ``OPENBLAS_NUM_THREADS`` / ``NUMBA_NUM_THREADS`` say
otherwise (both are read only when the library loads, so set them before starting
Python). On a quiet machine two threads train the original CNN about 1.3x faster than
one. On a machine busy with other programs they can be slower than one thread: every
parallel call waits for the other thread to be scheduled, and OpenBLAS's idle threads
spin for a while after each product (``OPENBLAS_THREAD_TIMEOUT=4`` shortens that;
measured under load ~3.5: 2.4 s per step instead of 3.1 s). There,
``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` is the safe choice (2.1 s).
minicnn sets none of these itself: they must be set before NumPy is imported, which
minicnn cannot guarantee.
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
