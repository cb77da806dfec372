"""Memory kept between training steps: scratch arrays and reusable layer outputs.

Why bother? The original CNN's first block alone produces 200 MB arrays (32 x 222 x 222
x 32 float32). A fresh NumPy array that large comes straight from the operating system,
which hands out zeroed pages on first touch: measured here 20 ms per 200 MB at best and
several hundred ms on a busy machine, for every such array, every step. Writing into
the same arrays again costs nothing extra.

Two kinds of arrays:

``scratch(store, key, shape, dtype)``
    Private to one layer (im2col's ``cols``, a chunk of ``dcols``): nobody else ever
    sees it, so it is simply reused.
``output(store, key, shape, dtype)``
    An array a layer RETURNS (its forward output, or the gradient for its input).
    The caller may keep it (``predict`` collecting outputs, a learner's
    ``y1 = layer.forward(x1); y2 = layer.forward(x2)``). So we reuse it only when
    nobody outside ``store`` still refers to it, which CPython's reference count
    tells us; otherwise we hand out a new array and leave the old one to its owner.
    The rule for callers is therefore the plain NumPy one: an array you hold is
    never overwritten behind your back.

Both reuse a stored array when its dtype matches and it is big enough (a smaller last
batch uses its front part), and allocate otherwise.
"""

import sys

import numpy as np

__all__ = ["scratch", "output"]


def _view(buf, shape):
    return buf[: int(np.prod(shape))].reshape(shape)


def scratch(store, key, shape, dtype):
    """A private array of ``shape`` and ``dtype`` kept in the dict ``store`` under ``key``.

    Contents are arbitrary (not zeroed): callers overwrite it entirely.
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
    store = {"key": np.empty(1)}
    buf = store["key"]
    return _references(buf)


# The count for an array held only by its store, seen the way ``output`` sees it: the
# dict entry, ``output``'s name ``buf``, ``_references``' parameter and getrefcount's
# argument (4 on CPython 3.10-3.13). Measured once rather than assumed, in case an
# interpreter counts differently. A view that a caller kept adds one: every view of the
# buffer refers to it through ``.base``.
_UNSHARED = _unshared_count()


def output(store, key, shape, dtype):
    """Like :func:`scratch`, for an array that is returned to the caller.

    Reused only if the one from the last call is no longer referenced outside
    ``store`` (then nobody can observe the overwrite); else a fresh array.
    """
    size = int(np.prod(shape))
    buf = store.get(key)
    if (buf is None or buf.dtype != dtype or buf.size < size
            or _references(buf) > _UNSHARED):
        buf = np.empty(size, dtype=dtype)
        store[key] = buf
    return _view(buf, shape)
