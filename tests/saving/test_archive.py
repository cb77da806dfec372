"""minicnn.saving.archive: a member is judged by its header and its size in the zip directory
before its data is read: an architecture that is not JSON, a header declaring a huge array,
a member padded far beyond its array are refused naming the file, before allocating."""

import os
import re
import zipfile
import zlib

import numpy as np
import pytest

try:
    import resource
except ImportError:  # not on Windows
    resource = None

from minicnn.model import Sequential

from saving_support import craft, small_model
from zip_support import deflated_zeros, load_capped, npy_header, stored_entries, write_zip


def test_bad_json_and_wrong_json_types_are_value_errors_naming_the_file(tmp_path):
    for name, text, problem in [("bad.npz", "{not json", "JSON"),
                                ("list.npz", "[1, 2]", "not a minicnn Sequential"),
                                ("deep.npz", "[" * 100000 + "]" * 100000, "JSON")]:
        with pytest.raises(ValueError, match=rf"{name}.*{problem}"):
            Sequential.load(craft(tmp_path, name, config_text=text))


@pytest.mark.skipif(resource is None or not os.path.exists("/proc/self/status"),
                    reason="needs RLIMIT_AS and /proc (Linux) to cap the loader's memory")
def test_a_used_member_whose_header_declares_a_huge_array_is_refused_before_reading(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "layers.3.params.W.npy"]
    fake = npy_header((100_000, 100_000)) + bytes(64)  # says 40 GB, holds 64 bytes
    entries.append(("layers.3.params.W.npy", fake, zipfile.ZIP_STORED, zlib.crc32(fake), len(fake)))
    write_zip(tmp_path / "header.npz", entries)
    outcome = load_capped(tmp_path / "header.npz")
    assert outcome["error"] == "ValueError", outcome
    assert re.search(r"header.npz.*'layers.3.params.W'.*\(100000, 100000\)",
                     outcome["message"]), outcome


def test_a_member_far_larger_than_its_array_is_refused_before_inflating(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "layers.3.params.W.npy"]
    head = npy_header((18, 1)) + np.zeros(18, np.float32).tobytes()
    size = 64 << 20
    raw, crc = deflated_zeros(size, head=head)
    # A wrong CRC, which zipfile only notices at the member's end: a loader that inflated
    # the member would fail with "Bad CRC-32" instead of naming its size.
    entries.append(("layers.3.params.W.npy", raw, zipfile.ZIP_DEFLATED, crc ^ 1, size))
    write_zip(tmp_path / "padded.npz", entries)
    with pytest.raises(ValueError, match=r"padded.npz.*'layers.3.params.W'.*67,108,864 bytes"):
        Sequential.load(tmp_path / "padded.npz")


def test_an_architecture_string_declaring_gigabytes_is_refused_before_allocating(tmp_path):
    good = small_model().save(tmp_path / "good.npz")
    entries = [e for e in stored_entries(good) if e[0] != "__minicnn_config__.npy"]
    fake = npy_header((), "<U100000000") + b"{}\0\0\0"  # says 400 MB of text, holds 5 bytes
    entries.append(("__minicnn_config__.npy", fake, zipfile.ZIP_STORED, zlib.crc32(fake), len(fake)))
    write_zip(tmp_path / "text.npz", entries)
    with pytest.raises(ValueError, match=r"text.npz.*400,000,000-byte string"):
        Sequential.load(tmp_path / "text.npz")
