"""Reading the members of a model file without trusting them: each one read only when asked,
its ``.npy`` header and its size in the zip directory checked before any data is.

Used by ``load`` for step 1 (the zip directory, then the small architecture member) and
step 4 (each member's header and size) of loading; see ``minicnn.saving``.
"""

import json
import zipfile
import zlib

import numpy as np

from .file_format import CONFIG_KEY, MAX_CONFIG_BYTES, MAX_NPY_HEADER, Refused

# Reading a zip member can fail in all of these ways; each means "damaged file".
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError)


class Archive:
    """The members of an open zip, by array key; each read only when asked, and bounded."""

    def __init__(self, archive):
        self.archive = archive
        self.members = {}
        self.others = []
        for info in archive.infolist():
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else None
            if key is None:
                self.others.append(name)
            elif key in self.members:
                raise Refused(f"holds two members named {name!r}")
            else:
                self.members[key] = info

    def header(self, key, limit):
        """``(shape, fortran_order, dtype, data_offset)`` of member ``key``, refusing a
        member whose uncompressed size could not fit a header and ``limit`` data bytes."""
        info = self.members[key]
        if info.file_size > limit + MAX_NPY_HEADER:
            raise Refused(f"member {key!r} is {info.file_size:,} bytes uncompressed, far more "
                          f"than the {limit:,} bytes its array needs; refused without "
                          "inflating it")
        with self.archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise Refused(f"member {key!r} is in .npy format {version}, not 1.0 or 2.0")
            return shape, fortran_order, dtype, stream.tell()

    def read_into(self, key, target, fortran_order, offset):
        """Fill ``target`` (C-contiguous) with the data of member ``key``."""
        buffer = np.empty(target.shape[::-1], target.dtype) if fortran_order else target
        view = memoryview(buffer.reshape(-1).view(np.uint8))
        with self.archive.open(self.members[key]) as stream:
            stream.read(offset)
            filled = 0
            while filled < len(view):
                n = stream.readinto(view[filled:])
                if not n:
                    raise Refused(f"member {key!r} ends after {filled:,} of its "
                                  f"{len(view):,} data bytes")
                filled += n
        if fortran_order:
            target[...] = buffer.T


def read_config(archive):
    if CONFIG_KEY not in archive.members:
        raise Refused(f"is not a readable minicnn model file (no '{CONFIG_KEY}' entry)")
    shape, _, dtype, offset = archive.header(CONFIG_KEY, MAX_CONFIG_BYTES)
    if shape != () or dtype.kind != "U":
        raise Refused(f"'{CONFIG_KEY}' must be a unicode string, got {dtype} {shape}")
    if archive.members[CONFIG_KEY].file_size != offset + dtype.itemsize:
        raise Refused(f"'{CONFIG_KEY}' declares a {dtype.itemsize:,}-byte string but holds "
                      f"{archive.members[CONFIG_KEY].file_size - offset:,} bytes")
    text = np.empty((), dtype)
    archive.read_into(CONFIG_KEY, text, False, offset)
    try:
        return json.loads(str(text[()]))
    except (ValueError, RecursionError) as error:
        raise Refused(f"its architecture is not valid JSON ({type(error).__name__}: "
                      f"{str(error)[:200]})") from None


def check_member(archive, key, want, dtype, where, size):
    """The member ``key`` must be a ``dtype`` array of shape ``want`` and exactly that size."""
    file_shape, fortran_order, file_dtype, offset = archive.header(key, size)
    if file_dtype.hasobject or file_dtype != dtype or tuple(file_shape) != want:
        raise Refused(f"member {key!r} holds {file_dtype} {tuple(file_shape)}; "
                      f"{where} needs {dtype} {want}")
    if archive.members[key].file_size != offset + size:
        raise Refused(f"member {key!r} is {archive.members[key].file_size:,} bytes "
                      f"uncompressed; a {dtype} {want} array is {offset + size:,} "
                      "with its header")
    return fortran_order, offset

