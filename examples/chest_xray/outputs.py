"""The run folder's tables: ``split.csv``, ``history.csv`` and ``folds.csv`` are plain CSV files."""

import csv


def write_csv(path, header, rows):
    """``header`` then one line per row; returns ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_history_csv(path, history):
    """One row per completed epoch (1-based), one column per logged quantity."""
    keys = list(history.history)
    rows = [[i + 1] + [history.history[k][i] for k in keys] for i in range(len(history.epoch))]
    return write_csv(path, ["epoch"] + keys, rows)
