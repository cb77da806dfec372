"""Step 7's page: ``report.html`` as a clinician reads it, the answer first, details last.

The page is built from the run folder alone (its ``metrics.json`` and PNGs), so a run can be
reported again, or beside another run, without the data::

    python -c "import sys; sys.path.insert(0, 'examples'); from chest_xray import report; \
report.write('runs/default', compare='runs/original')"

Reading order:

1. the first screen: the model, the data (children and films per split), the operating point,
   and the headline (:func:`headline`): sensitivity and specificity with their intervals and
   in words per 100 children, the misses and false alarms as counts, PPV and NPV at the test
   prevalence and at one the reader sets, AUC, and how much of Grad-CAM's heat falls on the
   lungs;
2. this run beside another one (``--compare DIR``, or a sub-folder of the run holding a
   ``metrics.json``), scored on the same test films;
3. explanations: the confusion matrix in words, the films as the model scored them, Grad-CAM
   by outcome, the stress test;
4. details: settings, curves, calibration, the split, the environment, the command.

Predictive values at prevalence pi, from sensitivity se and specificity sp:

    PPV = se pi / (se pi + (1 - sp)(1 - pi))      NPV = sp (1 - pi) / (sp (1 - pi) + (1 - se) pi)
"""

import csv
import datetime
import json
import os

from minicnn.report import (HTML, esc, figure, page, section, summary_html, table, text,
                            write_page)

#: Outcomes in reading order: (key, name, what it means for a child).
OUTCOMES = [("TP", "true positives", "pneumonia found"),
            ("FP", "false positives", "false alarms: normal films called pneumonia"),
            ("FN", "false negatives", "pneumonia missed"),
            ("TN", "true negatives", "normal films cleared")]

#: Figures that show patients' films: marked so that a screenshot can hide them.
FILM_FIGURES = ("Training samples", "Augmentation preview", "Test predictions", "Grad-CAM")

#: The report's settings table: option -> (label, unit or None).
SETTING_LABELS = {
    "recipe": ("recipe", None), "model": ("model", None), "epochs": ("epochs", "passes"),
    "image_size": ("image size", "px square"), "color_mode": ("colour mode", None),
    "batch_size": ("batch size", "images"), "learning_rate": ("learning rate (Adam)", None),
    "lr_schedule": ("learning-rate schedule", None), "warmup_epochs": ("warm-up", "epochs"),
    "weight_decay": ("weight decay", None), "keep": ("weights kept", None),
    "no_class_weights": ("class weights off", None),
    "val_fraction": ("validation share of train/", None),
    "target_sensitivity": ("target sensitivity on validation", None),
    "threshold": ("fixed threshold", None), "preprocess": ("preprocessing", None),
    "rotation": ("rotation", "turns"), "zoom": ("zoom (height)", None),
    "zoom_width": ("zoom (width)", None), "fill_mode": ("border fill", None),
    "crop_scale": ("random resized crop, smallest area", None),
    "translate": ("translation", "of the size"), "contrast": ("contrast factor", None),
    "brightness": ("brightness factor", None), "sharpness": ("sharpness factor", None),
    "bootstrap": ("bootstrap resamples", None), "seed": ("seed", None),
    "limit": ("image limit per split", "images"), "folds": ("folds", None),
    "data": ("data", None), "out": ("output folder", None), "cache": ("cache", None),
    "compare": ("compared with", None),
}

_SCRIPT = """
(function () {
  var box = document.getElementById('prevalence');
  if (!box) return;
  var se = parseFloat(box.dataset.sensitivity), sp = parseFloat(box.dataset.specificity);
  function pct(x) { return isFinite(x) ? (100 * x).toFixed(1) + '%' : 'n/a'; }
  function update() {
    var pi = parseFloat(box.value) / 100;
    if (!(pi > 0 && pi < 1)) { return; }
    document.getElementById('ppv-at').textContent = pct(se * pi / (se * pi + (1 - sp) * (1 - pi)));
    document.getElementById('npv-at').textContent =
      pct(sp * (1 - pi) / (sp * (1 - pi) + (1 - se) * pi));
  }
  box.addEventListener('input', update);
  update();
})();
"""

