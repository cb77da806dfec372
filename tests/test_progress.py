"""The progress bar: its text, sparse lines in logs, in-place redraws in terminals,
and what fit prints at each verbosity."""

import io

import numpy as np
import pytest

from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.optimizers import SGD
from minicnn.progress import ProgressBar, format_duration


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (7.4, "7s"), (59.6, "1:00"), (62, "1:02"),
                                           (3723, "1:02:03"), (-1, "0s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_line_shows_step_bar_elapsed_eta_and_values():
    clock = FakeClock()
    bar = ProgressBar(100, width=10, stream=io.StringIO(), interactive=False, clock=clock)
    clock.now = 10.0  # 10 steps in 10 s: 90 steps left take 90 s
    line = bar.line(10, {"loss": 0.5, "auc": 0.91234})
    assert line == " 10/100 [>.........] - 10s - ETA: 1:30 - loss: 0.5000 - auc: 0.9123"
    clock.now = 100.0
    assert bar.line(100, {"loss": 0.25}, final=True) == \
        "100/100 [==========] - 1:40 1000ms/step - loss: 0.2500"


def test_log_mode_prints_about_every_tenth_of_the_epoch():
    stream = io.StringIO()
    bar = ProgressBar(200, stream=stream, interactive=False, clock=FakeClock())
    for step in range(1, 201):
        bar.update(step, {"loss": 1.0 / step})
    bar.finish({"loss": 0.005, "val_loss": 0.01})
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 10  # 10%, 20%, ..., 90%, then the summary
    assert [line.split("/")[0].strip() for line in lines[:9]] == [str(20 * k) for k in range(1, 10)]
    assert lines[-1].startswith("200/200") and "val_loss: 0.0100" in lines[-1]


def test_log_mode_with_few_steps_prints_each_step_once():
    stream = io.StringIO()
    bar = ProgressBar(3, stream=stream, interactive=False, clock=FakeClock())
    for step in (1, 2, 3):
        bar.update(step, {})
    bar.finish({})
    assert [line.split(" ")[0] for line in stream.getvalue().splitlines()] == ["1/3", "2/3", "3/3"]


def test_terminal_mode_redraws_in_place_at_most_every_min_interval():
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(50, stream=stream, interactive=True, min_interval=0.1, clock=clock)
    for step in range(1, 51):
        clock.now += 0.01  # 100 steps per second: only every 10th step is drawn
        bar.update(step, {"loss": 0.1})
    bar.finish({"loss": 0.1})
    text = stream.getvalue()
    assert text.count("\r") == 1 + 5 + 1  # the first step, one per 0.1 s (the last forced), summary
    assert text.endswith("\n") and text.count("\n") == 1


def test_a_shorter_redraw_covers_the_longer_previous_line():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, interactive=True, min_interval=0, clock=FakeClock())
    bar.update(1, {"loss": 0.1, "a_long_metric_name": 0.5})
    bar.update(2, {"loss": 0.1})
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) == len(first)


def test_terminal_redraws_are_cut_to_the_terminal_width():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, interactive=True, clock=FakeClock(), columns=50)
    bar.update(1, {"loss": 0.1, "accuracy": 0.2, "auc": 0.3, "precision": 0.4})
    assert len(stream.getvalue()) == 1 + 49  # "\r" + the line cut to fit without wrapping
    bar.finish({"loss": 0.1, "accuracy": 0.2, "auc": 0.3, "precision": 0.4})
    assert stream.getvalue().splitlines()[-1].endswith("precision: 0.4000")  # the summary is whole


def _fit(verbose, steps=50):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * 2, 2, 2, 1)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.float32)
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    model.compile(SGD(0.1), metrics=["accuracy"])
    return model.fit(x, y, epochs=2, batch_size=2, validation_data=(x, y), verbose=verbose)


def test_fit_verbose_1_prints_a_progress_line_per_tenth_and_an_epoch_summary(capsys):
    _fit(verbose=1)
    out = capsys.readouterr().out  # not a TTY: the log mode
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2" in lines
    assert len(lines) == 2 * (1 + 9 + 1)  # header, 9 progress lines, summary
    assert any(line.startswith("25/50 [") and "ETA:" in line and "loss:" in line for line in lines)
    summary = lines[10]
    assert summary.startswith("50/50 [====") and "ms/step" in summary
    for key in ("loss:", "accuracy:", "val_loss:", "val_accuracy:"):
        assert key in summary


