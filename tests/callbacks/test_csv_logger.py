"""CSVLogger: a row at each epoch end, crash and resume."""

import pytest

from minicnn.callbacks import Callback
from minicnn.optimizers import SGD

from callback_support import model_and_data


# --- CSVLogger --------------------------------------------------------------------------------
def read_rows(path, separator=","):
    import csv
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_csv_logger_writes_each_row_at_its_epoch_end(tmp_path):
    from minicnn.callbacks import CSVLogger

    path = tmp_path / "log.csv"
    seen = []

    class ReadBack(Callback):  # after the logger: the row must already be on disk
        def on_epoch_end(self, epoch, logs=None):
            seen.append(read_rows(path, ";"))

    model, x, y = model_and_data()
    model.compile(SGD(0.1), metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, validation_data=(x, y),
                        callbacks=[CSVLogger(path, separator=";"), ReadBack()], verbose=0)
    header = ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [len(rows) for rows in seen] == [2, 3, 4] and seen[0][0] == header
    rows = read_rows(path, ";")
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [float(r[2]) for r in rows[1:]] == history.history["loss"]
    assert [float(r[4]) for r in rows[1:]] == history.history["val_loss"]


def test_csv_logger_after_a_crash_and_appending_on_resume(tmp_path):
    from minicnn.callbacks import CSVLogger

    class Crash(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 9:
                raise RuntimeError("power cut")

    path = tmp_path / "log.csv"
    model, x, y = model_and_data()
    with pytest.raises(RuntimeError, match="power cut"):
        model.fit(x, y, epochs=10, callbacks=[CSVLogger(path), Crash()], verbose=0)
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]  # Keras adds the val_ twins, NA here
    assert [r[0] for r in rows[1:]] == [str(e) for e in range(9)] and rows[1][2] == "NA"
    model.fit(x, y, epochs=10, initial_epoch=9, callbacks=[CSVLogger(path, append=True)], verbose=0)
    rows = read_rows(path)
    assert [r[0] for r in rows] == ["epoch", *map(str, range(10))]  # one header
    model.fit(x, y, epochs=1, callbacks=[CSVLogger(path)], verbose=0)  # append=False: afresh
    assert [r[0] for r in read_rows(path)] == ["epoch", "0"]