REPORT_CSS = HTML("""<style>
.top { display: grid; grid-template-columns: minmax(0, 1.45fr) minmax(0, 1fr); gap: 1.1em;
       align-items: start; }
.card { border: 2px solid var(--accent); border-radius: 6px; padding: .5em 1em .6em; }
.card h2 { margin-top: .1em; }
.big { font-size: 1.22em; font-weight: 700; margin: .45em 0 .05em; }
.words { margin: 0 0 .3em; }
.facts h3 { margin: .2em 0 .15em; color: var(--accent); }
.facts p, .facts table { margin: .1em 0 .45em; font-size: .93em; }
input#prevalence { width: 4.5em; font: inherit; }
.outcomes { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1em; }
.outcomes figure { margin: .3em 0 .6em; }
.halves { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
@media (max-width: 900px) { .top { grid-template-columns: 1fr; } }
@media print { .top { grid-template-columns: 1.45fr 1fr; } .outcomes figure { max-width: 100%; } }
</style>""")


# --- numbers --------------------------------------------------------------------------------
def predictive_values(sensitivity, specificity, prevalence):
    """``(PPV, NPV)`` at ``prevalence`` (the module docstring's formulas); nan when undefined."""
    se, sp, pi = float(sensitivity), float(specificity), float(prevalence)
    flagged, cleared = se * pi + (1 - sp) * (1 - pi), sp * (1 - pi) + (1 - se) * pi
    return (se * pi / flagged if flagged > 0 else float("nan"),
            sp * (1 - pi) / cleared if cleared > 0 else float("nan"))


def percent_text(x, digits=1):
    return "n/a" if x is None or x != x else f"{100 * x:.{digits}f}%"


def interval_text(ci, as_percent=True):
    """``"lo to hi%"`` (or ``"lo to hi"`` to 3 decimals) for a (lo, hi) interval; "" for none."""
    if not ci:
        return ""
    lo, hi = ci
    return (f"{100 * lo:.1f} to {100 * hi:.1f}%" if as_percent else f"{lo:.3f} to {hi:.3f}")


def headline(results):
    """The run's answer as numbers and one short text: what ``metrics.json["headline"]`` holds.

    ``results`` is a run's ``metrics.json`` (``test`` = ``metrics.summarize`` at the chosen
    threshold, optionally ``gradcam``). Returns None when the test set holds one class only.
    """
    t = results.get("test") or {}
    if "recall" not in t:
        return None
    (tn, fp), (fn, tp) = t["confusion_matrix"]
    se, sp = t["recall"], t["specificity"]
    prevalence = t["n_positive"] / t["n"]
    ppv, npv = predictive_values(se, sp, prevalence)
    h = {"n": t["n"], "n_pneumonia": tp + fn, "n_normal": tn + fp, "threshold": t["threshold"],
         "sensitivity": se, "sensitivity_ci": t.get("recall_ci"),
         "specificity": sp, "specificity_ci": t.get("specificity_ci"),
         "found": tp, "misses": fn, "false_alarms": fp, "cleared": tn,
         "misses_per_100": round(100 * (1 - se)), "false_alarms_per_100": round(100 * (1 - sp)),
         "prevalence": prevalence, "ppv": ppv, "npv": npv,
         "auc": t.get("auc"), "auc_ci": t.get("auc_ci"),
         "lung_box_share": (results.get("gradcam") or {}).get("mean")}
    h["text"] = headline_text(h)
    return h


def headline_text(h):
    """The headline as a few console lines (also stored in ``metrics.json``)."""
    ci = lambda key: f" (95% interval {interval_text(h[key])})" if h.get(key) else ""
    lines = [
        f"Test set: {h['n']} films ({h['n_pneumonia']} pneumonia, {h['n_normal']} normal), "
        f"threshold {h['threshold']:.3f} on P(pneumonia).",
        f"Sensitivity {percent_text(h['sensitivity'])}{ci('sensitivity_ci')}: finds {h['found']} of "
        f"{h['n_pneumonia']} pneumonias and misses {h['misses']} (about {h['misses_per_100']} "
        "of 100 children with pneumonia missed).",
        f"Specificity {percent_text(h['specificity'])}{ci('specificity_ci')}: {h['false_alarms']} false "
        f"alarms among {h['n_normal']} normal films (about {h['false_alarms_per_100']} of 100 "
        "healthy children recalled).",
        f"PPV {percent_text(h['ppv'])}, NPV {percent_text(h['npv'])} at the test prevalence of "
        f"{percent_text(h['prevalence'])}; AUC {text(h['auc'])}"
        + (f" (95% interval {interval_text(h['auc_ci'], False)})." if h.get("auc_ci") else "."),
    ]
    if h.get("lung_box_share") is not None:
        lines.append(f"Grad-CAM: on average {percent_text(h['lung_box_share'], 0)} of each heat map "
                     "lies inside the central lung box.")
    return "\n".join(lines)


