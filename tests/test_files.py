import os
import subprocess
import sys
import time

import pytest

from minicnn.files import STALE_AFTER_S, atomic_write, remove_stale_temporaries, temporary_prefix


def test_atomic_write_replaces_the_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644 & ~umask
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_failure_inside_the_block_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as f:
            f.write(b"half")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


# --- stale temporary files of killed writes ------------------------------------------------
def dead_pid():
    """A pid with no process: one of a child that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_our_pattern_of_a_gone_writer_or_too_old_is_removed(tmp_path):
    ours = temporary_prefix(".minicnn-")
    host = ours.split("-")[1]
    gone = tmp_path / f".minicnn-{host}-{dead_pid()}-abc123.tmp"
    alive = tmp_path / f"{ours}abc123.tmp"                       # this very process
    old_alive = tmp_path / f"{ours}old999.tmp"
    other_host = tmp_path / f".minicnn-0badc0de-{dead_pid()}-abc123.tmp"
    other_host_old = tmp_path / f".minicnn-0badc0de-{dead_pid()}-old123.tmp"
    unrelated = [tmp_path / "model.npz", tmp_path / ".minicnn-notes.tmp",
                 tmp_path / f".minicnn-{host}-{dead_pid()}-abc123.tmp.keep"]
    for path in [gone, alive, old_alive, other_host, other_host_old, *unrelated]:
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * STALE_AFTER_S
    for path in (old_alive, other_host_old, unrelated[0]):
        os.utime(path, (two_days_ago, two_days_ago))
    removed = remove_stale_temporaries(str(tmp_path), ".minicnn-", ".tmp")
    assert sorted(removed) == sorted(p.name for p in (gone, old_alive, other_host_old))
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (alive, other_host, *unrelated))


def test_atomic_write_removes_the_temporary_of_a_killed_write(tmp_path):
    path = tmp_path / "out.bin"
    script = ("import sys, os\nfrom minicnn.files import atomic_write\n"
              "with atomic_write(sys.argv[1]) as f:\n    f.write(b'half')\n    f.flush()\n"
              "    os.kill(os.getpid(), 9)\n")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", script, str(path)], cwd=repo,
                          env=dict(os.environ, PYTHONPATH=repo), capture_output=True)
    assert proc.returncode == -9
    assert len(os.listdir(tmp_path)) == 1 and not path.exists()  # its temporary stays
    with atomic_write(path) as f:
        f.write(b"whole")
    assert os.listdir(tmp_path) == ["out.bin"] and path.read_bytes() == b"whole"