def test_fit_verbose_0_prints_nothing_and_verbose_2_one_line_per_epoch(capsys):
    _fit(verbose=0)
    assert capsys.readouterr().out == ""
    _fit(verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].startswith("50/50") and "val_loss" in lines[1]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_the_data_job_bar_counts_and_draws_only_on_a_terminal():
    from minicnn.progress import Progress

    quiet = io.StringIO()
    with Progress(10, desc="decode", stream=quiet) as bar:
        bar.update(4)
        assert bar.done == 4
    assert quiet.getvalue() == ""  # not a terminal: silent
    terminal = FakeTerminal()
    with Progress(2_000_000, desc="download", unit="bytes", stream=terminal, min_interval=0) as bar:
        bar.update(1_000_000)
    assert terminal.getvalue().startswith("\rdownload [") and "1.0 MB/2.0 MB" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")


# --- in a Jupyter notebook ----------------------------------------------------------------
@pytest.fixture
def kernel(monkeypatch):
    """A fake IPython kernel: modules ``ipykernel`` and ``ipykernel.iostream`` whose
    ``OutStream`` is, like the real one, a text stream that is no TTY."""
    import sys
    import types

    package = types.ModuleType("ipykernel")
    iostream = types.ModuleType("ipykernel.iostream")

    class OutStream(io.StringIO):
        def isatty(self):
            return False

    OutStream.__module__ = "ipykernel.iostream"
    iostream.OutStream = OutStream
    package.iostream = iostream
    monkeypatch.setitem(sys.modules, "ipykernel", package)
    monkeypatch.setitem(sys.modules, "ipykernel.iostream", iostream)
    return OutStream


def test_a_notebook_stream_is_detected_and_a_log_file_is_not(kernel, monkeypatch):
    import sys
    from minicnn.progress import in_notebook, redraws_in_place

    assert in_notebook(kernel()) and redraws_in_place(kernel())
    assert not in_notebook(io.StringIO()) and not redraws_in_place(io.StringIO())
    monkeypatch.delitem(sys.modules, "ipykernel")
    assert not in_notebook(kernel())  # the same stream outside a kernel is just a stream


def test_the_epoch_bar_redraws_in_place_in_a_notebook(kernel):
    clock = FakeClock()
    out = kernel()
    bar = ProgressBar(50, width=10, stream=out, clock=clock, min_interval=0)
    assert bar.interactive and bar.notebook
    for step in range(1, 51):
        clock.now = step * 0.5
        bar.update(step, {"loss": 1.0 / step, "accuracy": 0.5, "auc": 0.75, "precision": 0.1,
                          "recall": 0.2, "specificity": 0.3, "sensitivity": 0.4})
    bar.finish({"loss": 0.02})
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, redrawn 50 times
    assert text.count("\r") == 51
    last_draw = text.split("\r")[-2]
    assert "sensitivity: 0.4000" in last_draw  # not cut to a terminal's width


def test_fit_in_a_notebook_prints_one_line_per_epoch(kernel, monkeypatch):
    import sys

    out = kernel()
    monkeypatch.setattr(sys, "stdout", out)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2, 2, 1)).astype(np.float32)
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    model.compile(SGD(0.1))
    model.fit(x, (x[:, 0, 0, 0] > 0).astype(np.float32), epochs=2, batch_size=4, verbose=1)
    lines = out.getvalue().split("\n")
    assert [line.startswith("Epoch") for line in lines[:-1]] == [True, False, True, False]
    assert all("\r" in line for line in lines[1:-1:2])


def test_the_decoding_bar_draws_in_a_notebook_and_not_in_a_log(kernel, monkeypatch, tmp_path):
    import sys

    from PIL import Image

    from minicnn.data import image_dataset_from_directory

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    err = kernel()
    monkeypatch.setattr(sys, "stderr", err)
    image_dataset_from_directory(tmp_path, image_size=(8, 8), color_mode="grayscale").cache(
        verbose=True)
    assert "Decoding images [" in err.getvalue() and "6/6" in err.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    image_dataset_from_directory(tmp_path, image_size=(8, 8), color_mode="grayscale").cache(
        verbose=True)
    assert "Decoding" not in log.getvalue()


def test_evaluate_and_predict_draw_their_own_bar_and_validation_in_fit_none(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2, 2, 1)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.float32)
    model = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    model.compile(SGD(0.1))
    logs = model.evaluate(x, y, batch_size=10, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("4/4 [") and f"loss: {logs['loss']:.4f}" in out[-1]
    model.predict(x, batch_size=10, verbose=1)
    assert capsys.readouterr().out.splitlines()[-1].startswith("4/4 [")
    model.fit(x, y, epochs=2, batch_size=10, validation_data=(x, y), verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all("val_loss" in line for line in lines[1::2])  # no val bar
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
