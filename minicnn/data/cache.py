"""A memory-mapped disk cache of decoded images that is never used when it is wrong.

Decoding 5,856 X-rays takes seconds; reading them back from a memory-mapped file takes
milliseconds (the operating system pages the pixels in as batches touch them, and keeps
them in its page cache for the next epoch and the next run).

Two files per cache:

``<stem>.npy``
    The pixels: a standard ``.npy`` file (readable with ``np.load(..., mmap_mode="r")``)
    holding uint8 ``(N, H, W, C)``, row i for file i.
``<stem>.json``
    The header, written LAST, and therefore the completion marker: a cache without it
    is unfinished. It holds

    * ``key``: sha256 of the cache format, the load settings (image size, colour mode,
      interpolation, draft) and, for every file in order, its absolute path, byte size,
      modification time, status-change time (ctime) and inode number. Any change to the
      file list, a file, or a setting gives another key: the cache is *stale* and is
      rebuilt. The ctime and inode are there because size and mtime can be restored
      (``touch -r``, a backup tool) after a file is rewritten; ctime cannot be set by a
      user (writing, ``utime``, ``chmod`` and renaming all move it to "now") and a
      replacement by rename brings a new inode.
    * ``shape``, ``npy_bytes`` (exact size of the ``.npy`` file): a truncated file fails
      this size check.
    * ``npy_inode``, ``npy_mtime_ns``: the identity of the ``.npy`` file this header was
      written for. Two builds writing to the same stem at once can leave one's header
      beside the other's pixels; the identity check turns that into a rebuild.
    * ``sample_crc``: CRC-32 of 64 blocks of 64 KiB spread evenly over the pixel data.
      Hashing all of it would cost as much as reading it; the sample catches a file
      overwritten or zeroed by mistake without delaying the start. It is a spot check,
      not a proof that every byte is intact.
    * ``failed``: the files that could not be decoded (their rows are zero), so a reopen
      skips and reports the same files without decoding them.
    * ``checksum``: sha256 of all the fields above, so an edited or half-written header
      is detected.

Writing is atomic, and a build only ever serves what IT wrote: the old header is
deleted first (the cache is invalid from then on); the pixels go to a temporary file
that is filled through a memory map of the open file, flushed, and renamed to
``<stem>.npy``; the pixels returned are mapped from that same open file, never reopened
by name (another process may have renamed its own file over the name meanwhile); the
header goes to a temporary file renamed into place last. Opening a cache also maps the
``.npy`` through the one file handle whose identity it checked against the header.

A build killed outright leaves its temporary files behind; the next build in the same
cache removes those whose writer is gone (``minicnn.files.remove_stale_temporaries``).

What the key still cannot see: a file changed on a filesystem that keeps no ctime (some
network or FAT mounts), or by writing to the disk device underneath the filesystem.
Copying or moving the dataset changes ctime and inodes: the cache is rebuilt once.
"""

import hashlib
import json
import os
import tempfile
import warnings
import zlib

import numpy as np

from ..files import atomic_write, ordinary_permissions, remove_stale_temporaries, temporary_prefix

__all__ = ["CACHE_FORMAT", "cache_key", "cache_paths", "open_cache", "build_cache", "open_or_build"]

#: Bumped whenever the decoder or the layout changes what a cache holds.
CACHE_FORMAT = 2

_SAMPLE_BLOCKS = 64
_SAMPLE_BYTES = 64 * 1024


