"""A per-epoch progress bar in the style of Keras, for terminals and for log files.

In a terminal (a TTY) the bar redraws one line in place with ``\\r``::

    37/163 [======>.......................] - 15s - ETA: 51s - loss: 0.4123 - accuracy: 0.8210

Redirected to a file or a CI log, ``\\r`` would leave hundreds of half-lines, so the bar
prints a full line only about every 10% of the epoch, then the epoch's summary line.
"""

import shutil
import sys
import time

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds):
    """``7s``, ``1:02`` (minutes:seconds) or ``1:02:03`` (hours:minutes:seconds)."""
    seconds = int(round(max(seconds, 0.0)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def _format_values(values):
    return "".join(f" - {name}: {value:.4f}" for name, value in values.items())


class ProgressBar:
    """Progress of one epoch of ``total`` steps.

    Parameters
    ----------
    total : int
        Number of steps (batches) in the epoch.
    width : int
        Characters inside the brackets.
    stream : file-like, optional
        Where to write; ``sys.stdout`` by default (looked up when the bar is made,
        so pytest's ``capsys`` sees it).
    interactive : bool, optional
        Redraw in place (TTY) or print sparse full lines (log file). By default
        ``stream.isatty()``.
    log_every : float
        In non-interactive mode, print a line each time another ``log_every``
        fraction of the epoch is done (0.1 = every 10%).
    min_interval : float
        In interactive mode, redraw at most this often (seconds): redrawing costs time
        and a fast epoch would flicker.
    clock : callable
        Returns the time in seconds; replaceable in tests.
    columns : int, optional
        Terminal width. In interactive mode a redraw is cut to fit: a line that wraps
        cannot be redrawn in place with ``\r`` and would leave a trail of copies.
        By default the width of the terminal.

    Use ``update(step, values)`` after each step (``step`` counts from 1) and
    ``finish(values)`` once at the end of the epoch with the summary values.
    """

    def __init__(self, total, width=30, stream=None, interactive=None, log_every=0.1,
                 min_interval=0.1, clock=time.monotonic, columns=None):
        self.total = max(int(total), 0)
        self.width = int(width)
        self.stream = sys.stdout if stream is None else stream
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty()) if callable(isatty) else False
        self.interactive = interactive
        self.log_every = float(log_every)
        self.min_interval = float(min_interval)
        self.clock = clock
        self.columns = columns or shutil.get_terminal_size(fallback=(120, 24)).columns
        self.start = clock()
        self._last_draw = None
        self._next_fraction = self.log_every
        self._line_length = 0

    def _bar(self, step):
        if self.total <= 0:
            return f"{step}/?"
        digits = len(str(self.total))
        done = int(self.width * min(step, self.total) / self.total)
        if 0 < done < self.width:
            inner = "=" * (done - 1) + ">" + "." * (self.width - done)
        else:
            inner = "=" * done + "." * (self.width - done)
        return f"{step:>{digits}}/{self.total} [{inner}]"

    def line(self, step, values, final=False):
        """The text of the bar after ``step`` steps (no newline, no carriage return)."""
        elapsed = self.clock() - self.start
        text = f"{self._bar(step)} - {format_duration(elapsed)}"
        if final:
            if step > 0:
                text += f" {1000.0 * elapsed / step:.0f}ms/step"
        elif 0 < step < self.total:
            eta = elapsed / step * (self.total - step)
            text += f" - ETA: {format_duration(eta)}"
        return text + _format_values(values)

    def update(self, step, values):
        """Show progress after ``step`` completed steps with running ``values``."""
        now = self.clock()
        if self.interactive:
            if (self._last_draw is not None and now - self._last_draw < self.min_interval
                    and step < self.total):
                return
            self._last_draw = now
            text = self.line(step, values)[: max(self.columns - 1, 20)]
            # Pad with spaces so a shorter line fully covers the previous one.
            padding = " " * max(self._line_length - len(text), 0)
            self._line_length = len(text)
            self.stream.write("\r" + text + padding)
            self.stream.flush()
        else:
            if self.total <= 0 or step >= self.total:
                return  # the summary line from finish() says it
            if step / self.total + 1e-12 >= self._next_fraction:
                while self._next_fraction <= step / self.total + 1e-12:
                    self._next_fraction += self.log_every
                self.stream.write(self.line(step, values) + "\n")
                self.stream.flush()

    def finish(self, values, step=None):
        """Print the epoch's summary line (all steps done unless ``step`` says otherwise)."""
        step = self.total if step is None else step
        text = self.line(step, values, final=True)
        if self.interactive:
            padding = " " * max(self._line_length - len(text), 0)
            self.stream.write("\r" + text + padding + "\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
