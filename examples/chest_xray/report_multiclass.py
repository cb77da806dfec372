"""Step 7's page for ``--task 3class``: NORMAL, BACTERIA, VIRUS, the answer first.

Built from the run folder alone (``metrics.json`` and its PNGs), like the binary page
(``report.py``, whose style, caveats, data table and details it shares). Reading order:

1. the first screen: for each class, per 100 children of that class how many the model finds,
   and per 100 children of the other classes how many it wrongly calls that class, in counts
   too; accuracy and macro AUC; the two figures the literature compares with (pneumonia vs
   normal, and bacterial vs viral among the pneumonia films); the model, the data and the
   decision rule (argmax: no threshold);
2. what the numbers mean: the 3 x 3 confusion matrix in words and as a table, its plot, the
   per-class table with intervals, the one-vs-rest ROC curves;
3. where the model looked: Grad-CAM of the CALLED class, one row per called class (its surest
   right calls, then its surest wrong ones);
4. the stress test (macro AUC under distortion), another 3-class run beside this one when
   there is one, and the details.
"""

import datetime
import os

from minicnn.report import HTML, esc, page, section, table, write_page

from .classes import words
from .report import (REPORT_CSS, caveats_section, data_table, details_section, figure_section,
                     first_run_inside, interval_text, load_run, model_line, percent_text,
                     same_test_films)

_EXTRA_CSS = HTML("""<style>
.classes { width: 100%; border-collapse: collapse; margin: .2em 0 .5em; }
.classes td, .classes th { padding: .15em .4em; }
.pair { margin: .25em 0; }
</style>""")