def cache_key(paths, settings):
    """sha256 hex digest of the cache format, ``settings`` and each file's path and identity.

    A file's identity is its byte size, mtime, ctime (ns) and inode number: a rewrite
    moves ctime even when size and mtime are restored afterwards, and a replacement by
    rename brings a new inode. (Reading every file to hash its content would cost as
    much as decoding it.)
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": CACHE_FORMAT, "settings": settings},
                             sort_keys=True).encode())
    for path in paths:
        try:
            st = os.stat(path)
            identity = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        except OSError:
            identity = (-1,)  # a vanished file still changes the key
        digest.update("\0".join(map(str, (os.path.abspath(path), *identity))).encode() + b"\n")
    return digest.hexdigest()


def cache_paths(path, key):
    """``(npy_path, json_path)`` for ``path``: a folder (files named by key) or a file stem.

    ``path`` is a folder when it exists as one or ends with a path separator (it is then
    created): the files are ``<folder>/images-<first 16 hex digits of key>.{npy,json}``,
    so one folder holds the caches of several datasets and settings side by side (old
    ones are not deleted). Otherwise ``path`` is a stem: ``<path>.npy`` and ``<path>.json``.
    ``~`` is expanded.
    """
    path = os.path.expanduser(os.fspath(path))
    if os.path.isdir(path) or path.endswith((os.sep, "/")):
        stem = os.path.join(path, f"images-{key[:16]}")
    else:
        stem = path[:-4] if path.endswith(".npy") else path[:-5] if path.endswith(".json") else path
    return stem + ".npy", stem + ".json"


def _sample_crc(pixels):
    """CRC-32 over 64 evenly spaced 64 KiB blocks of the array's bytes (all if smaller)."""
    flat = np.asarray(pixels).reshape(-1).view(np.uint8)
    n = flat.size
    if n <= _SAMPLE_BLOCKS * _SAMPLE_BYTES:
        return zlib.crc32(flat)
    crc = 0
    for start in np.linspace(0, n - _SAMPLE_BYTES, _SAMPLE_BLOCKS).astype(np.int64):
        crc = zlib.crc32(flat[start:start + _SAMPLE_BYTES], crc)
    return crc


