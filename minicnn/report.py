"""The run report: one self-contained HTML file a reader can open anywhere, offline.

Everything lives in the one file: the style sheet is inline and every figure is
embedded as a base64 ``data:`` URI, so the report can be mailed or archived
alone and opens without a network. The report itself never links out (no
``http``/``https`` address, no external script, style or font). Every piece of
text passed in is escaped with ``html.escape``, so a file name holding ``<``
or ``&`` shows as written and cannot inject markup.

Typical use, at the end of a training script::

    write_report("runs/x/report.html",
                 settings={"epochs": 3, "image_size": 224, ...},
                 data_summary={"images": {"train": {"normal": 1200, "abnormal": 3400}, ...},
                               "patients": {...}, "duplicates removed": 3,
                               "class weights": {"normal": 1.9, "abnormal": 0.7}},
                 metrics={"test": summarize(y, p, t), "test at 0.5": summarize(y, p, 0.5),
                          "train_seconds": 394.2},
                 figures={"ROC curve": "runs/x/roc.png", ...})
"""

import base64
import datetime
import html
import math
import os

import numpy as np

__all__ = ["write_report", "render_report"]

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

_CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #446; padding-bottom: .2em; }
h2 { color: #335; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0 1em 0; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eef; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ci { color: #666; font-size: .9em; }
figure { display: inline-block; margin: .5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-weight: bold; margin-bottom: .3em; }
.missing { color: #a00; font-weight: bold; }
.meta { color: #666; }
"""


def _esc(value):
    return html.escape(str(value), quote=True)


def _fmt(value):
    """A value as short text: floats below 10 with 3 decimals, larger with 1, nan as n/a."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        if abs(v) < 10:
            return f"{v:.3f}"           # rates and scores: three decimals, always
        return f"{v:.1f}" if abs(v) < 1e6 else f"{v:.4g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell(value):
    cls = ' class="num"' if _is_number(value) else ""
    return f"<td{cls}>{_esc(_fmt(value))}</td>"


def _key_value_table(d):
    rows = "".join(f"<tr><th>{_esc(k)}</th>{_cell(v)}</tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


def _render(value):
    """Any summary value as HTML: a dict of dicts becomes a grid, a flat dict a two-column table."""
    if not isinstance(value, dict):
        return f"<p>{_esc(_fmt(value))}</p>"
    flat = {k: v for k, v in value.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in value.items() if isinstance(v, dict)}
    parts = []
    if flat:
        parts.append(_key_value_table(flat))
    grids = {k: v for k, v in nested.items() if not any(isinstance(x, dict) for x in v.values())}
    deeper = {k: v for k, v in nested.items() if k not in grids}
    if grids:
        # Rows are the outer keys (e.g. splits), columns the union of inner keys (e.g. classes).
        columns = []
        for inner in grids.values():
            columns += [c for c in inner if c not in columns]
        head = "<tr><th></th>" + "".join(f"<th>{_esc(c)}</th>" for c in columns) + "</tr>"
        body = "".join(
            f"<tr><th>{_esc(k)}</th>" + "".join(_cell(inner[c]) if c in inner else "<td></td>"
                                                  for c in columns) + "</tr>"
            for k, inner in grids.items())
        parts.append(f"<table>{head}{body}</table>")
    for k, v in deeper.items():
        parts.append(f"<h3>{_esc(k)}</h3>{_render(v)}")
    return "".join(parts)


def _metric_cell(section, key):
    if key not in section:
        return "<td></td>"
    text = _esc(_fmt(section[key]))
    ci = section.get(f"{key}_ci")
    if ci is not None and len(ci) == 2:
        text += f' <span class="ci">[{_esc(_fmt(ci[0]))}, {_esc(_fmt(ci[1]))}]</span>'
    return f'<td class="num">{text}</td>'


def _metrics_html(metrics):
    """Sections (dict values, e.g. "test", "test at 0.5") side by side; scalars in their own table."""
    sections = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    parts = []
    if sections:
        known = [k for k, _ in _METRIC_ROWS]
        extra = []
        for sec in sections.values():
            extra += [k for k in sec if k not in known and k not in extra and not k.endswith("_ci")
                      and k != "confusion_matrix"]
        head = "<tr><th></th>" + "".join(f"<th>{_esc(name)}</th>" for name in sections) + "</tr>"
        rows = []
        for key, label in _METRIC_ROWS + [(k, k) for k in extra]:
            if any(key in sec for sec in sections.values()):
                rows.append(f"<tr><th>{_esc(label)}</th>"
                            + "".join(_metric_cell(sec, key) for sec in sections.values()) + "</tr>")
        parts.append(f"<table>{head}{''.join(rows)}</table>")
        parts.append('<p class="meta">Brackets: bootstrap percentile intervals (95% unless the run '
                     'says otherwise) from resampling the examples.</p>')
        for name, sec in sections.items():
            cm = sec.get("confusion_matrix")
            if cm is not None:
                (tn, fp), (fn, tp) = cm
                parts.append(
                    f"<h3>Confusion matrix: {_esc(name)}</h3><table>"
                    "<tr><th></th><th>predicted negative</th><th>predicted positive</th></tr>"
                    f"<tr><th>actually negative</th>{_cell(tn)}{_cell(fp)}</tr>"
                    f"<tr><th>actually positive</th>{_cell(fn)}{_cell(tp)}</tr></table>")
    if scalars:
        parts.append(_key_value_table(scalars))
    return "".join(parts)


def _image_data_uri(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        mime = "image/jpeg"
    else:
        raise ValueError(f"figure {os.fspath(path)!r} is neither a PNG nor a JPEG file")
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _figures_html(figures):
    parts = []
    for title, path in figures.items():
        if path is None or not os.path.isfile(path):
            # A run cut short (Ctrl-C) may lack a figure: say so visibly rather than fail the report.
            parts.append(f'<figure><figcaption>{_esc(title)}</figcaption>'
                         f'<p class="missing">missing: {_esc(path)} was not written</p></figure>')
            continue
        parts.append(f'<figure><figcaption>{_esc(title)}</figcaption>'
                     f'<img alt="{_esc(title)}" src="{_image_data_uri(path)}"></figure>')
    return "".join(parts)


def render_report(settings=None, data_summary=None, metrics=None, figures=None, notes=None,
                  title="minicnn run report"):
    """The report as one HTML string (see ``write_report`` for the arguments)."""
    from . import __version__

    created = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [f"<h1>{_esc(title)}</h1>",
            f'<p class="meta">Written {_esc(created)} by minicnn {_esc(__version__)}.</p>']
    if notes:
        body.append("<h2>Notes</h2>")
        body += [f"<p>{_esc(n)}</p>" for n in ([notes] if isinstance(notes, str) else notes)]
    if metrics:
        body += ["<h2>Results</h2>", _metrics_html(metrics)]
    if figures:
        body += ["<h2>Figures</h2>", _figures_html(figures)]
    if data_summary:
        body += ["<h2>Data</h2>", _render(data_summary)]
    if settings:
        body += ["<h2>Settings</h2>", _render(settings)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(path, settings=None, data_summary=None, metrics=None, figures=None, notes=None,
                 title="minicnn run report"):
    """Write the self-contained HTML report of a run and return its path.

    Parameters
    ----------
    path : where to write the ``.html`` (its folder is created)
    settings : dict of the run's settings (epochs, image size, seed ...); shown as a table
    data_summary : dict; a dict of dicts becomes a grid (e.g. ``{"images": {"train":
        {"normal": n, "abnormal": m}, "val": {...}}}`` gives splits by classes),
        a flat dict a two-column table, nesting deeper gets sub-headings
    metrics : dict; each dict value is a column of the results table, read with the
        keys of ``minicnn.metrics.summarize`` (``auc``, ``recall``, ... and
        ``<key>_ci`` = [lo, hi] shown beside the value, ``confusion_matrix``
        drawn as its own table); other values (``train_seconds``) go in a table
        below. The ``metrics.json`` of the example can be passed as it is.
    figures : dict title -> path of a PNG (or JPEG); embedded in the order given.
        A missing file is shown as a visible "missing" note rather than an error,
        so a run cut short still gets its report.
    notes : str or list of str, shown first, as paragraphs
    title : str

    Text passed in is shown as text (escaped), never as a link.
    """
    text = render_report(settings, data_summary, metrics, figures, notes, title)
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
