"""A one-line progress bar on stderr for long data jobs (decoding a folder, a download).

It draws only when stderr is a terminal and ``enabled`` is true, so logs, CI output and
pytest stay clean. (The training progress bar is ``minicnn.progress``; this one counts
items or bytes, not training steps, and never prints to stdout.)
"""

import sys
import threading
import time


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
        False silences the bar entirely.
    stream : file-like, optional
        Default ``sys.stderr`` (looked up at construction so tests can replace it).
    """

    def __init__(self, total, desc="", unit="items", enabled=True, stream=None, min_interval=0.1):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled) and callable(isatty) and bool(isatty())
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