# --- reading a run folder --------------------------------------------------------------------
def load_run(folder):
    """A run folder's ``metrics.json`` as a dict (a clear error naming the file if it is not)."""
    path = os.path.join(folder, "metrics.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: give the folder of a finished training "
                                "run (it holds metrics.json)") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); was the run cut short?") from None


def find_comparison(folder, compare=None):
    """``(folder, metrics)`` of the run to show beside this one, or None.

    ``compare`` (``--compare DIR``) if given; else the first sub-folder of ``folder`` (by name)
    that holds a ``metrics.json`` with test results; ``compare=False``: none.
    """
    if compare is False:
        return None
    if compare:
        other = load_run(compare)
        if other.get("task") == "3class":
            raise ValueError(f"{compare} holds a 3-class run; its own report sets it beside a "
                             "binary run: --task 3class --compare <this run's folder>")
        return compare, other
    return first_run_inside(folder, lambda other: "recall" in (other.get("test") or {}))


def first_run_inside(folder, accept):
    """``(sub-folder, metrics)`` of the first sub-folder of ``folder`` (by name) whose readable
    ``metrics.json`` passes ``accept(metrics)``, or None."""
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        sub = os.path.join(folder, name)
        if os.path.isfile(os.path.join(sub, "metrics.json")):
            try:
                other = load_run(sub)
            except ValueError:
                continue
            if accept(other):
                return sub, other
    return None


def _test_files(folder):
    """The test films of a run (from its ``split.csv``) as a sorted list, or None."""
    path = os.path.join(folder, "split.csv")
    if not os.path.isfile(path):
        return None
    with open(path, newline="", encoding="utf-8") as f:
        return sorted(r["file"] for r in csv.DictReader(f) if r.get("split") == "test")


# --- the page's parts ------------------------------------------------------------------------
def caveats_section(results):
    """What a reader must know before any number: a demo, a quick look, an interrupted run."""
    notes = [n for n in results.get("notes", [])
             if any(k in n.lower() for k in ("demo", "embedded", "--limit", "interrupted",
                                             "baseline", "medmnist", "one class"))]
    size = results.get("image_size")
    if size and size < 64:
        notes.append(f"The films were read at {size}x{size} pixels, far below the 224 of the "
                     "full run: fine detail of the lungs is lost at this size.")
    if "recall" not in (results.get("test") or {}) and results.get("task") != "3class":
        notes.append("The test set holds one class only: sensitivity, specificity and AUC are "
                     "undefined, and there is no headline.")
    if not notes:
        return ""
    return HTML('<div class="warning" id="caveats" role="note"><p><strong>Read this first.'
                "</strong></p>" + "".join(f"<p>{esc(n)}</p>" for n in notes) + "</div>")


def model_line(r):
    s = r.get("settings", {})
    parts = [f"{r.get('model', s.get('model', '?'))} CNN"]
    if r.get("parameters"):
        parts[0] += f" ({r['parameters']:,} parameters)"
    size = r.get("image_size")
    parts.append(f"{size}x{size} px {r.get('color_mode', '')}".strip() if size else "")
    if s.get("preprocess"):
        parts.append({"standardize": "each film standardized to mean 0, std 1",
                      "rescale": "pixels rescaled to [0, 1]"}.get(s["preprocess"], s["preprocess"]))
    epochs = f"trained {r.get('epochs', '?')} of {r.get('epochs_requested', '?')} epochs"
    if r.get("best_epoch"):
        best = "macro AUC" if r.get("task") == "3class" else "AUC"
        epochs += f", weights of epoch {r['best_epoch']} kept (best validation {best})"
    if r.get("train_seconds") is not None:
        epochs += f", {r['train_seconds']:.0f} s"
    parts.append(epochs)
    recipe = s.get("recipe")
    if recipe:
        parts.append(f"{recipe} recipe" + (" (the seed project's pipeline)"
                                           if recipe == "original" else ""))
    return "; ".join(p for p in parts if p) + "."


