"""Memory kept between training steps: scratch arrays and reusable layer outputs.

Why bother? A convolution's activations, ``cols`` and gradients are arrays of hundreds of
megabytes for a batch of 224x224 images. A fresh NumPy array that large comes straight
from the operating system, which hands out zeroed pages on first touch: a cost paid for
every such array, every step, that can exceed the arithmetic that fills it
(``benchmarks/profile_layers.py``). Writing into the same arrays again costs nothing
extra.

Two kinds of arrays:

``scratch(store, key, shape, dtype)``
    Private to one caller and reused on its every call, in a dict the caller owns (the
    vector of ones that ``gemm.column_sums`` multiplies by).
``output(shape, dtype)``
    An array a kernel RETURNS (a layer's output, what it keeps for backward such as
    im2col's ``cols``, or the gradient for its input), or a temporary it drops before
    returning. These come from one shared pool. An array
    in the pool is handed out again only when nobody outside the pool still refers to
    it, which CPython's reference count tells us. So a caller that keeps an output
    (``predict`` collecting outputs, a learner's ``y1 = layer.forward(x1)``, Dense
    keeping its input) keeps it intact; and an output that everybody dropped (a conv
    output once the ReLU above has read it) is reused by any layer that needs an
    array of about that size, the way a memory planner would: the first block's
    gradient lands in the memory that held its forward activations.
    The rule for callers is the plain NumPy one: an array you hold is never
    overwritten behind your back.

Arrays below 1 MB are not pooled (the ordinary allocator is fast for them).
``release()`` lets the pool's free arrays go.
"""

import sys
import threading

import numpy as np

__all__ = ["scratch", "output", "release"]

# Arrays smaller than this are allocated fresh: cheap, and pooling them would only
# fragment the pool.
_MIN_POOLED_BYTES = 1 << 20
# A free array is reused for a request of at least 1/_MAX_WASTE of its size.
_MAX_WASTE = 2
_POOL = []  # every array output() handed out; free when only the pool refers to it
_LOCK = threading.Lock()  # two threads must not pick the same free array


def _view(buf, shape):
    return buf[: int(np.prod(shape))].reshape(shape)


def scratch(store, key, shape, dtype):
    """A private array of ``shape`` and ``dtype`` kept in the dict ``store`` under ``key``.

    Reused while its dtype matches and it is big enough (a smaller last batch uses its
    front part). Contents are arbitrary (not zeroed): callers overwrite it entirely.
    """
    size = int(np.prod(shape))
    buf = store.get(key)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        store[key] = buf
    return _view(buf, shape)


def _references(buf):
    """How many references ``buf`` has, counted from inside this function."""
    return sys.getrefcount(buf)


def _unshared_count():
    pool = [np.empty(1)]
    for buf in pool:
        return _references(buf)


# The count for an array held only by the pool, seen the way ``output`` sees it: the
# list entry, the loop variable ``buf``, ``_references``' parameter and getrefcount's
# argument (4 on CPython 3.10-3.13). Measured once rather than assumed, in case an
# interpreter counts differently. A view that someone kept adds one: every view of a
# pooled array refers to it through ``.base``.
_UNSHARED = _unshared_count()


def output(shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype`` that nobody else is using.

    Taken from the pool when a free array of the dtype is big enough and at most
    ``_MAX_WASTE`` times too big (the smallest such one); else allocated and pooled.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    if size * dtype.itemsize < _MIN_POOLED_BYTES:
        return np.empty(shape, dtype=dtype)
    with _LOCK:
        best = None
        for buf in _POOL:
            if (buf.dtype == dtype and size <= buf.size <= _MAX_WASTE * size
                    and (best is None or buf.size < best.size)
                    and _references(buf) <= _UNSHARED):
                best = buf
        if best is None:
            best = np.empty(size, dtype=dtype)
            _POOL.append(best)
        # Returning a view of it (before the lock is released) marks it as taken.
        return _view(best, shape)


def release():
    """Drop the pool's free arrays (their memory goes back to the system)."""
    with _LOCK:
        _POOL[:] = [buf for buf in _POOL if _references(buf) > _UNSHARED]
