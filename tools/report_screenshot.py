"""Render a run's ``report.html`` to a PNG with headless Chromium, every patient's film blanked.

For the screenshots in ``docs/img/`` (no X-ray pixels in the repository): the images the
report marks as films (``class="film"``) are replaced by grey boxes before rendering
(``minicnn.report.hide_images``: their pixels are removed, not blurred), and the window is
the first screen a reader sees::

    python tools/report_screenshot.py runs/default/report.html docs/img/report_default.png
    python tools/report_screenshot.py runs/x/report.html shot.png --size 1280x2400   # more of it

The same module runs Chromium for the report's tests (:func:`screenshot`, :func:`dump_dom`).
Chromium runs with a fresh profile, no network services, no sandbox, no GPU.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from minicnn.report import hide_images  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--hide-scrollbars", "--mute-audio"]


def find_browser():
    """The path of Chromium (or Chrome), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(html_text, extra, size, timeout):
    """Chromium on ``html_text`` (written to a temporary file) with ``extra`` flags; its stdout."""
    browser = find_browser()
    if browser is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "page.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(html_text)
        cmd = [browser, *FLAGS, f"--user-data-dir={os.path.join(tmp, 'profile')}",
               f"--window-size={size[0]},{size[1]}", *extra, "file://" + page]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        if done.returncode != 0:
            raise RuntimeError(f"Chromium failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout


def screenshot(html_path, png_path, size=(1280, 800), hide="film", timeout=120):
    """Write a PNG of the first ``size`` pixels (width, height) of the page at ``html_path``.

    Images whose class holds ``hide`` are grey boxes in the picture (None keeps them).
    Returns ``png_path``.
    """
    with open(html_path, encoding="utf-8") as f:
        text = f.read()
    if hide:
        text = hide_images(text, hide)
    png_path = os.path.abspath(png_path)
    os.makedirs(os.path.dirname(png_path), exist_ok=True)
    _run(text, [f"--screenshot={png_path}"], size, timeout)
    if not os.path.isfile(png_path):
        raise RuntimeError(f"Chromium wrote no screenshot to {png_path}")
    return png_path


def dump_dom(html_text, size=(1280, 800), timeout=120):
    """The page's DOM after its scripts ran, as Chromium serializes it (``--dump-dom``)."""
    return _run(html_text, ["--dump-dom", "--virtual-time-budget=3000"], size, timeout)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report", help="a report.html")
    p.add_argument("png", help="the PNG to write")
    p.add_argument("--size", default="1280x800", help="window WIDTHxHEIGHT in pixels")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(screenshot(args.report, args.png, (width, height)))


if __name__ == "__main__":
    main()