def data_table(r):
    """Children and films per split, the films by class (the condition first)."""
    d = r.get("data", {})
    images, patients = d.get("images used", {}), d.get("patients used", {})
    classes = []
    for counts in images.values():
        classes += [c for c in counts if c not in classes]
    classes = classes[::-1]                      # PNEUMONIA before NORMAL
    rows = [[split, patients.get(split, "unknown"), sum(counts.values())]
            + [counts.get(c, 0) for c in classes] for split, counts in images.items()]
    if not rows:
        rows = [[s, "unknown", r.get(f"n_{s}", "unknown")] for s in ("train", "val", "test")]
    return table(rows, head=["split", "children", "films"] + [c.lower() for c in classes])


def _operating_point(r):
    t = (r.get("test") or {}).get("threshold")
    if t is None:
        return ""
    rule = r.get("threshold_rule") or ""
    return HTML(f"<p>A film is called pneumonia when the model's P(pneumonia) is at least "
                f"<strong>{t:.3f}</strong>. {esc(rule)}</p>")


def _headline_card(r, h):
    if h is None:
        return HTML('<div class="card" id="headline"><h2>No headline</h2><p>The test set holds '
                    "one class only.</p></div>")
    se_ci = f" (95% interval {interval_text(h['sensitivity_ci'])})" if h["sensitivity_ci"] else ""
    sp_ci = f" (95% interval {interval_text(h['specificity_ci'])})" if h["specificity_ci"] else ""
    reader_prev = 0.10
    ppv10, npv10 = predictive_values(h["sensitivity"], h["specificity"], reader_prev)
    parts = [
        f"<h2>On the {h['n']} test films ({h['n_pneumonia']} with pneumonia, {h['n_normal']} "
        "normal)</h2>",
        f'<p class="big" id="sensitivity">Sensitivity {percent_text(h["sensitivity"])}{se_ci}</p>',
        f'<p class="words" id="misses">Of 100 children with pneumonia it finds about '
        f"{100 - h['misses_per_100']} and <strong>misses about {h['misses_per_100']}</strong>. "
        f"Here it flagged {h['found']} of {h['n_pneumonia']} and missed {h['misses']}.</p>",
        f'<p class="big" id="specificity">Specificity {percent_text(h["specificity"])}{sp_ci}</p>',
        f'<p class="words" id="false-alarms">Of 100 healthy children about '
        f"<strong>{h['false_alarms_per_100']} are recalled for a false alarm</strong>. Here "
        f"{h['false_alarms']} false alarms among {h['n_normal']} normal films.</p>",
        f'<p id="predictive">When it says pneumonia it is right {percent_text(h["ppv"])} of the time '
        f'(PPV), when it says normal {percent_text(h["npv"])} (NPV), at the test set\'s prevalence of '
        f"{percent_text(h['prevalence'])}. At a prevalence of "
        f'<input id="prevalence" type="number" min="0.1" max="99.9" step="0.1" '
        f'value="{100 * reader_prev:g}" aria-label="prevalence in percent" '
        f'data-sensitivity="{h["sensitivity"]}" data-specificity="{h["specificity"]}">% '
        f'PPV <strong id="ppv-at">{percent_text(ppv10)}</strong>, NPV '
        f'<strong id="npv-at">{percent_text(npv10)}</strong>.</p>',
    ]
    if h.get("auc") is not None:
        auc_ci = f" (95% interval {interval_text(h['auc_ci'], False)})" if h.get("auc_ci") else ""
        parts.append(f'<p id="auc"><strong>AUC {h["auc"]:.3f}</strong>{auc_ci}: the chance that '
                     "a film with pneumonia scores above a normal one.</p>")
    g = r.get("gradcam") or {}
    if g.get("mean") is not None:
        parts.append(f'<p id="lungs">Grad-CAM: on average <strong>{percent_text(g["mean"], 0)}</strong> '
                     f"of each test film's heat map lies inside a central lung box (a map spread "
                     f"evenly would put {percent_text(g['box_area'], 0)} there).</p>")
    elif g:
        parts.append('<p id="lungs">Grad-CAM: every test film\'s heat map is empty (no region '
                     "pushed the call towards pneumonia), so where it looked is unknown.</p>")
    return HTML('<div class="card" id="headline">' + "".join(parts) + "</div>")


