"""Writing a file so that an interrupted write never leaves a broken one behind.

A write goes to a temporary file beside its target, named
``<prefix><host>-<pid>-<random><suffix>`` (``host``: 8 hex digits of a hash of the host
name, ``pid``: the writing process), and is renamed over the target when complete.
A process killed outright (``kill -9``, a power cut) cannot remove its temporary file,
so every new write first removes the *stale* ones with its own prefix and suffix
(``remove_stale_temporaries``): a file is stale when its writer is known to be gone
(same host, no process with that pid) or when it is older than ``STALE_AFTER_S``
(a writer on another host sharing the folder, or a pid reused by an unrelated process,
cannot be asked). A live writer's file on this host is never touched.
"""

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time

__all__ = ["atomic_write", "ordinary_permissions", "temporary_prefix", "remove_stale_temporaries",
           "STALE_AFTER_S"]

#: Age (seconds since last modification) after which any temporary file is stale.
STALE_AFTER_S = 24 * 3600

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temporary_prefix(prefix):
    """``prefix`` + this host's tag + this process's pid: the start of our temporary names."""
    return f"{prefix}{_HOST}-{os.getpid()}-"


def _writer_is_gone(host, pid):
    if host != _HOST:
        return False  # another machine's process: we cannot tell, only the age bound applies
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # exists (another user's) or unknowable: keep it
    return False


def remove_stale_temporaries(directory, prefix, suffix, now=None):
    """Remove ``directory``'s temporary files named ``<prefix><host>-<pid>-<random><suffix>``
    whose writer is gone or that are older than ``STALE_AFTER_S``; return the names removed.

    Only names of exactly that pattern are considered: nothing else in the folder, and
    never a file of a writer that is still running on this host (unless it is older than
    the bound, which no write of ours lasts). Errors (a file removed meanwhile by another
    cleaner, a read-only folder) are ignored: cleaning is a courtesy, not part of the write.
    """
    pattern = re.compile(re.escape(prefix) + r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-"
                         r"[A-Za-z0-9_]+" + re.escape(suffix) + r"\Z")
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        path = os.path.join(directory, name)
        try:
            too_old = now - os.stat(path).st_mtime > STALE_AFTER_S
            if too_old or _writer_is_gone(match["host"], int(match["pid"])):
                os.remove(path)
                removed.append(name)
        except OSError:
            pass
    return removed


def ordinary_permissions(path):
    """Give ``path`` the permissions of a file made by ``open``: 0o644 less the umask.

    ``tempfile.mkstemp`` makes its files private (0o600); a model or a cache renamed
    into place should be readable like any other file the user writes.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o644 & ~umask)


@contextlib.contextmanager
def atomic_write(path, prefix=".minicnn-", suffix=".tmp"):
    """Open a temporary file beside ``path`` for binary writing; on success, rename it over it.

    The data is flushed to disk before the rename, and ``os.replace`` is atomic, so ``path``
    is either its old self or complete: never half written. If the block raises (an
    error, a failed check, Ctrl-C), the temporary file is removed and ``path`` is untouched.
    The new file gets ordinary permissions (0o644 less the umask), not mkstemp's 0o600.
    Stale temporary files of killed writes with the same ``prefix`` and ``suffix`` are
    removed first (see the module docstring).
    """
    directory = os.path.dirname(os.path.abspath(path))
    remove_stale_temporaries(directory, prefix, suffix)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(prefix), suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        ordinary_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
