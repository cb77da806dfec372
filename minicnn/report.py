"""Run reports: self-contained HTML pages a reader can open anywhere, offline, and print.

Everything lives in the one file: the style sheet is inline and every figure is embedded
as a base64 ``data:`` URI, so a report can be mailed or archived alone and opens without
a network. A page never links out (no ``http``/``https`` address, no external script,
style or font). Text is escaped with ``html.escape`` unless it is marked as markup
(:class:`HTML`), so a file name holding ``<`` or ``&`` shows as written and cannot inject
markup. Values are shown as a reader writes them (:func:`text`): ``True`` is "yes",
``None`` is "none", a list is "a, b", never a Python repr.

Two ways to use it:

* :func:`write_report` turns dicts (settings, data summary, metrics, figures) into a
  generic report in one call;
* the building blocks (:func:`table`, :func:`figure`, :func:`section`, :func:`page`, ...)
  compose a page of one's own, as ``examples/chest_xray/report.py`` does.

:func:`hide_images` replaces chosen images by grey boxes (a screenshot for the docs must
not show patients' films); ``tools/report_screenshot.py`` renders a page to a PNG.
"""

import base64
import datetime
import html
import math
import os
import platform
import re
import sys

import numpy as np

from .files import atomic_write

__all__ = ["HTML", "esc", "text", "table", "key_value_table", "figure", "section", "page",
           "image_data_uri", "hide_images", "environment", "summary_html", "write_page",
           "write_report", "render_report", "CSS"]


class HTML(str):
    """A string that is already markup: :func:`esc` and the blocks insert it as it is.

    Adding text to it escapes the text: ``HTML("<b>") + "a<b"`` is ``<b>a&lt;b``.
    """

    def __add__(self, other):
        return HTML(str.__add__(self, esc(other)))

    def __radd__(self, other):
        return HTML(str.__add__(esc(other), self))


def esc(value):
    """``value`` as HTML: markup (:class:`HTML`) as it is, anything else as escaped :func:`text`."""
    if isinstance(value, HTML):
        return value
    return HTML(html.escape(text(value), quote=True))


def text(value, digits=3):
    """A value as a reader writes it: yes/no, none, numbers rounded, lists and dicts in words.

    Floats below 10 keep ``digits`` decimals (below 0.01, three significant digits), larger
    ones one, whole ones none (nan is "n/a"); a list is "a, b, c"; a dict is
    "key: value; key: value".
    """
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "infinite" if v > 0 else "minus infinite"
        if 10 <= abs(v) < 1e6 and v == int(v):
            return str(int(v))
        if 0 < abs(v) < 0.01:
            return f"{v:.3g}"           # a learning rate of 0.0001 is not "0.000"
        if abs(v) < 10:
            return f"{v:.{digits}f}"
        return f"{v:.1f}" if abs(v) < 1e6 else f"{v:.4g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(text(v, digits) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{text(k)}: {text(v, digits)}" for k, v in value.items())
    return str(value)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell(value, tag="td"):
    cls = ' class="num"' if _is_number(value) else ""
    return f"<{tag}{cls}>{esc(value)}</{tag}>"


