"""Steps 4 to 7 for ``--task 3class``: NORMAL, BACTERIA, VIRUS, each film called by its argmax.

The protocol is the binary one without a threshold: nothing is chosen on validation but the
epoch (by macro AUC, ``training.py``), the model is saved, and only then is the official test
split scored, once. A film is called the class of highest probability (averaged over the
test-time views with ``--tta``), so there is no threshold to choose.

What is measured (``figures``; ``minicnn.metrics`` does every computation), for the test split
and validation, with bootstrap 95% intervals over films (``--bootstrap``):

* accuracy; for each class, one against the other two: sensitivity (recall), specificity,
  precision, F1 and the one-vs-rest AUC of its probability; macro and weighted F1, macro AUC;
  the 3 x 3 confusion matrix (rows the truth, columns the call);
* the two figures a clinician and the literature compare with:

  - **pneumonia vs normal** from the same model: the score P(BACTERIA) + P(VIRUS) = 1 - P(NORMAL)
    (its AUC), and sensitivity and specificity of the argmax call (pneumonia when BACTERIA or
    VIRUS has the highest probability);
  - **bacterial vs viral among the pneumonia films** (truly BACTERIA or VIRUS): called
    BACTERIA when P(BACTERIA) >= P(VIRUS), whatever P(NORMAL) is, which is the question
    Kermany et al. (Cell 2018) answered with a model for it alone (90.7% accuracy); also the
    AUC of P(VIRUS) / (P(BACTERIA) + P(VIRUS)) for viral against bacterial.

A bootstrap resample that lacks a class is drawn again in none of this: it is skipped (the
one-vs-rest AUC is undefined without the class), as ``minicnn.metrics.bootstrap_ci`` does.
"""

import os
import sys
from collections import namedtuple

import numpy as np

from minicnn import explain as gradcam, metrics, plots, plots_multiclass

from .classes import words
from .outputs import write_csv, write_json
from .pictures import LUNG_BOX, lung_box_shares
from .stress import distortions
from .training import PREPROCESSING, RESCALE, predict_probabilities

#: Labels ``y`` (N,) and class probabilities ``p`` (N, K) of one split, in the dataset's order.
ClassScores = namedtuple("ClassScores", ["y", "p"])
#: The Kermany et al. (2018) figure for bacterial vs viral, beside which ours stands.
KERMANY_BACTERIAL_VS_VIRAL_ACCURACY = 0.907
#: Grad-CAM examples per predicted class and kind (right, wrong): one row of four.
PER_KIND = 2


def score(model, ds, args):
    """The model's :class:`ClassScores` on ``ds`` (unaugmented, preprocessed as in training)."""
    return ClassScores(np.asarray(ds.labels, dtype=np.int64), predict_probabilities(model, ds, args))


def calls(p):
    """The argmax call of each film, shape (N,): the class of highest probability."""
    return np.argmax(np.asarray(p), axis=1)


# --- the figures -------------------------------------------------------------------------------
def _auc_or_none(y, s):
    """``roc_auc`` of 0/1 labels ``y`` against ``s``; None when ``y`` holds one class only."""
    return metrics.roc_auc(y, s) if 0 < int(np.sum(y)) < len(y) else None


def pneumonia_vs_normal(y, p):
    """Pneumonia (BACTERIA or VIRUS) against NORMAL from the 3-class model (module docstring)."""
    sick, called_sick = (y != 0).astype(np.int64), (calls(p) != 0).astype(np.int64)
    return {"auc": _auc_or_none(sick, 1.0 - p[:, 0]),
            "sensitivity": metrics.recall(sick, called_sick) if sick.any() else None,
            "specificity": metrics.specificity(sick, called_sick) if (sick == 0).any() else None,
            "n_pneumonia": int(sick.sum()), "n_normal": int((sick == 0).sum())}


def bacterial_vs_viral(y, p):
    """Among the films that truly show pneumonia: BACTERIA vs VIRUS by the larger probability."""
    among = y != 0
    yb, pb = y[among], p[among]
    viral = (yb == 2).astype(np.int64)
    called_viral = (pb[:, 2] > pb[:, 1]).astype(np.int64)   # ties: BACTERIA, the commoner
    share = pb[:, 2] / np.maximum(pb[:, 1] + pb[:, 2], np.finfo(np.float64).tiny)
    return {"accuracy": float(np.mean(viral == called_viral)) if among.any() else None,
            "auc": _auc_or_none(viral, share),
            "n": int(among.sum()), "n_bacteria": int((yb == 1).sum()), "n_virus": int(viral.sum())}


