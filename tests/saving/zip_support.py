"""Zips made by hand for the saving tests (members compressed elsewhere, headers that lie),
and a loader run in a subprocess whose memory is capped."""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np

# The checkout whose minicnn the capped loader imports (tests/saving/ is two folders down).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_zip(path, entries):
    """A zip of ``(name, raw_bytes, method, crc, uncompressed_size)`` entries, by hand:
    ``zipfile`` cannot store data that was compressed elsewhere."""
    with open(path, "wb") as f:
        central = b""
        for name, raw, method, crc, size in entries:
            offset = f.tell()
            fields = (20, 0, method, 0, 33, crc, len(raw), size, len(name.encode()), 0)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name.encode() + raw)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                   offset) + name.encode()
        start = f.tell()
        f.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                      len(central), start, 0))


def stored_entries(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info), zipfile.ZIP_STORED, info.CRC, info.file_size)
                for info in archive.infolist()]


def deflated_zeros(size, head=b"", chunk=1 << 20):
    """``(raw deflate data, crc)`` of ``head`` + zeros, ``size`` bytes in all, made without
    compressing ``size`` bytes: after a full flush the compressor forgets what came before,
    so every zero chunk compresses to the same bytes and those can be repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = (compressor.compress(head + bytes(chunk - len(head)))
             + compressor.flush(zlib.Z_FULL_FLUSH))
    zeros = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    raw = first + zeros * (size // chunk - 1) + compressor.flush()
    crc = zlib.crc32(head + bytes(chunk - len(head)))
    block = bytes(chunk)
    for _ in range(size // chunk - 1):
        crc = zlib.crc32(block, crc)
    return raw, crc


def npy_header(shape, dtype="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


# Loads a model file in a subprocess whose address space is capped a little above what it
# uses once imported: an allocation the size of the attack's declaration cannot succeed.
CAPPED_LOAD = r"""
import json, resource, sys, time
from minicnn.model import Sequential
size_kb = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
cap = size_kb * 1024 + (768 << 20)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.perf_counter()
try:
    Sequential.load(sys.argv[1])
    outcome = {"error": None}
except BaseException as error:
    outcome = {"error": type(error).__name__, "message": str(error)}
outcome["seconds"] = time.perf_counter() - start
print(json.dumps(outcome))
"""


def load_capped(path):
    env = dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CAPPED_LOAD, str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])
