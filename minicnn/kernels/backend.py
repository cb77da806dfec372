"""The one dispatch: every fast kernel is paired with its NumPy reference, one switch picks.

A kernel entry point is written as its fast version, decorated with the reference it
must equal::

    def im2col_reference(x, window): ...            # plain NumPy: the one to read

    @fast_version_of(im2col_reference)
    def im2col(x, window): ...                      # Numba loops, reused buffers, threads

Calling ``im2col(x, window)`` runs the fast version, or the reference when the switch
says so. Both take the same arguments and return the same values (the tests in
``tests/kernels/`` hold every pair to it), so either is a drop-in for the other. The
entry keeps both as attributes: ``im2col.fast`` and ``im2col.reference``.

The switch is the environment variable ``MINICNN_KERNELS``, read once, here, when
``minicnn.kernels`` is imported::

    MINICNN_KERNELS=numpy python examples/pneumonia.py     # the readable references
    MINICNN_KERNELS=numba python examples/pneumonia.py     # the default

into ``KERNELS``, which every entry looks at on each call; a test can switch at run
time with ``monkeypatch.setattr(minicnn.kernels.backend, "KERNELS", "numpy")``.
``benchmarks/train_throughput.py`` shows what the fast path buys.

Small calls run on one thread (``threads_for``): a parallel Numba kernel must wake its
other threads, and on a machine whose cores are busy with other programs a woken thread
waits for a time slice, whatever the size of the work. Below ``PARALLEL_MIN_ELEMENTS``
output elements the kernels therefore run on the calling thread only.
"""

import contextlib
import functools
import os

import numba

__all__ = ["KERNELS", "CHOICES", "fast_version_of", "use_reference", "threads_for",
           "num_threads", "PARALLEL_MIN_ELEMENTS"]

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
    """True when the kernel entries should run their NumPy references."""
    return KERNELS == "numpy"


def fast_version_of(reference):
    """Decorator: make ``fast`` the default implementation of ``reference``'s computation.

    Returns an entry point that calls ``entry.reference`` under ``MINICNN_KERNELS=numpy``
    and ``entry.fast`` otherwise, with the arguments it was given. The attributes are
    looked up on every call, so a test can wrap either one to see which ran.
    """
    def pair(fast):
        @functools.wraps(fast)
        def entry(*args, **kwargs):
            implementation = entry.reference if KERNELS == "numpy" else entry.fast
            return implementation(*args, **kwargs)

        entry.fast = fast
        entry.reference = reference
        return entry

    return pair


# Output elements below which a kernel runs on the calling thread (see the docstring).
PARALLEL_MIN_ELEMENTS = 1 << 20


def num_threads():
    """How many threads the Numba kernels use (NUMBA_NUM_THREADS, read by Numba at start)."""
    return numba.get_num_threads()


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