def figures(y, p, class_names):
    """Every figure of the module docstring for labels ``y`` (N,) and probabilities ``p`` (N, K).

    Plain Python types (JSON-ready); a figure undefined on these films (an AUC of a class
    absent from ``y``) is None.
    """
    y, p = np.asarray(y, dtype=np.int64), np.asarray(p, dtype=np.float64)
    k = len(class_names)
    predicted = calls(p)
    args = (y, predicted, k)
    present = np.bincount(y, minlength=k)
    aucs = [_auc_or_none((y == c).astype(np.int64), p[:, c]) for c in range(k)]
    per_class = {}
    for c, name in enumerate(class_names):
        per_class[name] = {
            "n": int(present[c]),
            "sensitivity": float(metrics.per_class_sensitivity(*args)[c]),
            "specificity": float(metrics.per_class_specificity(*args)[c]),
            "precision": float(metrics.per_class_precision(*args)[c]),
            "f1": float(metrics.per_class_f1(*args)[c]), "auc": aucs[c]}
    return {
        "n": int(len(y)), "accuracy": metrics.multiclass_accuracy(*args),
        "per_class": per_class,
        "macro_f1": metrics.macro_f1(*args), "weighted_f1": metrics.weighted_f1(*args),
        "macro_auc": None if None in aucs else float(np.mean(aucs)),
        "confusion_matrix": metrics.multiclass_confusion_matrix(*args).tolist(),
        "pneumonia_vs_normal": pneumonia_vs_normal(y, p),
        "bacterial_vs_viral": bacterial_vs_viral(y, p)}


