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
      interpolation, draft) and, for every file in order, its absolute path, byte size
      and modification time (ns). Any change to the file list, a file, or a setting
      gives another key: the cache is *stale* and is rebuilt.
    * ``shape``, ``npy_bytes`` (exact size of the ``.npy`` file): a truncated file fails
      this size check.
    * ``sample_crc``: CRC-32 of 64 blocks of 64 KiB spread evenly over the pixel data.
      Hashing all of it would cost as much as reading it (~1 s per GB); the sample
      catches a file overwritten or zeroed by mistake without delaying the start. It is
      a spot check, not a proof that every byte is intact.
    * ``failed``: the files that could not be decoded (their rows are zero), so a reopen
      skips and reports the same files without decoding them.
    * ``checksum``: sha256 of all the fields above, so an edited or half-written header
      is detected.

Writing is atomic: the old header is deleted first (the cache is invalid from then on),
the pixels go to a temporary file that is renamed to ``<stem>.npy`` once flushed, and
the header is written to a temporary file and renamed into place last. An interrupted
build leaves no header, so the next run rebuilds instead of trusting half a file.
"""

import hashlib
import json
import os
import warnings
import zlib

import numpy as np

__all__ = ["CACHE_FORMAT", "cache_key", "cache_paths", "open_cache", "build_cache", "open_or_build"]

#: Bumped whenever the decoder or the layout changes what a cache holds.
CACHE_FORMAT = 1

_SAMPLE_BLOCKS = 64
_SAMPLE_BYTES = 64 * 1024


def cache_key(paths, settings):
    """sha256 hex digest of the cache format, ``settings`` and each file's path, size, mtime."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": CACHE_FORMAT, "settings": settings},
                             sort_keys=True).encode())
    for path in paths:
        try:
            st = os.stat(path)
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime = -1, -1  # a vanished file still changes the key
        digest.update(f"{os.path.abspath(path)}\0{size}\0{mtime}\n".encode())
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
        size = os.path.getsize(npy_path)
    except OSError:
        return None, None, "corrupt: the .npy file is missing"
    if size != header.get("npy_bytes"):
        return None, None, (f"corrupt: the .npy file has {size} bytes, "
                            f"the header says {header.get('npy_bytes')} (truncated?)")
    try:
        pixels = np.load(npy_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        return None, None, f"corrupt: cannot map the .npy file ({exc})"
    if pixels.shape != tuple(shape) or pixels.dtype != np.uint8:
        return None, None, f"corrupt: the .npy file holds {pixels.dtype} {pixels.shape}"
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
    return the list of ``(index, message)`` failures.
    """
    directory = os.path.dirname(os.path.abspath(npy_path))
    os.makedirs(directory, exist_ok=True)
    _remove(json_path)  # from here on the old cache is invalid, whatever happens
    suffix = f".tmp-{os.getpid()}-{id(fill):x}"
    tmp_npy, tmp_json = npy_path + suffix, json_path + suffix
    try:
        out = np.lib.format.open_memmap(tmp_npy, mode="w+", dtype=np.uint8, shape=tuple(shape))
        failures = fill(out)
        out.flush()
        crc = _sample_crc(out)
        del out  # unmap before the rename (needed on Windows)
        with open(tmp_npy, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_npy, npy_path)
        header = {
            "format": CACHE_FORMAT, "key": key, "shape": list(shape), "dtype": "uint8",
            "npy_bytes": os.path.getsize(npy_path), "sample_crc": crc,
            "failed": [[int(i), str(m)] for i, m in failures],
        }
        header["checksum"] = _header_checksum(header)
        with open(tmp_json, "w", encoding="utf-8") as f:
            json.dump(header, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_json, json_path)  # the completion marker
    except BaseException:
        _remove(tmp_npy)
        _remove(tmp_json)
        raise
    return np.load(npy_path, mmap_mode="r", allow_pickle=False), failures


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