def table(rows, head=None, caption=None, row_heads=True, cls=None):
    """A ``<table>``: ``head`` the column titles, ``rows`` lists of cells (text or :class:`HTML`).

    With ``row_heads`` each row's first cell is a row title (``<th scope="row">``); numbers
    are right-aligned in tabular figures.
    """
    parts = [f'<table{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>']
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    if head:
        parts.append("<thead><tr>" + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
                     + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        cells = list(row)
        first = (f'<th scope="row">{esc(cells[0])}</th>' if row_heads and cells
                 else (_cell(cells[0]) if cells else ""))
        parts.append("<tr>" + first + "".join(_cell(c) for c in cells[1:]) + "</tr>")
    parts.append("</tbody></table>")
    return HTML("".join(parts))


def key_value_table(d, caption=None):
    """A two-column table of a flat dict: the key as the row title, the value as :func:`text`."""
    return table([[k, v] for k, v in d.items()], caption=caption)


def image_data_uri(path):
    """The PNG or JPEG file at ``path`` as a ``data:`` URI (anything else is a ValueError)."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        mime = "image/jpeg"
    else:
        raise ValueError(f"figure {os.fspath(path)!r} is neither a PNG nor a JPEG file")
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def figure(title, path, caption=None, cls=None):
    """A ``<figure>`` with ``path`` embedded, ``title`` above and an optional ``caption`` below.

    ``cls`` is added to the image's class (e.g. "film" for pictures of patients, which
    :func:`hide_images` can blank). A missing file (a run cut short) is shown as a visible
    "missing" note, not an error.
    """
    head = f"<figcaption>{esc(title)}</figcaption>"
    below = f'<p class="caption">{esc(caption)}</p>' if caption else ""
    if path is None or not os.path.isfile(path):
        return HTML(f'<figure>{head}<p class="missing">missing: {esc(path)} was not written</p>'
                    f"{below}</figure>")
    img_cls = f' class="{esc(cls)}"' if cls else ""
    return HTML(f'<figure>{head}<img{img_cls} alt="{esc(title)}" src="{image_data_uri(path)}">'
                f"{below}</figure>")


def section(title, *body, id=None, cls=None, level=2):
    """``<section>`` with a heading of ``level`` and the ``body`` parts (text or :class:`HTML`)."""
    attrs = (f' id="{esc(id)}"' if id else "") + (f' class="{esc(cls)}"' if cls else "")
    inner = "".join(esc(b) if not isinstance(b, HTML) else b for b in body)
    return HTML(f"<section{attrs}><h{level}>{esc(title)}</h{level}>{inner}</section>")


# Colours: dark text on white (contrast above 7:1); the accents are the Okabe-Ito
# colour-blind-safe blue and vermillion, and every meaning they carry is also in words.
CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #c8c8c8; --head: #eef2f7; --accent: #0a5a8a;
        --warn-bg: #fff4e0; --warn-line: #b35900; --good: #0072b2; --bad: #b33c00; }
* { box-sizing: border-box; }
body { font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 78em; padding: .6em 1.2em 2em; line-height: 1.35; }
h1 { font-size: 1.45em; margin: .3em 0 .2em; border-bottom: 2px solid var(--accent); }
h2 { font-size: 1.2em; color: var(--accent); margin: 1.2em 0 .4em; }
h3 { font-size: 1.02em; margin: .9em 0 .3em; }
p { margin: .3em 0 .5em; }
table { border-collapse: collapse; margin: .4em 0 .8em; }
caption { text-align: left; font-weight: 600; padding-bottom: .2em; }
th, td { border: 1px solid var(--line); padding: .2em .55em; text-align: left; vertical-align: top; }
thead th, th[scope=col] { background: var(--head); }
th[scope=row] { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta, .caption { color: var(--muted); font-size: .92em; }
.missing { color: var(--bad); font-weight: 600; }
.warning { background: var(--warn-bg); border-left: 6px solid var(--warn-line); padding: .5em .8em;
           margin: .5em 0; }
.warning p { margin: .15em 0; }
figure { display: inline-block; margin: .4em 1em .8em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-weight: 600; margin-bottom: .2em; }
img.hidden-film { background: #888; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
pre { white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: .5em; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { break-after: avoid; }
  section, table, figure { break-inside: avoid; }
  .details { break-before: page; }
  figure { max-width: 48%; margin: .2em .8em .4em 0; }
  figure img { max-height: 90mm; }
  table { font-size: 9pt; }
  input { border: none; }
}
"""


def page(title, *body, script=None, lang="en"):
    """A whole HTML document: ``title``, the inline :data:`CSS`, the ``body`` parts, an inline script.

    ``script`` (JavaScript source, optional) goes at the end of the body; a page should read
    the same without it.
    """
    inner = "\n".join(b if isinstance(b, HTML) else esc(b) for b in body)
    js = f"\n<script>\n{script}\n</script>" if script else ""
    return HTML(f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{inner}{js}\n"
                "</body></html>\n")


