"""``CSVLogger``: one CSV row per epoch, as Keras's."""

import csv
import os

from .base import Callback


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (counting from 0, as Keras) and the logs.

    Each row is on disk when ``on_epoch_end`` returns (written, flushed and fsynced), so
    a run that crashes in epoch 10 leaves the rows of epochs 0 to 8.

    Parameters
    ----------
    filename : str or path
    separator : str
        Between the fields.
    append : bool
        False: start the file afresh at ``on_train_begin``. True: continue an existing
        file (a resumed run): the header is written only into an empty or new file, and
        the rows follow the existing header's columns.

    The columns are ``epoch`` and the sorted keys of the first epoch's logs; without
    validation data they get their ``val_`` twins anyway (as Keras's), and a value
    missing from a row is written ``NA``.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys = None

    def _existing_header(self):
        try:
            with open(self.filename, newline="") as f:
                line = f.readline()
        except FileNotFoundError:
            return None
        if not line.strip():
            return None
        header = next(csv.reader([line], delimiter=self.sep))
        return header[1:] if header and header[0] == "epoch" else None

    def on_train_begin(self, logs=None):
        self.keys = self._existing_header() if self.append else None
        self._write_header = self.keys is None
        if not self.append:
            open(self.filename, "w").close()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        rows = []
        if self._write_header:
            rows.append(["epoch", *self.keys])
            self._write_header = False
        rows.append([epoch, *(logs.get(key, "NA") for key in self.keys)])
        with open(self.filename, "a", newline="") as f:
            csv.writer(f, delimiter=self.sep, lineterminator="\n").writerows(rows)
            f.flush()
            os.fsync(f.fileno())