def _num(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"


def _headline_card(r, h):
    if h is None:
        return HTML('<div class="card" id="headline"><h2>No headline</h2><p>The test set lacks '
                    "a class, so the per-class figures are undefined for it.</p></div>")
    parts = [f"<h2>On the {h['n']} test films, each called the class the model finds most "
             "likely</h2>"]
    for row in h["classes"]:
        group, call = (esc(w) for w in words(row["class"]))
        ci = interval_text(row["sensitivity_ci"])
        parts.append(
            f'<p class="words" id="class-{esc(row["class"].lower())}"><strong>{esc(row["class"])}'
            f"</strong>: of 100 {group} it calls about <strong>{row['found_per_100']} {call}"
            f"</strong> ({row['found']} of {row['n']}"
            + (f"; 95% interval {ci}" if ci else "") + "); of 100 other children, about "
            f"<strong>{row['wrongly_called_per_100']}</strong> "
            f"{'is' if row['wrongly_called_per_100'] == 1 else 'are'} wrongly called {call} "
            f"({row['wrongly_called']} of {row['n_others']}).</p>")
    acc_ci = interval_text(h["accuracy_ci"])
    auc_ci = interval_text(h["macro_auc_ci"], False)
    parts.append(f'<p class="big" id="accuracy">Accuracy {percent_text(h["accuracy"])}'
                 + (f" (95% interval {acc_ci})" if acc_ci else "") + "</p>")
    parts.append(f'<p id="macro-auc">Macro AUC <strong>{_num(h["macro_auc"])}</strong>'
                 + (f" (95% interval {auc_ci})" if auc_ci else "")
                 + ": the mean over the classes of the chance that a film of the class scores "
                   "higher for it than a film of another class.</p>")
    pn, bv = h["pneumonia_vs_normal"], h["bacterial_vs_viral"]
    parts.append(
        f'<p class="pair" id="pneumonia-vs-normal"><strong>Pneumonia vs normal</strong> (the '
        f"same model, P(bacteria) + P(virus)): AUC {_num(pn['auc'])}; called pneumonia when "
        f"bacteria or virus is the most likely class, sensitivity {percent_text(pn['sensitivity'])}, "
        f"specificity {percent_text(pn['specificity'])}.</p>")
    bv_ci = interval_text(bv.get("accuracy_ci"))
    parts.append(
        f'<p class="pair" id="bacterial-vs-viral"><strong>Bacterial vs viral</strong>, among '
        f"the {bv['n']} films with pneumonia: {percent_text(bv['accuracy'])} told apart right"
        + (f" (95% interval {bv_ci})" if bv_ci else "")
        + f" by the larger of P(bacteria) and P(virus). Kermany et al. (2018) report "
        f"{percent_text(r.get('kermany_bacterial_vs_viral_accuracy'))} with a model for that question "
        "alone, on full-size films.</p>")
    return HTML('<div class="card" id="headline">' + "".join(parts) + "</div>")


def _first_screen(r, h):
    rule = r.get("decision_rule") or "Each film is called the class of highest probability."
    facts = HTML("".join([
        '<div class="facts" id="facts"><h3>Model</h3>',
        f'<p id="model">{esc(model_line(r))}</p><h3>Data: children and films</h3>',
        data_table(r), "<h3>Decision rule</h3>", f'<p id="rule">{esc(rule)}</p>', "</div>"]))
    return HTML("".join(['<div class="top">', _headline_card(r, h), facts, "</div>"]))


def _confusion_in_words(r):
    t, names = r["test"], r["class_names"]
    cm = t["confusion_matrix"]
    lines = []
    for i, truth in enumerate(names):
        n = sum(cm[i])
        wrong = [f"{cm[i][j]} called {names[j].lower()}" for j in range(len(names))
                 if j != i and cm[i][j]]
        lines.append(f"Of the {n} {truth.lower()} films, {cm[i][i]} were called "
                     f"{truth.lower()}" + (f", {' and '.join(wrong)}" if wrong else "") + ".")
    rows = [[f"truly {truth.lower()}"] + [cm[i][j] for j in range(len(names))] + [sum(cm[i])]
            for i, truth in enumerate(names)]
    grid = table(rows, head=["the film shows"] + [f"called {n.lower()}" for n in names]
                 + ["films"], caption="Confusion matrix: the test set, argmax call",
                 cls="confusion")
    return HTML("".join(f"<p>{esc(line)}</p>" for line in lines)) + grid


def _per_class_table(section_, names, caption):
    def cell(d, key, percent=True):
        value, ci = d.get(key), d.get(key + "_ci")
        if value is None:
            return "n/a"
        shown = percent_text(value) if percent else f"{value:.3f}"
        return shown + (f" ({interval_text(ci, percent)})" if ci else "")

    rows = [[name.lower(), section_["per_class"][name]["n"]]
            + [cell(section_["per_class"][name], k, k != "auc")
               for k in ("sensitivity", "specificity", "precision", "f1", "auc")]
            for name in names]
    rows.append(["all classes", section_["n"], f"accuracy {cell(section_, 'accuracy')}",
                 f"macro F1 {cell(section_, 'macro_f1', False)}",
                 f"weighted F1 {cell(section_, 'weighted_f1', False)}", "",
                 f"macro {cell(section_, 'macro_auc', False)}"])
    return table(rows, head=["class", "films", "sensitivity", "specificity", "precision", "F1",
                             "AUC (one vs rest)"], caption=caption)


def _meaning(r):
    names = r["class_names"]
    parts = [_confusion_in_words(r), figure_section(r, r["_folder"], "Confusion matrix (test)"),
             _per_class_table(r["test"], names, "Each class against the other two, test set; "
                              "bootstrap 95% intervals in brackets"),
             figure_section(r, r["_folder"], "One-vs-rest ROC curves (test)",
                     "One curve per class: its probability ranks the films of that class "
                     "against all the others.")]
    if r.get("val"):
        parts.append(_per_class_table(r["val"], names, "The same on validation (carved out of "
                                      "train/ by patient; it chose the epoch kept)"))
    return section("What the numbers mean", *[p for p in parts if p], id="meaning")


def _gradcam_section(r):
    names, g = r["class_names"], r.get("gradcam") or {}
    parts = []
    if g.get("mean") is not None:
        parts.append(HTML(
            f"<p>Bright means: this region pushed the film towards the class it was called. "
            f"One row per called class: the films the model was surest of, right calls first, "
            f"then wrong ones. The dashed box is a central lung box; over all {g['n']} test "
            f"films, {percent_text(g['mean'], 0)} of each map lies inside it on average (a map spread "
            f"evenly would put {percent_text(g['box_area'], 0)} there).</p>"))
    elif g:
        parts.append(HTML("<p>Every test film's heat map is empty, so where the model looked "
                          "is unknown.</p>"))
    for name in names:
        title = f"Grad-CAM: called {name}"
        if title in r.get("figures", {}):
            shown = g.get("examples", {}).get(name, [])
            wrong = sum(1 for e in shown if e["truth"] != name)
            parts.append(figure_section(r, r["_folder"], title,
                                 f"{len(shown) - wrong} right and {wrong} wrong calls of "
                                 f"{name.lower()}, each with its truth and P({name.lower()})."))
    if not parts:
        return ""
    return section("Where the model looked (Grad-CAM of the called class)", *parts, id="gradcam")


def _stress_table(r):
    base, stress = r.get("val") or {}, r.get("val_stress") or {}
    if not stress or base.get("macro_auc") is None:
        return ""
    pn = base["pneumonia_vs_normal"]["auc"]
    rows = [["unstressed", f"{base['macro_auc']:.3f}", f"{base['accuracy']:.3f}", f"{pn:.3f}"]]
    for row in stress.values():
        cells = []
        for key, ref in (("macro_auc", base["macro_auc"]), ("accuracy", base["accuracy"]),
                         ("pneumonia_auc", pn)):
            change = f"{row[key] - ref:+.3f}".replace("-", "\u2212")
            cells.append(f"{row[key]:.3f} ({change})")
        rows.append([row["what"]] + cells)
    return section(
        "Stress test: the same validation films, distorted",
        HTML(f"<p>The {base.get('n', '')} validation films scored again with each distortion; "
             "in brackets the change from unstressed. A model that reads the lungs barely "
             "moves; one that reads the film's shape, sharpness or edge markers does.</p>"),
        table(rows, head=["distortion", "macro AUC", "accuracy", "pneumonia-vs-normal AUC"]),
        id="stress")


def find_comparison(folder, compare=None):
    """``(folder, metrics)`` of another run to show beside this one, or None.

    ``compare`` if given: another 3-class run (every figure side by side), or a binary run
    (the question both answer, pneumonia or not, side by side: :func:`_beside_binary`);
    else the first sub-folder of ``folder`` holding a 3-class run; ``compare=False``: none.
    """
    if compare is False:
        return None
    if compare:
        other = load_run(compare)
        if other.get("task") != "3class" and "recall" not in (other.get("test") or {}):
            raise ValueError(f"{compare} holds no test results to compare with")
        return compare, other
    return first_run_inside(folder,
                            lambda other: other.get("task") == "3class" and other.get("headline"))


def _comparison(r, other_folder, other):
    def col(res):
        t, s = res["test"], res.get("settings", {})
        cells = [s.get("recipe", "unknown"),
                 f"{res.get('model', '?')}, {res.get('image_size', '?')} px, "
                 f"{res.get('epochs', '?')} epochs", f"{res['test']['n']}",
                 percent_text(t["accuracy"]), _num(t["macro_auc"]), _num(t["macro_f1"])]
        cells += [percent_text(t["per_class"][n]["sensitivity"]) for n in res["class_names"]]
        cells += [_num(t["pneumonia_vs_normal"]["auc"]), percent_text(t["bacterial_vs_viral"]["accuracy"])]
        return cells

    labels = (["recipe", "model", "test films", "accuracy", "macro AUC", "macro F1"]
              + [f"sensitivity for {n.lower()}" for n in r["class_names"]]
              + ["pneumonia-vs-normal AUC", "bacterial vs viral, accuracy"])
    rows = [[label, a, b] for label, a, b in zip(labels, col(r), col(other))]
    name = os.path.basename(os.path.normpath(other_folder))
    return section("This run beside another", table(rows, head=["", "this run",
                                                               f"compared: {name}"]),
                   id="compare")


def _beside_binary(folder, r, other_folder, other):
    """Pneumonia or not, from this run's three classes and from a binary run, on one table.

    This run scores pneumonia by P(BACTERIA) + P(VIRUS) = 1 - P(NORMAL) and calls it when
    BACTERIA or VIRUS is the most likely class; the binary run by its P(pneumonia) and its
    threshold chosen on validation. The AUCs compare the rankings; sensitivity and
    specificity compare the two calls, each at its own rule.
    """
    mine, theirs = r["test"]["pneumonia_vs_normal"], other["test"]
    cm3, (tn, fp), (fn, tp) = r["test"]["confusion_matrix"], *theirs["confusion_matrix"]

    def with_ci(text, ci, as_percent=True):
        return f"{text} ({interval_text(ci, as_percent)})" if ci else text

    rows = [
        ["score", "1 - P(NORMAL), of three classes", "P(pneumonia)"],
        ["call", "BACTERIA or VIRUS the most likely class",
         f"P(pneumonia) at least {theirs['threshold']:.3f} (chosen on validation)"],
        ["AUC", with_ci(f"{mine['auc']:.3f}", mine.get("auc_ci"), False),
         with_ci(f"{theirs['auc']:.3f}", theirs.get("auc_ci"), False)],
        ["sensitivity", with_ci(percent_text(mine["sensitivity"]), mine.get("sensitivity_ci")),
         with_ci(percent_text(theirs["recall"]), theirs.get("recall_ci"))],
        ["specificity", with_ci(percent_text(mine["specificity"]), mine.get("specificity_ci")),
         with_ci(percent_text(theirs["specificity"]), theirs.get("specificity_ci"))],
        # Rows of the 3 x 3 matrix: truth NORMAL, BACTERIA, VIRUS; column 0: called NORMAL.
        ["missed pneumonias", f"{cm3[1][0] + cm3[2][0]} of {mine['n_pneumonia']}", f"{fn} of {fn + tp}"],
        ["false alarms", f"{cm3[0][1] + cm3[0][2]} of {mine['n_normal']}", f"{fp} of {tn + fp}"],
    ]
    same = same_test_films(folder, r, other_folder, other)
    name = os.path.basename(os.path.normpath(other_folder))
    return section(
        "Pneumonia or not: this run beside a binary run",
        HTML(f"<p>The question both models answer. Both columns are scored on "
             f"<strong>{esc(same[0])}</strong> test films{esc(same[1])}; intervals are "
             "bootstrap 95%. The AUCs compare how the films are ranked; sensitivity and "
             "specificity compare the two calls, each made by its own rule.</p>"),
        table(rows, head=["", "this run (3 classes)", f"binary: {name}"]), id="compare")


def build(folder, compare=None):
    """The page of the 3-class run in ``folder`` as HTML text (``compare`` as in
    :func:`find_comparison`)."""
    r = load_run(folder)
    r["_folder"] = folder
    from .multiclass import headline
    h = r.get("headline") or headline(r)
    recipe = r.get("settings", {}).get("recipe", "default")
    title = (f"Normal, bacterial or viral pneumonia on children's chest X-rays: "
             f"{r.get('model', '')} model, {recipe} recipe")
    written = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [REPORT_CSS, _EXTRA_CSS, HTML(f"<h1>{esc(title)}</h1>"),
            HTML(f'<p class="meta">Run folder {esc(os.path.basename(os.path.normpath(folder)))}'
                 f", report written {esc(written)}. Films, not children, are counted: a child "
                 "may have several films.</p>"),
            caveats_section(r), _first_screen(r, h)]
    if h is not None:
        body.append(_meaning(r))
    body.append(_gradcam_section(r))
    body.append(_stress_table(r))
    other = find_comparison(folder, compare)
    if other is not None and h is not None:
        body.append(_comparison(r, *other) if other[1].get("task") == "3class"
                    else _beside_binary(folder, r, *other))
    shown = ("Confusion matrix (test)", "One-vs-rest ROC curves (test)")  # in "meaning"
    rest = dict(r, figures={t: f for t, f in r.get("figures", {}).items() if t not in shown})
    body.append(details_section(rest, folder))
    return page(title, *[b for b in body if b])


def write(folder, compare=None):
    """Write ``folder/report.html`` (see :func:`build`); returns its path."""
    return write_page(os.path.join(folder, "report.html"), build(folder, compare))