def _first_screen(r, h):
    facts = HTML("".join([
        '<div class="facts" id="facts"><h3>Model</h3>',
        f'<p id="model">{esc(model_line(r))}</p><h3>Data: children and films</h3>',
        data_table(r), "<h3>Operating point</h3>", _operating_point(r), "</div>"]))
    return HTML("".join(['<div class="top">', _headline_card(r, h), facts, "</div>"]))


def same_test_films(folder, r, other_folder, other):
    """``(word, detail)``: whether two runs were scored on the same test films, and how we know."""
    mine, theirs = _test_files(folder), _test_files(other_folder)
    if mine is not None and theirs is not None:
        return (("the same", f" ({len(mine)} films, checked file by file in split.csv)")
                if mine == theirs else ("DIFFERENT", ": the split.csv test lists differ"))
    if (r.get("test") or {}).get("n") != (other.get("test") or {}).get("n"):
        return ("DIFFERENT", ": the numbers of test films differ")
    return ("probably the same", " (same number of films; no split.csv to check)")


def _comparison(folder, r, h, other_folder, other):
    """This run and another, one column each, on the same rows."""
    oh = headline(other)
    same = same_test_films(folder, r, other_folder, other)

    def col(res, hh):
        s = res.get("settings", {})
        if hh is None:
            return ["n/a"] * 11
        g = res.get("gradcam") or {}
        return [s.get("recipe", "unknown"),
                f"{res.get('model', '?')}, {res.get('image_size', '?')} px, "
                f"{res.get('epochs', '?')} epochs, {s.get('preprocess', '?')}",
                f"{hh['threshold']:.3f}",
                f"{percent_text(hh['sensitivity'])} ({interval_text(hh['sensitivity_ci'])})",
                f"{percent_text(hh['specificity'])} ({interval_text(hh['specificity_ci'])})",
                f"{hh['misses']} of {hh['n_pneumonia']}",
                f"{hh['false_alarms']} of {hh['n_normal']}",
                f"{percent_text(hh['ppv'])} / {percent_text(hh['npv'])}",
                f"{hh['auc']:.3f} ({interval_text(hh['auc_ci'], False)})",
                percent_text(g.get("mean"), 0) if g.get("mean") is not None else "not measured",
                _worst_stress(res)]
    labels = ["recipe", "model", "threshold", "sensitivity", "specificity", "missed pneumonias",
              "false alarms", "PPV / NPV at the test prevalence", "AUC",
              "Grad-CAM heat inside the lung box", "largest AUC change under stress"]
    a, b = col(r, h), col(other, oh)
    rows = [[label, x, y] for label, x, y in zip(labels, a, b)]
    name = os.path.basename(os.path.normpath(other_folder))
    return section(
        "This run beside another",
        HTML(f"<p>Both columns are scored on <strong>{esc(same[0])}</strong> test films"
             f"{esc(same[1])}; intervals are bootstrap 95%.</p>"),
        table(rows, head=["", "this run", f"compared: {name}"]), id="compare")


def _worst_stress(res):
    base, stress = (res.get("val") or {}).get("auc"), res.get("val_stress") or {}
    if base is None or not stress:
        return "not run"
    what, row = min(stress.items(), key=lambda kv: kv[1]["auc"] - base)
    return f"{row['auc'] - base:+.3f} ({row['what']})".replace("-", "\u2212", 1)


