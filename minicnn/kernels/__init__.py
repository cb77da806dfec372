"""The fast path, behind one boundary: each hot loop as a NumPy reference and a fast version.

The layers call these entries and nothing below them::

    cols = im2col(x, window)                 # every window of x as one row
    y = im2col_matmul(x, Wm, b, window)      # im2col(x) @ Wm + b   (no cols kept)
    dW = im2col_t_matmul(x, dY, window)      # im2col(x)^T @ dY     (cols rebuilt in bands)
    dx = col2im_matmul(dY, Wm.T, window)     # col2im(dY @ Wm.T, window)
    y = matmul(a, b)                         # a @ b, oriented for BLAS
    y, mask = relu(x)                        # max(x, 0) and [x > 0]
    y, argmax = maxpool_forward(x, window)
    y = conv_relu_maxpool(x, Wm, b, conv_window, pool_window)   # inference: the three fused
    y = winograd_conv3x3(x, W, b, window)    # 3x3 stride 1 by F(2x2, 3x3), (N, Ho, Wo, F)
    dx = maxpool_backward(dy, argmax, window)
    batchnorm.mean_var / normalize / grad_sums / input_grad

Each is paired with its ``*_reference`` (plain NumPy, the one to read) by the one
dispatch in ``minicnn.kernels.backend``: ``MINICNN_KERNELS=numpy`` runs the references,
the default runs the fast versions. ``window.Window`` is the geometry of a convolution
or pooling. Everything about speed stays in this package: the Numba loops, the buffers
reused between steps (``workspace``), the BLAS orientation (``gemm``), the bands a
convolution is computed in (``conv``), the fused inference pass (``fused``,
with Winograd's F(2x2, 3x3) in ``winograd``), the lanes that share them over the cores
(``lanes``) and the thread counts.

Threads. The matrix products run in NumPy's OpenBLAS and the kernels in Numba, each
with one thread per core unless ``OPENBLAS_NUM_THREADS`` / ``NUMBA_NUM_THREADS`` say
otherwise (both are read only when the library loads, so set them before starting
Python). On a machine busy with other programs more threads can be slower than one:
every parallel call waits for the other threads to be scheduled, and OpenBLAS's idle
threads spin for a while after each product (``OPENBLAS_THREAD_TIMEOUT`` shortens
that). There, ``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` is the safe choice.
minicnn sets none of these itself: they must be set before NumPy is imported, which
minicnn cannot guarantee. ``benchmarks/`` holds the measurements.
"""

from . import backend, batchnorm, lanes, workspace
from .activations import relu, relu_reference
from .adam import adam_update, adam_update_reference
from .conv import (
    col2im_matmul,
    col2im_matmul_reference,
    im2col_matmul,
    im2col_matmul_reference,
    im2col_t_matmul,
    im2col_t_matmul_reference,
)
from .fused import conv_relu_maxpool, conv_relu_maxpool_reference, pool_is_2x2
from .winograd import winograd_conv3x3, winograd_conv3x3_reference
from .gemm import column_sums, column_sums_reference, matmul, matmul_reference
from .im2col import (
    col2im,
    col2im_reference,
    im2col,
    im2col_reference,
)
from .pooling import (
    ARGMAX_DTYPE,
    maxpool_backward,
    maxpool_backward_reference,
    maxpool_forward,
    maxpool_forward_reference,
)
from .window import Window, conv_output_size

__all__ = [
    "backend", "batchnorm", "lanes", "workspace",
    "Window", "conv_output_size",
    "im2col", "im2col_reference", "col2im", "col2im_reference",
    "im2col_matmul", "im2col_matmul_reference", "im2col_t_matmul", "im2col_t_matmul_reference",
    "col2im_matmul", "col2im_matmul_reference",
    "conv_relu_maxpool", "conv_relu_maxpool_reference", "pool_is_2x2",
    "winograd_conv3x3", "winograd_conv3x3_reference",
    "matmul", "matmul_reference", "column_sums", "column_sums_reference",
    "relu", "relu_reference",
    "maxpool_forward", "maxpool_forward_reference", "ARGMAX_DTYPE",
    "maxpool_backward", "maxpool_backward_reference",
    "adam_update", "adam_update_reference",
]
