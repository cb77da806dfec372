"""Lanes: one worker thread per core, each working through whole pieces of a job on its own.

A convolution on a batch of images splits into independent pieces (a band of output rows,
or one image). Rather than running each piece's im2col and matrix product across all
cores in turn (every call then waits for the other cores to join, and a multi-threaded
BLAS can collapse on a product with a short inner axis), each core takes a piece, does
all of its steps single-threaded while the piece's data sits in that core's cache, and
takes the next piece when done. Pieces are handed out in order from a shared counter, so
a core slowed down by another program simply takes fewer of them.

``run(work, count)`` calls ``work(lane, piece)`` once for every ``piece`` in
``range(count)``, spread over ``lanes(count)`` threads (the caller's thread is lane 0).
``lane`` numbers the thread, so ``work`` can keep a buffer per lane. Numba kernels called
from ``work`` must be serial ``nogil`` functions (a parallel Numba kernel must not be
entered from two threads at once), and ``work`` must not call ``run``.

One OpenBLAS thread
-------------------
Every matrix product minicnn's fast kernels compute runs on ONE OpenBLAS thread: inside
a lane, and on the caller's thread too (``one_blas_thread``, used by ``run`` and by
``gemm``'s products). The cores are shared out by the lanes, never by OpenBLAS, because

* a product's float sum depends on how many threads OpenBLAS splits it over, so a count
  that changed between runs would change the last bits of the weights;
* OpenBLAS's own worker threads, once woken, keep spinning for a while after each product
  and take the cores the lanes are about to use;
* every thread that runs a product keeps its own OpenBLAS work buffer, so waking
  OpenBLAS's pool on top of the lanes costs memory.

The count is set with ``openblas_set_num_threads_local`` (OpenBLAS 0.3.27 or later).
Despite its name, in the pthreads build that NumPy's wheels ship it sets one count for the
whole process (a count one thread sets is the count every thread reads); in OpenMP
builds it is per thread. So ``one_blas_thread`` sets it to one on entry and puts the old count
back once, on exit; a lane sets it too (a no-op in pthreads builds) and never puts it
back. Restoring it from each lane as it finished would leave whichever value the last
lane to finish had seen: a count, and so float sums, that depend on timing. Blocks and
jobs from different threads take turns (a lock), as they would otherwise fight over the
count and the cores. Products outside minicnn's kernels (your own NumPy code) run on
OpenBLAS's count as you set it, except, in a pthreads build, one that another thread runs
while a minicnn product is under way.

With one thread configured (``NUMBA_NUM_THREADS=1``), without
``openblas_set_num_threads_local``, or with ``NUMBA_DISABLE_JIT=1`` (the kernels then hold
the GIL), everything runs on the caller's thread: same results, in the same order per piece.
"""

import contextlib
import ctypes
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numba

__all__ = ["lanes", "run", "one_blas_thread", "blas_threads"]


def _openblas_local_threads():
    """OpenBLAS's ``openblas_set_num_threads_local`` (whose scope the module docstring gives), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            setter = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


_set_blas_threads = None  # looked up on first use: NumPy has loaded OpenBLAS by then
_looked_up = False
_executor = None
_executor_lock = threading.Lock()
_blas_lock = threading.RLock()  # one block or job at a time (module docstring)
_this_thread = threading.local()  # .in_lane: True in the lanes' pool threads


def _blas_setter():
    global _set_blas_threads, _looked_up
    if not _looked_up:
        import numpy  # noqa: F401  (makes sure OpenBLAS is loaded before we look)
        _set_blas_threads = _openblas_local_threads()
        _looked_up = True
    return _set_blas_threads


def blas_threads():
    """OpenBLAS's thread count as the calling thread sees it, or None if it cannot be set.

    Read by setting it and putting it back: call it where no ``run`` is under way.
    """
    set_threads = _blas_setter()
    if set_threads is None:
        return None
    current = set_threads(1)
    set_threads(current)
    return current


def lanes(count):
    """How many threads ``run`` uses for ``count`` pieces."""
    if numba.config.DISABLE_JIT or _blas_setter() is None:
        return 1
    return max(1, min(numba.get_num_threads(), count))


def _pool(workers):
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < workers:
            _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minicnn-lane")
        return _executor


@contextlib.contextmanager
def one_blas_thread():
    """OpenBLAS on one thread inside the block, its old count back after (module docstring)."""
    set_threads = _blas_setter()
    if set_threads is None or getattr(_this_thread, "in_lane", False):
        yield  # nothing to set, or a lane: already one thread, and the job holds the lock
        return
    with _blas_lock:
        previous = set_threads(1)
        try:
            yield
        finally:
            set_threads(previous)


def run(work, count, fixed=False):
    """Call ``work(lane, piece)`` for every piece in ``range(count)`` (see the module docstring).

    ``fixed=True`` hands lane ``l`` the pieces ``l, l + L, l + 2L, ...`` instead of the next
    free one: slower lanes are not relieved, but which pieces a lane adds up, and in which
    order, is the same on every run, so a sum kept per lane is repeatable bit for bit.
    """
    n_lanes = lanes(count)
    with one_blas_thread():
        if n_lanes == 1:
            for piece in range(count):
                work(0, piece)
            return
        pieces = itertools.count()  # next() on it is atomic under the GIL
        set_threads = _blas_setter()

        def lane(number):
            mine = range(number, count, n_lanes) if fixed else iter(lambda: next(pieces), None)
            for piece in mine:
                if piece >= count:
                    return
                work(number, piece)

        def pool_lane(number):
            _this_thread.in_lane = True
            set_threads(1)  # for OpenMP builds, where the count is per thread
            lane(number)

        futures = [_pool(n_lanes - 1).submit(pool_lane, number) for number in range(1, n_lanes)]
        try:
            lane(0)
        finally:
            wait(futures)  # every lane has finished before the count goes back
        for future in futures:
            future.result()  # re-raises a lane's error here