def _confusion(h):
    rows = [["pneumonia", f"{h['found']} true positives (pneumonia found)",
             f"{h['misses']} false negatives (pneumonia missed)", h["n_pneumonia"]],
            ["normal", f"{h['false_alarms']} false positives (false alarms)",
             f"{h['cleared']} true negatives (normal, cleared)", h["n_normal"]]]
    return table(rows, head=["the film shows", "called pneumonia", "called normal", "films"],
                 caption=f"Confusion matrix: the test set at threshold {h['threshold']:.3f}",
                 cls="confusion")


def _prevalence_table(h):
    rows = []
    for pi in (0.01, 0.05, 0.10, 0.20, 0.50, h["prevalence"]):
        ppv, npv = predictive_values(h["sensitivity"], h["specificity"], pi)
        label = percent_text(pi) + (" (the test set)" if pi == h["prevalence"] else "")
        rows.append([label, percent_text(ppv), percent_text(npv)])
    return table(rows, head=["prevalence of pneumonia", "PPV: a pneumonia call is right",
                             "NPV: a normal call is right"],
                 caption="Predictive values at other prevalences (same sensitivity and "
                         "specificity)")


def _stress_table(r):
    base, stress = r.get("val") or {}, r.get("val_stress") or {}
    if not stress or "auc" not in base:
        return ""
    keys = (("auc", "auc", "AUC"), ("recall", "sensitivity", "sensitivity"),
            ("specificity", "specificity", "specificity"))
    rows = [["unstressed"] + [f"{base[b]:.3f}" for b, _, _ in keys]]
    for row in stress.values():
        cells = []
        for b, s, _ in keys:
            change = f"{row[s] - base[b]:+.3f}".replace("-", "\u2212")
            cells.append(f"{row[s]:.3f} ({change})")
        rows.append([row["what"]] + cells)
    return section(
        "Stress test: the same validation films, distorted", HTML(
            f"<p>The {base.get('n', '')} validation films scored again with each distortion, at "
            f"threshold {base['threshold']:.3f}; in brackets the change from unstressed. A model "
            "that reads the lungs barely moves; one that reads the film's shape, sharpness or "
            "edge markers (the clues this dataset holds) does.</p>"),
        table(rows, head=["distortion"] + [label for _, _, label in keys]), id="stress")


def figure_section(r, folder, title, caption=None):
    path = os.path.join(folder, r["figures"][title]) if title in r.get("figures", {}) else None
    if path is None:
        return ""
    film = any(title.startswith(f) for f in FILM_FIGURES)
    return figure(title, path, caption, cls="film" if film else None)


def _gradcam_section(r, folder):
    g = r.get("gradcam") or {}
    parts, grids = [], []
    if g.get("mean") is not None:
        box = g["box"]
        by_outcome = esc(", ".join(f"{k} {percent_text(v, 0)}" for k, v in g["mean_by_outcome"].items()))
        parts.append(HTML(
            f"<p>Bright means: this region pushed the call towards pneumonia. The dashed box is "
            f"a central lung box (rows {box[0]:.0%} to {box[2]:.0%} of the height, columns "
            f"{box[1]:.0%} to {box[3]:.0%} of the width); beside each film, the share of its "
            f"heat inside it. A map spread evenly puts {percent_text(g['box_area'], 0)} there, so lower "
            "shares mean the model looked at the edges: the side marker, text, the chest wall. "
            f"Mean over all {g['n']} test films: {percent_text(g['mean'], 0)}; by outcome: {by_outcome}."
            "</p>"))
    for key, name, meaning in OUTCOMES:
        title = f"Grad-CAM: {name}"
        if title not in r.get("figures", {}):
            continue
        shares = g.get("examples", {}).get(key, [])
        low = sum(1 for e in shares if e["share"] is not None and e["share"] < 0.5)
        remark = (f" In {low} of these {len(shares)} the heat lies mostly outside the lung box."
                  if low else "")
        what = name if len(shares) != 1 else name[:-1]
        grids.append(figure_section(r, folder, title, f"The {len(shares)} {what} ({meaning}) the model "
                             f"was most sure of.{remark}"))
    if grids:
        parts.append(HTML('<div class="outcomes">' + "".join(grids) + "</div>"))
    if not parts:
        return ""
    return section("Where the model looked (Grad-CAM), by outcome", *parts, id="gradcam")


