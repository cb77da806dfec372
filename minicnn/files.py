"""Writing a file so that an interrupted write never leaves a broken one behind."""

import contextlib
import os
import tempfile

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path, prefix=".minicnn-", suffix=".tmp"):
    """Open a temporary file beside ``path`` for binary writing; on success, rename it over ``path``.

    The data is flushed to disk before the rename, and ``os.replace`` is atomic, so ``path``
    is either its old self or complete: never half written. If the block raises (an
    error, a failed check, Ctrl-C), the temporary file is removed and ``path`` is untouched.
    The new file gets ordinary permissions (0o644 less the umask), not mkstemp's 0o600.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
