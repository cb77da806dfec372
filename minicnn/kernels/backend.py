"""Which kernels the layers run: the Numba ones (default) or the NumPy references.

Set the environment variable before starting Python::

    MINICNN_KERNELS=numpy python examples/pneumonia.py     # the readable references
    MINICNN_KERNELS=numba python examples/pneumonia.py     # the default

It is read once, when ``minicnn.kernels`` is imported, into ``KERNELS``; the entry
points (``im2col``, ``col2im``, ``maxpool_forward``, ``maxpool_backward``,
``adam_update``) look at ``KERNELS`` on every call, so a test can also switch by
assigning ``minicnn.kernels.backend.KERNELS = "numpy"``. The results agree (the tests
prove it); ``benchmarks/train_throughput.py`` shows what Numba buys.

Small calls run on one thread. A parallel Numba kernel must wake its other threads,
and on a machine whose cores are busy with other programs a woken thread waits for a
scheduler time slice: measured here ~12 ms per call, whatever the size. A 32x32-image
model then took 270 ms per step with two threads against 18 ms with one. Below
``PARALLEL_MIN_ELEMENTS`` output elements (about a millisecond of work) the kernels
run on the calling thread only (``threads_for``).
"""

import contextlib
import os

import numba

__all__ = ["KERNELS", "CHOICES", "use_reference", "threads_for", "PARALLEL_MIN_ELEMENTS"]

CHOICES = ("numba", "numpy")


def _from_environment():
    value = os.environ.get("MINICNN_KERNELS", "").strip().lower() or "numba"
    if value not in CHOICES:
        raise ValueError(
            f"MINICNN_KERNELS={os.environ['MINICNN_KERNELS']!r} is not one of {CHOICES}; "
            "unset it for the Numba kernels or set it to 'numpy' for the NumPy references"
        )
    return value


KERNELS = _from_environment()


def use_reference():
    """True when the layers should call the NumPy reference kernels."""
    return KERNELS == "numpy"


# Output elements below which a kernel runs on the calling thread (see the docstring).
PARALLEL_MIN_ELEMENTS = 1 << 20


@contextlib.contextmanager
def threads_for(elements):
    """Run the Numba kernels in this block on one thread when ``elements`` is small."""
    if elements >= PARALLEL_MIN_ELEMENTS or numba.config.DISABLE_JIT:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # per calling thread; cheap
    try:
        yield
    finally:
        numba.set_num_threads(previous)