def details_section(r, folder):
    s = r.get("settings", {})
    rows = []
    for key, value in s.items():
        label, unit = SETTING_LABELS.get(key, (key.replace("_", " "), None))
        if key == "no_class_weights":
            k = len(r.get("class_names") or (0, 0))
            label, value = f"class weights n / ({k} n_class)", "no" if value else "yes"
        elif value is None:
            value = "not set"
        shown = text(value) + (f" {unit}" if unit and not isinstance(value, str) else "")
        rows.append([label, shown])
    half = (len(rows) + 1) // 2
    parts = [HTML('<div class="halves">' + "".join(
        table(chunk, head=["setting", "value"], caption="Settings" if i == 0 else "\u00a0")
        for i, chunk in enumerate((rows[:half], rows[half:])) if chunk) + "</div>")] if rows else []
    cw = r.get("class_weights")
    if cw:
        parts.append(HTML(f"<p>Class weights used: {esc(text(cw))}.</p>"))
    for title in r.get("figures", {}):
        if title.startswith(("Grad-CAM", "Test predictions")):
            continue
        parts.append(figure_section(r, folder, title))
    d = r.get("data", {})
    split = {k: v for k, v in d.items() if k not in ("images used", "patients used")}
    if split:
        parts.append(HTML("<h3>The data and the split</h3>") + summary_html(split))
    if r.get("notes"):
        parts.append(HTML("<h3>Notes</h3>" + "".join(f"<p>{esc(n)}</p>" for n in r["notes"])))
    env = r.get("environment")
    if env:
        parts.append(HTML('<div class="halves">' + "".join(
            table([[k, v] for k, v in block.items()], caption=f"Environment: {name}")
            for name, block in env.items()) + "</div>"))
    if r.get("command"):
        parts.append(HTML(f"<h3>The command that reproduces this run</h3><pre>"
                          f"{esc(r['command'])}</pre><p class=\"meta\">The same seed gives the "
                          "same split, weights and pictures on the same software.</p>"))
    return section("Details", *parts, id="details", cls="details")


def build(folder, compare=None):
    """The page of the run in ``folder`` (``metrics.json`` and its PNGs) as HTML text.

    ``compare``: another run's folder to show beside it (None: a sub-folder holding a run,
    if any; False: none; see :func:`find_comparison`).
    """
    r = load_run(folder)
    if r.get("task") == "3class":  # NORMAL, BACTERIA, VIRUS: its own first screen
        from . import report_multiclass
        return report_multiclass.build(folder, compare)
    h = r.get("headline") or headline(r)
    recipe = r.get("settings", {}).get("recipe", "default")
    title = f"Pneumonia on children's chest X-rays: {r.get('model', '')} model, {recipe} recipe"
    written = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [REPORT_CSS, HTML(f"<h1>{esc(title)}</h1>"),
            HTML(f'<p class="meta">Run folder {esc(os.path.basename(os.path.normpath(folder)))}'
                 f", report written {esc(written)}. Films, not children, are counted: a child "
                 "may have several films.</p>"),
            caveats_section(r), _first_screen(r, h)]
    other = find_comparison(folder, compare)
    if other is not None and h is not None:
        body.append(_comparison(folder, r, h, *other))
    if h is not None:
        body.append(section("What the numbers mean", _confusion(h), _prevalence_table(h),
                            id="meaning"))
    body.append(_gradcam_section(r, folder))
    if "Test predictions" in r.get("figures", {}):
        t = h["threshold"] if h else 0.5
        body.append(section("Test films as the model scored them", figure_section(
            r, folder, "Test predictions",
            f"Each film shows P(pneumonia) and the threshold {t:.3f}: called pneumonia when P is "
            "at least the threshold. Red frames are wrong calls; mistakes were picked first (up "
            "to half the grid), so the grid shows errors, not the accuracy."), id="predictions"))
    body.append(_stress_table(r))
    body.append(details_section(r, folder))
    return page(title, *[b for b in body if b], script=_SCRIPT)


def write(folder, compare=None):
    """Write ``folder/report.html`` (see :func:`build`); returns its path."""
    return write_page(os.path.join(folder, "report.html"), build(folder, compare))