def _header_checksum(header):
    body = {k: v for k, v in header.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def open_cache(npy_path, json_path, key, shape):
    """Open a finished, valid cache read-only, or say why not.

    Returns
    -------
    (pixels, failures, None) when valid: ``pixels`` a read-only uint8 memmap of ``shape``.
    (None, None, reason) otherwise, ``reason`` starting with "missing", "stale" or "corrupt".
    """
    if not os.path.exists(json_path):
        if os.path.exists(npy_path):
            return None, None, "corrupt: pixels without a header (an interrupted build?)"
        return None, None, "missing"
    try:
        with open(json_path, encoding="utf-8") as f:
            header = json.load(f)
        if not isinstance(header, dict) or header.get("checksum") != _header_checksum(header):
            return None, None, "corrupt: the header checksum does not match"
    except (OSError, ValueError) as exc:
        return None, None, f"corrupt: unreadable header ({exc})"
    if header.get("format") != CACHE_FORMAT:
        return None, None, "stale: written by another cache format"
    if header.get("key") != key:
        return None, None, "stale: the files or the load settings changed"
    if list(header.get("shape", ())) != list(shape) or header.get("dtype") != "uint8":
        return None, None, "corrupt: the header shape does not match the key"
    try:
        f = open(npy_path, "rb")
    except FileNotFoundError:
        return None, None, "corrupt: the .npy file is missing"
    except OSError as exc:
        return None, None, f"corrupt: cannot open the .npy file ({exc})"
    # Everything below reads through this one handle: the file checked is the file mapped.
    with f:
        st = os.fstat(f.fileno())
        if st.st_ino != header.get("npy_inode"):
            return None, None, ("stale: the .npy file is not the one this header was written "
                                "for (another build replaced it, or it was copied)")
        if st.st_size != header.get("npy_bytes"):
            return None, None, (f"corrupt: the .npy file has {st.st_size} bytes, "
                                f"the header says {header.get('npy_bytes')} (truncated?)")
        if st.st_mtime_ns != header.get("npy_mtime_ns"):
            return None, None, "corrupt: the .npy file was modified after it was written"
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            npy_shape, fortran_order, dtype = read_header(f)
            offset = f.tell()
            if npy_shape != tuple(shape) or dtype != np.uint8 or fortran_order:
                return None, None, f"corrupt: the .npy file holds {dtype} {npy_shape}"
            pixels = np.memmap(f, dtype=np.uint8, mode="r", shape=tuple(shape), offset=offset)
        except (OSError, ValueError) as exc:
            return None, None, f"corrupt: cannot map the .npy file ({exc})"
    if _sample_crc(pixels) != header.get("sample_crc"):
        return None, None, "corrupt: the pixel checksum does not match"
    failures = [(int(i), str(m)) for i, m in header.get("failed", [])]
    return pixels, failures, None


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def build_cache(npy_path, json_path, key, shape, fill):
    """Write a new cache atomically and return ``(pixels, failures)``.

    ``fill(out)`` must write the pixels into the uint8 memmap ``out`` of ``shape`` and
    return the list of ``(index, message)`` failures. The pixels returned are a
    read-only map of the file this call wrote, whatever other processes do to the name.
    Stale temporary files of killed builds of this cache are removed first.
    """
    directory = os.path.dirname(os.path.abspath(npy_path))
    os.makedirs(directory, exist_ok=True)
    npy_prefix = os.path.basename(npy_path) + ".tmp-"
    json_prefix = os.path.basename(json_path) + ".tmp-"
    remove_stale_temporaries(directory, npy_prefix, "")  # atomic_write cleans the header's
    _remove(json_path)  # from here on the old cache is invalid, whatever happens
    shape = tuple(int(d) for d in shape)
    fd, tmp_npy = tempfile.mkstemp(prefix=temporary_prefix(npy_prefix), dir=directory)
    try:
        with os.fdopen(fd, "w+b") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "|u1", "fortran_order": False, "shape": shape})
            offset = f.tell()
            f.truncate(offset + int(np.prod(shape)))
            out = np.memmap(f, dtype=np.uint8, mode="r+", shape=shape, offset=offset)
            failures = fill(out)
            out.flush()
            crc = _sample_crc(out)
            del out
            os.fsync(f.fileno())
            ordinary_permissions(tmp_npy)
            # Mapped from the handle we wrote through: after the rename the name may be
            # another writer's file, this map stays ours.
            pixels = np.memmap(f, dtype=np.uint8, mode="r", shape=shape, offset=offset)
            os.replace(tmp_npy, npy_path)
            st = os.fstat(f.fileno())
        header = {
            "format": CACHE_FORMAT, "key": key, "shape": list(shape), "dtype": "uint8",
            "npy_bytes": st.st_size, "npy_inode": st.st_ino, "npy_mtime_ns": st.st_mtime_ns,
            "sample_crc": crc, "failed": [[int(i), str(m)] for i, m in failures],
        }
        header["checksum"] = _header_checksum(header)
        with atomic_write(json_path, prefix=json_prefix, suffix="") as f:
            f.write(json.dumps(header, indent=1).encode("utf-8"))  # the completion marker
    except BaseException:
        _remove(tmp_npy)
        raise
    return pixels, failures


def open_or_build(path, key, shape, fill):
    """Open the cache at ``path`` if valid, else (re)build it.

    Returns ``(pixels, failures, status)`` with status "opened", "built" (none existed),
    "rebuilt (stale: ...)" or "rebuilt (corrupt: ...)". A corrupt cache also warns.
    """
    npy_path, json_path = cache_paths(path, key)
    pixels, failures, reason = open_cache(npy_path, json_path, key, shape)
    if pixels is not None:
        return pixels, failures, "opened"
    if reason.startswith("corrupt"):
        warnings.warn(f"Image cache {npy_path} is {reason}; rebuilding it.", RuntimeWarning,
                      stacklevel=3)
    pixels, failures = build_cache(npy_path, json_path, key, shape, fill)
    status = "built" if reason == "missing" else f"rebuilt ({reason})"
    return pixels, failures, status
