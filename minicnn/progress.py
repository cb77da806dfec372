"""Progress bars: one per training epoch (``ProgressBar``), one per data job (``Progress``).

``ProgressBar`` is the per-epoch bar in the style of Keras, for terminals and log files.
In a terminal (a TTY) the bar redraws one line in place with ``\\r``::

    37/163 [======>.......................] - 15s - ETA: 51s - loss: 0.4123 - accuracy: 0.8210

Redirected to a file or a CI log, ``\\r`` would leave hundreds of half-lines, so the bar
prints a full line only about every 10% of the epoch, then the epoch's summary line.

In a Jupyter notebook (an IPython kernel: ``ipykernel`` is imported and the stream is
the kernel's ``OutStream``, which is no TTY), the front end keeps only the text after
the last ``\\r`` of a line, as a terminal does: the bar redraws in place there too, on
one line that may wrap (nothing is cut to a terminal width), as Keras's does
(:func:`in_notebook`).

``Progress`` counts items or bytes of a long data job (decoding a folder, a download) on
one line of stderr. It draws only when stderr is a terminal or a notebook's output and
``enabled`` is true, so logs, CI output and pytest stay clean, and it never prints to
stdout.
"""

import shutil
import sys
import threading
import time

__all__ = ["ProgressBar", "Progress", "format_duration", "in_notebook", "redraws_in_place"]


def in_notebook(stream):
    """True when ``stream`` is the output of a Jupyter (IPython) kernel.

    That is: ``ipykernel`` is imported, and ``stream`` is one of its ``OutStream`` objects
    (what ``sys.stdout`` and ``sys.stderr`` are in a notebook cell) and no TTY.
    """
    if "ipykernel" not in sys.modules:
        return False
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return False
    iostream = sys.modules.get("ipykernel.iostream")
    out_stream = getattr(iostream, "OutStream", None)
    if isinstance(out_stream, type) and isinstance(stream, out_stream):
        return True
    return type(stream).__module__.split(".")[0] == "ipykernel"


def redraws_in_place(stream):
    """Whether ``\\r`` redraws a line of ``stream``: a terminal, or a notebook's output."""
    isatty = getattr(stream, "isatty", None)
    return (callable(isatty) and bool(isatty())) or in_notebook(stream)


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
        Redraw in place (TTY, notebook) or print sparse full lines (log file). By default
        ``redraws_in_place(stream)``: a terminal or a Jupyter kernel's output.
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
        cannot be redrawn in place with ``\\r`` and would leave a trail of copies.
        By default the width of the terminal; unlimited in a notebook, whose lines
        wrap without harm (the front end redraws from the last ``\\r``).

    Use ``update(step, values)`` after each step (``step`` counts from 1) and
    ``finish(values)`` once at the end of the epoch with the summary values.
    """

    def __init__(self, total, width=30, stream=None, interactive=None, log_every=0.1,
                 min_interval=0.1, clock=time.monotonic, columns=None):
        self.total = max(int(total), 0)
        self.width = int(width)
        self.stream = sys.stdout if stream is None else stream
        self.notebook = in_notebook(self.stream)
        if interactive is None:
            interactive = redraws_in_place(self.stream)
        self.interactive = interactive
        self.log_every = float(log_every)
        self.min_interval = float(min_interval)
        self.clock = clock
        if columns is None and self.notebook:
            columns = 1 << 30
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


# --- data jobs ---------------------------------------------------------------------------
def _human_bytes(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


class Progress:
    """Count ``total`` units of work; redraw ``desc [=====>    ] done/total rate`` in place.

    Thread-safe: decoding threads call :meth:`update` concurrently.

    Parameters
    ----------
    total : int or None
        Units expected (None when unknown, e.g. a download without Content-Length).
    desc : str
        Text before the bar.
    unit : {"items", "bytes"}
        How to print counts and rates.
    enabled : bool
        False silences the bar entirely; otherwise it draws on a terminal or in a
        notebook (:func:`redraws_in_place`), never into a log file.
    stream : file-like, optional
        Default ``sys.stderr`` (looked up at construction so tests can replace it).
    """

    def __init__(self, total, desc="", unit="items", enabled=True, stream=None, min_interval=0.1):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled) and redraws_in_place(self.stream)
        self.min_interval = min_interval
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def _count(self, n):
        return _human_bytes(n) if self.unit == "bytes" else str(n)

    def _draw(self, final=False):
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        rate_text = f"{_human_bytes(rate)}/s" if self.unit == "bytes" else f"{rate:.0f}/s"
        if self.total:
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            bar = "[" + "=" * filled + " " * (width - filled) + "]"
            text = f"{self.desc} {bar} {self._count(self.done)}/{self._count(self.total)} {rate_text}"
        else:
            text = f"{self.desc} {self._count(self.done)} {rate_text}"
        self.stream.write("\r" + text + ("\n" if final else ""))
        self.stream.flush()

    def update(self, n=1):
        """Add ``n`` finished units and redraw (at most every ``min_interval`` seconds)."""
        with self._lock:
            self.done += n
            if not self.enabled:
                return
            now = time.monotonic()
            if now - self._last >= self.min_interval:
                self._last = now
                self._draw()

    def close(self):
        """Draw the final state and end the line."""
        with self._lock:
            if self.enabled:
                self._draw(final=True)
                self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