# A 1x1 grey GIF: what a hidden image shows instead of its pixels.
_GREY_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAIiIiAAAACwAAAAAAQABAAACAkQBADs="


def hide_images(page_html, cls="film"):
    """``page_html`` with every ``<img>`` whose class holds ``cls`` replaced by a grey box.

    The images' pixels leave the page entirely (not blurred: removed), their size and
    place stay, so a screenshot shows the layout and no patient's film.
    """
    def grey(match):
        tag = match.group(0)
        if not re.search(r'class="[^"]*\b' + re.escape(cls) + r'\b', tag):
            return tag
        tag = re.sub(r'src="[^"]*"', f'src="{_GREY_PIXEL}"', tag)
        return tag.replace('class="', 'class="hidden-film ', 1)
    return re.sub(r"<img\b[^>]*>", grey, page_html)


def environment():
    """Where a run ran: versions, threads and machine, as ``{label: text}`` for a report."""
    from . import __version__

    versions = {"Python": platform.python_version(), "minicnn": __version__, "NumPy": np.__version__}
    for name in ("numba", "scipy", "matplotlib"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                continue
        versions[name] = getattr(module, "__version__", "unknown")
    threads = {name: os.environ.get(name, "not set")
               for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS",
                            "MINICNN_KERNELS")}
    numba = sys.modules.get("numba")
    if numba is not None:
        threads["Numba threads in use"] = str(numba.get_num_threads())
    machine = {"system": f"{platform.system()} {platform.release()}",
               "processor": platform.processor() or platform.machine(),
               "logical CPUs": str(os.cpu_count())}
    return {"versions": versions, "threads": threads, "machine": machine}


# --- the generic report of write_report --------------------------------------------------
# Rows of the metrics table, in reading order, with the names a clinician uses.
_METRIC_ROWS = [
    ("threshold", "threshold (predict positive when p >= t)"),
    ("auc", "ROC AUC"),
    ("average_precision", "average precision (PR AUC)"),
    ("recall", "sensitivity (recall)"),
    ("specificity", "specificity"),
    ("precision", "precision (PPV)"),
    ("accuracy", "accuracy"),
    ("f1", "F1"),
    ("brier", "Brier score (lower is better)"),
    ("n", "examples"),
    ("n_positive", "positives"),
]


def _label(key):
    """A dict key as a row title: ``train_seconds`` -> "train seconds"."""
    return str(key).replace("_", " ")


def summary_html(value):
    """A summary as HTML: scalars in a two-column table, a dict of scalars as its own titled
    table, a dict of such dicts (e.g. splits by classes) as one grid, deeper dicts under a heading."""
    if not isinstance(value, dict):
        return HTML(f"<p>{esc(value)}</p>")
    flat = {_label(k): v for k, v in value.items() if not isinstance(v, dict)}
    parts = [key_value_table(flat)] if flat else []
    for k, v in value.items():
        if not isinstance(v, dict):
            continue
        if not any(isinstance(x, dict) for x in v.values()):
            parts.append(key_value_table({_label(a): b for a, b in v.items()}, caption=_label(k)))
        elif all(isinstance(x, dict) and not any(isinstance(y, dict) for y in x.values())
                 for x in v.values()):
            columns = []
            for inner in v.values():
                columns += [c for c in inner if c not in columns]
            rows = [[a] + [b.get(c, "") for c in columns] for a, b in v.items()]
            parts.append(table(rows, head=[""] + columns, caption=_label(k)))
        else:
            parts.append(HTML(f"<h3>{esc(_label(k))}</h3>") + summary_html(v))
    return HTML("".join(parts))


def _metric_cell(section_, key):
    if key not in section_:
        return ""
    value = text(section_[key])
    ci = section_.get(f"{key}_ci")
    if ci is not None and len(ci) == 2:
        return HTML(f'{esc(value)} <span class="meta">[{esc(text(ci[0]))}, {esc(text(ci[1]))}]'
                    "</span>")
    return section_[key]


