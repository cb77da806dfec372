"""The run folder: its CSV tables and ``metrics.json``, each written whole or not at all.

Every file goes to a temporary file beside its target and is renamed over it when complete
(``minicnn.files.atomic_write``), so a run killed mid-write leaves the old file or none,
never half of one; the next write into the folder removes the killed run's temporary files.
``split.csv``, ``history.csv``, ``folds.csv`` and ``predictions.csv`` (``--task 3class``) are
plain CSV files.

:func:`prepare_run_folder` makes ``--out``; with ``--overwrite`` it first removes the
previous run's files (:data:`RUN_FILES`), so a rerun that dies half way leaves a partial
new run, never a new ``model.npz`` beside the old run's metrics and report.
"""

import csv
import io
import json
import os
import signal
import time

from minicnn.files import atomic_write

#: The files a run writes into ``--out``: a folder holding any of them holds a run.
RUN_FILES = ("model.npz", "model.onnx", "metrics.json", "report.html", "history.csv",
             "split.csv", "folds.csv", "predictions.csv")

#: Test hook: the base name of a file to die on (SIGKILL) half way through writing it.
KILL_WHILE_WRITING = "CHEST_XRAY_KILL_WHILE_WRITING"


def prepare_run_folder(args):
    """``--out`` (default ``runs/<time>-<model>``), created; with ``--overwrite``, emptied of
    the previous run's files (named on the console). Returns the folder."""
    out = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S") + f"-{args.model}")
    os.makedirs(out, exist_ok=True)
    if args.overwrite:
        removed = [name for name in RUN_FILES if os.path.exists(os.path.join(out, name))]
        for name in removed:
            os.remove(os.path.join(out, name))
        if removed:
            print(f"--overwrite: removed the previous run's {', '.join(removed)} from {out}/")
    return out


def write_text(path, text):
    """``text`` (str) into ``path`` as UTF-8, atomically; returns ``path``."""
    data = text.encode("utf-8")
    with atomic_write(path, prefix=".chest-xray-", suffix=".tmp") as f:
        if os.environ.get(KILL_WHILE_WRITING) == os.path.basename(path):
            f.write(data[: len(data) // 2])   # half written, on disk, then killed outright
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        f.write(data)
    return path


def write_json(path, value):
    """``value`` as indented JSON, atomically; returns ``path``."""
    return write_text(path, json.dumps(value, indent=2))


def write_csv(path, header, rows):
    """``header`` then one line per row, atomically; returns ``path``."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def write_history_csv(path, history):
    """One row per completed epoch (1-based), one column per logged quantity."""
    keys = list(history.history)
    rows = [[i + 1] + [history.history[k][i] for k in keys] for i in range(len(history.epoch))]
    return write_csv(path, ["epoch"] + keys, rows)
