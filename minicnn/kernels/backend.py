"""Which kernels the layers run: the Numba ones (default) or the NumPy references.

Set the environment variable before starting Python::

    MINICNN_KERNELS=numpy python examples/pneumonia.py     # the readable references
    MINICNN_KERNELS=numba python examples/pneumonia.py     # the default

It is read once, when ``minicnn.kernels`` is imported, into ``KERNELS``; the entry
points (``im2col``, ``col2im``, ``maxpool_forward``, ``maxpool_backward``,
``adam_update``) look at ``KERNELS`` on every call, so a test can also switch by
assigning ``minicnn.kernels.backend.KERNELS = "numpy"``. The results agree (the tests
prove it); ``benchmarks/train_throughput.py`` shows what Numba buys.
"""

import os

__all__ = ["KERNELS", "CHOICES", "use_reference"]

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