def _metrics_html(metrics):
    """Sections (dict values, e.g. "test", "test at 0.5") side by side; scalars in their own table."""
    sections = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    scalars = {_label(k): v for k, v in metrics.items() if not isinstance(v, dict)}
    parts = []
    if sections:
        known = [k for k, _ in _METRIC_ROWS]
        extra = []
        for sec in sections.values():
            extra += [k for k in sec if k not in known and k not in extra and not k.endswith("_ci")
                      and k != "confusion_matrix"]
        rows = [[label] + [_metric_cell(sec, key) for sec in sections.values()]
                for key, label in _METRIC_ROWS + [(k, _label(k)) for k in extra]
                if any(key in sec for sec in sections.values())]
        parts.append(table(rows, head=[""] + list(sections)))
        parts.append(HTML('<p class="meta">Brackets: bootstrap percentile intervals (95% unless '
                          "the run says otherwise) from resampling the examples.</p>"))
        for name, sec in sections.items():
            cm = sec.get("confusion_matrix")
            if cm is not None:
                (tn, fp), (fn, tp) = cm
                parts.append(table([["actually negative", f"{tn} true negatives",
                                     f"{fp} false positives"],
                                    ["actually positive", f"{fn} false negatives",
                                     f"{tp} true positives"]],
                                   head=["", "predicted negative", "predicted positive"],
                                   caption=f"Confusion matrix: {name}"))
    if scalars:
        parts.append(key_value_table(scalars))
    return HTML("".join(parts))


def render_report(settings=None, data_summary=None, metrics=None, figures=None, notes=None,
                  title="minicnn run report"):
    """The generic report as one HTML string (see :func:`write_report` for the arguments)."""
    from . import __version__

    created = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [HTML(f"<h1>{esc(title)}</h1>"),
            HTML(f'<p class="meta">Written {esc(created)} by minicnn {esc(__version__)}.</p>')]
    if notes:
        body.append(section("Notes", *[HTML(f"<p>{esc(n)}</p>")
                                       for n in ([notes] if isinstance(notes, str) else notes)]))
    if metrics:
        body.append(section("Results", _metrics_html(metrics)))
    if figures:
        body.append(section("Figures", *[figure(t, p) for t, p in figures.items()]))
    if data_summary:
        body.append(section("Data", summary_html(data_summary)))
    if settings:
        body.append(section("Settings", summary_html(settings)))
    return page(title, *body)


def write_report(path, settings=None, data_summary=None, metrics=None, figures=None, notes=None,
                 title="minicnn run report"):
    """Write the self-contained HTML report of a run and return its path.

    Parameters
    ----------
    path : where to write the ``.html`` (its folder is created)
    settings : dict of the run's settings (epochs, image size, seed ...); shown as a table
    data_summary : dict; a flat dict becomes a two-column table, a dict of dicts (e.g.
        ``{"images": {"train": {"normal": n, "abnormal": m}, "val": {...}}}``) a grid of
        splits by classes under its key's title
    metrics : dict; each dict value is a column of the results table, read with the
        keys of ``minicnn.metrics.summarize`` (``auc``, ``recall``, ... and
        ``<key>_ci`` = [lo, hi] shown beside the value, ``confusion_matrix``
        drawn as its own table); other values (``train_seconds``) go in a table below
    figures : dict title -> path of a PNG (or JPEG); embedded in the order given.
        A missing file is shown as a visible "missing" note rather than an error,
        so a run cut short still gets its report.
    notes : str or list of str, shown first, as paragraphs
    title : str

    Text passed in is shown as text (escaped), never as a link.
    """
    return write_page(path, render_report(settings, data_summary, metrics, figures, notes, title))


def write_page(path, page_html):
    """Write ``page_html`` to ``path`` (creating its folder) as UTF-8, atomically; returns the path.

    A killed run leaves the old page or the new one, never half a page.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as f:
        f.write(page_html.encode("utf-8"))
    return path