def _numbers(tree, prefix=()):
    """``{path: value}`` of every float in a :func:`figures` tree (counts and matrices left out)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_numbers(value, prefix + (key,)))
        elif isinstance(value, float):
            out[prefix + (key,)] = value
    return out


def summarize(scores, class_names, n_bootstrap=1000, seed=0, alpha=0.05):
    """:func:`figures` with a ``<name>_ci`` = [lo, hi] beside every float (percentile bootstrap).

    Resamples (``n_bootstrap`` draws of the N films with replacement, from
    ``default_rng(seed)``) that lack a class of the full set are skipped; a figure undefined
    on a kept resample is left out of its interval.
    """
    y, p = np.asarray(scores.y, dtype=np.int64), np.asarray(scores.p, dtype=np.float64)
    out = figures(y, p, class_names)
    if not n_bootstrap:
        return out
    rng, k = np.random.default_rng(seed), len(class_names)
    classes_there = np.bincount(y, minlength=k) > 0
    draws = {path: [] for path in _numbers(out)}
    for _ in range(int(n_bootstrap)):
        idx = rng.integers(0, len(y), size=len(y))
        if not np.array_equal(np.bincount(y[idx], minlength=k) > 0, classes_there):
            continue
        values = _numbers(figures(y[idx], p[idx], class_names))
        for path in draws:
            if values.get(path) is not None:
                draws[path].append(values[path])
    for path, values in draws.items():
        if len(values) >= 2:
            node = out
            for key in path[:-1]:
                node = node[key]
            lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            node[path[-1] + "_ci"] = [float(lo), float(hi)]
    return out


# --- step 4: save ------------------------------------------------------------------------------
def save(model, out, prepared, args):
    """``model.npz`` (metadata with ``task`` "3class" and the argmax rule), ``model.onnx`` with
    the same metadata (when the onnx package is there) and ``split.csv``."""
    from minicnn import onnx as minicnn_onnx

    metadata = {
        "task": args.task, "decision": "argmax", "class_names": prepared.class_names,
        "image_size": [args.image_size, args.image_size], "color_mode": args.color_mode,
        "preprocess": args.preprocess, "rescale": RESCALE, "model": args.model,
        "tta": bool(args.tta), "fill_mode": args.fill_mode}
    model.save(os.path.join(out, "model.npz"), metadata=metadata)
    try:
        minicnn_onnx.export(model, os.path.join(out, "model.onnx"), metadata={
            **metadata, "input": "NHWC float32 images, preprocessed as 'preprocess' says",
            "output": "P(" + "), P(".join(prepared.class_names) + "); the call is the largest"})
    except ImportError:
        print("note: the onnx package is not installed, so no model.onnx was written "
              "(pip install onnx)")
    write_csv(os.path.join(out, "split.csv"), ["file", "patient", "label", "split"], prepared.rows)


def write_predictions(path, splits, class_names):
    """``predictions.csv``: split, file, true class, each class's probability, the call.

    ``splits``: ``{split name: (Dataset, ClassScores)}``. What ``metrics.json`` was computed
    from, so that anyone can recompute it.
    """
    rows = []
    for split, (ds, (y, p)) in splits.items():
        for name, label, row, call in zip(ds.file_paths, y, p, calls(p)):
            rows.append([split, name, class_names[label]] + [f"{v:.9g}" for v in row]
                        + [class_names[call]])
    write_csv(path, ["split", "file", "label"] + [f"p_{c}" for c in class_names] + ["called"],
              rows)


# --- step 5: evaluate --------------------------------------------------------------------------
def stress_test(model, ds, args):
    """Validation under each distortion of ``stress.distortions``: macro AUC, accuracy, and the
    pneumonia-vs-normal AUC. Empty when validation lacks a class (macro AUC is undefined)."""
    y, names, results = np.asarray(ds.labels, dtype=np.int64), ds.class_names, {}
    if (np.bincount(y, minlength=len(names)) == 0).any():
        return results
    for name, (what, distort) in distortions(args.fill_mode).items():
        f = figures(y, predict_probabilities(model, ds, args, distort=distort), names)
        results[name] = {"what": what, "macro_auc": round(f["macro_auc"], 4),
                         "accuracy": round(f["accuracy"], 4),
                         "pneumonia_auc": round(f["pneumonia_vs_normal"]["auc"], 4)}
    return results


def evaluate(model, prepared, args, val, test, history, train_seconds, class_weight, out):
    """Step 5: what ``metrics.json`` holds for 3 classes; writes ``predictions.csv``."""
    names = prepared.class_names
    results = {
        "task": args.task, "class_names": names, "decision": "argmax",
        "test": summarize(test, names, args.bootstrap, args.seed),
        "val": summarize(val, names, args.bootstrap, args.seed),
        "val_stress": stress_test(model, prepared.val, args),
        "train_seconds": round(train_seconds, 1),
        "epochs": len(history.epoch), "epochs_requested": args.epochs,
        "best_epoch": None if history.best_epoch is None else history.best_epoch + 1,
        "best_epoch_rule": "the highest validation macro one-vs-rest AUC",
        "interrupted": history.interrupted, "image_size": args.image_size,
        "color_mode": args.color_mode, "model": args.model, "seed": args.seed,
        "class_weights": None if class_weight is None else {
            names[c]: w for c, w in class_weight.items()},
        "n_train": prepared.train.num_examples, "n_val": prepared.val.num_examples,
        "n_test": prepared.test.num_examples,
        "kermany_bacterial_vs_viral_accuracy": KERMANY_BACTERIAL_VS_VIRAL_ACCURACY,
    }
    splits = {"val": (prepared.val, val), "test": (prepared.test, test)}
    if prepared.official_val is not None:  # 16 images, no viral one: information only
        official = score(model, prepared.official_val, args)
        results["official_val"] = summarize(official, names, 0)
        splits["official_val"] = (prepared.official_val, official)
    write_predictions(os.path.join(out, "predictions.csv"), splits, names)
    return results


# --- step 6: explain ---------------------------------------------------------------------------
def pick_for_class(y, p, c, per_kind=PER_KIND):
    """Films called ``c``: the ``per_kind`` most confident right calls, then the most confident
    wrong ones (positions into ``y``)."""
    called = np.flatnonzero(calls(p) == c)
    by_confidence = called[np.argsort(-p[called, c], kind="stable")]
    right = [i for i in by_confidence if y[i] == c][:per_kind]
    wrong = [i for i in by_confidence if y[i] != c][:per_kind]
    return right + wrong


def explain(model, prepared, test, results, args, out):
    """Step 6: the 3 x 3 confusion matrix, one-vs-rest ROC and calibration, Grad-CAM for the called class.

    Grad-CAM explains the logit of the class each film was CALLED (``class_index``), for the
    films the model was surest of (right and wrong) in each called class. The lung-box share
    of the map of every test film (of the class of its highest logit, unaugmented) goes into
    ``results["gradcam"]``.
    """
    y, p = test
    names, figures_out = prepared.class_names, {}
    figures_out["Confusion matrix (test)"] = plots_multiclass.multiclass_confusion_matrix_plot(
        y, calls(p), os.path.join(out, "confusion.png"), class_names=names,
        title="Confusion matrix (test, argmax)")
    if (np.bincount(y, minlength=len(names)) > 0).all():
        figures_out["One-vs-rest ROC curves (test)"] = plots_multiclass.one_vs_rest_roc_plot(
            y, p, os.path.join(out, "roc.png"), class_names=names,
            title="One-vs-rest ROC curves (test)")
    figures_out["Calibration, one class against the rest (test)"] = \
        plots_multiclass.one_vs_rest_calibration_plot(
            y, p, os.path.join(out, "calibration.png"), class_names=names,
            title="Calibration, one class against the rest (test)")
    shares = lung_box_shares(model, prepared.test, args.preprocess)
    finite = np.isfinite(shares)
    top, left, bottom, right = LUNG_BOX
    summary = {"box": list(LUNG_BOX), "box_area": (bottom - top) * (right - left),
               "mean": float(shares[finite].mean()) if finite.any() else None,
               "n": int(finite.sum()), "n_empty_maps": int((~finite).sum()), "examples": {}}
    for c, name in enumerate(names):
        rows = pick_for_class(y, p, c)
        if not rows:
            continue
        raw = prepared.test.load(np.asarray(rows))[0]
        heat = gradcam.grad_cam(model, PREPROCESSING[args.preprocess](raw), class_index=c)
        titles = [f"{'right' if y[i] == c else 'WRONG'}: truly {names[y[i]]}\n"
                  f"P({name}) {p[i, c]:.3f}" for i in rows]
        figures_out[f"Grad-CAM: called {name}"] = plots.gradcam_grid(
            raw, heat, titles, os.path.join(out, f"gradcam_{name.lower()}.png"), box=LUNG_BOX,
            title=f"Called {name}: the evidence for {name}")
        summary["examples"][name] = [{"p": float(p[i, c]), "truth": names[y[i]]} for i in rows]
    results["gradcam"] = summary
    return figures_out


# --- step 7: the headline ----------------------------------------------------------------------
def headline(results):
    """Per 100 children of each class: how many found, how many of the others wrongly called it.

    Returns ``{"classes": [...], "text": ...}`` (stored in ``metrics.json``), or None when the
    test set lacks a class.
    """
    t = results.get("test") or {}
    names = results.get("class_names") or list(t.get("per_class", {}))
    cm = np.asarray(t.get("confusion_matrix") or [[0]])
    if not names or cm.shape != (len(names), len(names)) or (cm.sum(axis=1) == 0).any():
        return None
    rows = []
    for c, name in enumerate(names):
        pc = t["per_class"][name]
        others = int(cm.sum() - cm[c].sum())
        rows.append({"class": name, "n": int(cm[c].sum()), "found": int(cm[c, c]),
                     "found_per_100": round(100 * pc["sensitivity"]),
                     "sensitivity": pc["sensitivity"], "sensitivity_ci": pc.get("sensitivity_ci"),
                     "n_others": others, "wrongly_called": int(cm[:, c].sum() - cm[c, c]),
                     "wrongly_called_per_100": round(100 * (1 - pc["specificity"])),
                     "specificity": pc["specificity"], "precision": pc["precision"],
                     "auc": pc["auc"]})
    h = {"classes": rows, "n": int(cm.sum()), "accuracy": t["accuracy"],
         "accuracy_ci": t.get("accuracy_ci"), "macro_auc": t.get("macro_auc"),
         "macro_auc_ci": t.get("macro_auc_ci"), "macro_f1": t["macro_f1"],
         "pneumonia_vs_normal": t["pneumonia_vs_normal"],
         "bacterial_vs_viral": t["bacterial_vs_viral"]}
    h["text"] = headline_text(h)
    return h


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(ci, percent=True):
    if not ci:
        return ""
    return (f" (95% interval {100 * ci[0]:.1f} to {100 * ci[1]:.1f}%)" if percent
            else f" (95% interval {ci[0]:.3f} to {ci[1]:.3f})")


def headline_text(h):
    """The headline as console lines (also in ``metrics.json``)."""
    lines = [f"Test set: {h['n']} films, each called the class of highest probability. "
             f"Accuracy {_pct(h['accuracy'])}{_ci(h['accuracy_ci'])}; macro AUC "
             + ("n/a" if h["macro_auc"] is None else f"{h['macro_auc']:.3f}")
             + _ci(h["macro_auc_ci"], False) + f"; macro F1 {h['macro_f1']:.3f}."]
    for r in h["classes"]:
        group, call = words(r["class"])
        lines.append(
            f"{r['class']}: of 100 {group} it calls about {r['found_per_100']} {call} "
            f"({r['found']} of {r['n']}){_ci(r['sensitivity_ci'])}; of 100 other children, "
            f"about {r['wrongly_called_per_100']} {'is' if r['wrongly_called_per_100'] == 1 else 'are'} wrongly called {call} "
            f"({r['wrongly_called']} of {r['n_others']}).")
    pn, bv = h["pneumonia_vs_normal"], h["bacterial_vs_viral"]
    lines.append(
        "Pneumonia vs normal (P(BACTERIA) + P(VIRUS)): AUC "
        + ("n/a" if pn["auc"] is None else f"{pn['auc']:.3f}")
        + f"; at the argmax call sensitivity {_pct(pn['sensitivity'])}, specificity "
        f"{_pct(pn['specificity'])}.")
    lines.append(
        f"Bacterial vs viral, among the {bv['n']} pneumonia films: {_pct(bv['accuracy'])} "
        f"called right by the larger of P(BACTERIA) and P(VIRUS){_ci(bv.get('accuracy_ci'))} "
        f"(Kermany et al. 2018: {_pct(KERMANY_BACTERIAL_VS_VIRAL_ACCURACY)}, a model for that "
        "question alone, full-size films).")
    return "\n".join(lines)


def console_tables(section, class_names):
    """The per-class table and the confusion matrix of one :func:`summarize` result, as lines."""
    lines = [f"  {'class':10s} {'n':>5s} {'sens.':>7s} {'spec.':>7s} {'prec.':>7s} "
             f"{'F1':>7s} {'AUC':>7s}"]
    for name in class_names:
        r = section["per_class"][name]
        auc = "n/a" if r["auc"] is None else f"{r['auc']:.3f}"
        lines.append(f"  {name:10s} {r['n']:5d} {r['sensitivity']:7.3f} {r['specificity']:7.3f} "
                     f"{r['precision']:7.3f} {r['f1']:7.3f} {auc:>7s}")
    macro = "n/a" if section["macro_auc"] is None else f"{section['macro_auc']:.3f}"
    lines.append(f"  accuracy {section['accuracy']:.3f}, macro F1 {section['macro_f1']:.3f}, "
                 f"weighted F1 {section['weighted_f1']:.3f}, macro AUC {macro}")
    lines.append("  confusion matrix (rows: the truth; columns: the call):")
    lines.append("  " + " " * 11 + "".join(f"{n:>10s}" for n in class_names))
    for name, row in zip(class_names, section["confusion_matrix"]):
        lines.append(f"  {name:>10s} " + "".join(f"{v:10d}" for v in row))
    return lines


def report(out, args, prepared, results, figures_out, history, train_seconds):
    """Step 7: ``metrics.json`` completed (settings, data, figures, headline), ``report.html``,
    and the results on the console."""
    from . import report_multiclass
    from .evaluation import reproducing_command
    from minicnn.model import Sequential
    from minicnn.report import environment

    # The data notes are the binary task's words; here nothing has a threshold.
    notes = [n.replace("evaluated at the chosen threshold for", "evaluated for")
             for n in prepared.notes]
    if history.interrupted:
        notes.insert(0, f"Training was interrupted (Ctrl-C) after {len(history.epoch)} complete "
                        "epoch(s): these results are for a partly trained model.")
    results.update({
        "settings": dict(vars(args)), "data": prepared.summary, "notes": notes,
        "decision_rule": "Each film is called the class of highest probability"
                         + (" (averaged over the film and three fixed views)" if args.tta else "")
                         + "; no threshold was chosen.",
        "environment": environment(), "command": reproducing_command(args),
        "figures": {title: os.path.relpath(path, out) for title, path in figures_out.items()
                    if path is not None}})
    model_file = os.path.join(out, "model.npz")
    if os.path.isfile(model_file):
        results["parameters"] = Sequential.load(model_file).count_params()
    results["headline"] = headline(results)
    write_json(os.path.join(out, "metrics.json"), results)
    try:
        report_multiclass.write(out, args.compare)
    except (OSError, ValueError) as error:
        print(f"warning: --compare: {error}; the report shows this run alone", file=sys.stderr)
        report_multiclass.write(out, compare=False)
    names = prepared.class_names
    for split in ("val", "test"):
        print(f"\n{'Validation' if split == 'val' else 'Test'} ({results[split]['n']} films):")
        print("\n".join(console_tables(results[split], names)))
    for row in results["val_stress"].values():
        print(f"Validation, {row['what']}: macro AUC {row['macro_auc']:.3f}, accuracy "
              f"{row['accuracy']:.3f}, pneumonia-vs-normal AUC {row['pneumonia_auc']:.3f}")
    if results["headline"] is not None:
        print("\n" + results["headline"]["text"])
    print(f"Trained {train_seconds:.0f} s. Wrote {out}/ (report.html, metrics.json, "
          "predictions.csv, model.npz, ...)")
