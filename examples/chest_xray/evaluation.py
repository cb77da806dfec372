"""Steps 4, 5 and 7 of the example: the threshold, the one evaluation on test, and the report.

The order is the protocol: the threshold is chosen on VALIDATION (the highest whose
sensitivity reaches ``--target-sensitivity``), saved with the model, and only then is the
official test split scored, once, at that threshold and at 0.5, with bootstrap 95% intervals.
"""

import os
import shlex
import sys
from collections import namedtuple

import numpy as np

from minicnn import metrics
from minicnn.model import Sequential
from minicnn.report import environment

from . import report as clinician_page
from . import stress
from .outputs import write_csv, write_json
from .training import RESCALE, predict_probabilities

#: Labels ``y`` (N,) and predicted P(PNEUMONIA) ``p`` (N,) of one split, in the dataset's order.
Scores = namedtuple("Scores", ["y", "p"])


def score(model, ds, args):
    """The model's :class:`Scores` on the dataset ``ds`` (unaugmented, preprocessed as in training)."""
    return Scores(np.asarray(ds.labels), predict_probabilities(model, ds, args))


def choose_threshold(val, target_sensitivity, fixed=None):
    """Step 4: the highest threshold with validation sensitivity >= the target (0.5 if one class).

    ``fixed``: a threshold given on the command line (the original recipe's 0.5) instead.
    """
    if fixed is not None:
        return float(fixed)
    if len(np.unique(val.y)) == 2:
        return metrics.choose_threshold(val.y, val.p, target_sensitivity)
    print("warning: validation holds one class only; using threshold 0.5", file=sys.stderr)
    return 0.5


def save(model, out, prepared, args, threshold):
    """``model.npz`` with all that ``predict`` needs, ``model.onnx`` with the same metadata (when
    the onnx package is there), and ``split.csv`` (every image used, by split)."""
    metadata = {
        "threshold": threshold, "class_names": prepared.class_names,
        "image_size": [args.image_size, args.image_size], "color_mode": args.color_mode,
        "preprocess": args.preprocess, "rescale": RESCALE, "model": args.model,
        "target_sensitivity": args.target_sensitivity, "tta": bool(args.tta),
        "fill_mode": args.fill_mode}
    model.save(os.path.join(out, "model.npz"), metadata=metadata)
    export_onnx(model, os.path.join(out, "model.onnx"), metadata)
    write_csv(os.path.join(out, "split.csv"), ["file", "patient", "label", "split"], prepared.rows)


def export_onnx(model, path, metadata):
    """``model.onnx``: the model for onnxruntime or Netron, taking the PREPROCESSED images.

    The graph maps what ``model.predict`` takes to P(PNEUMONIA); the metadata says how to get
    there from a film (``image_size``, ``color_mode``, ``preprocess``: "standardize" is each
    image to mean 0 and std 1, "rescale" is pixels times ``rescale``) and the ``threshold``.
    Without the onnx package: a one-line note, nothing written.
    """
    from minicnn import onnx as minicnn_onnx

    try:
        minicnn_onnx.export(model, path, metadata={
            **metadata, "input": "NHWC float32 images, preprocessed as 'preprocess' says",
            "output": f"P({metadata['class_names'][1]}); predict it when >= threshold"})
    except ImportError:
        print("note: the onnx package is not installed, so no model.onnx was written "
              "(pip install onnx)")


def summarize(scores, threshold, args):
    """metrics.summarize at ``threshold`` with bootstrap intervals; a note when one class only."""
    y, p = scores
    if len(np.unique(y)) < 2:  # a tiny --limit run: AUC is undefined with one class
        return {"threshold": float(threshold), "n": int(len(y)), "note": "one class only"}
    return metrics.summarize(y, p, threshold=threshold, n_bootstrap=args.bootstrap, seed=args.seed)


def evaluate(model, prepared, args, threshold, val, test, history, train_seconds, class_weight):
    """Step 5: everything ``metrics.json`` holds (test at the chosen threshold and at 0.5, ...)."""
    results = {
        "test": summarize(test, threshold, args),
        "test_at_0.5": summarize(test, 0.5, args),
        "val": summarize(val, threshold, args),
        "val_stress": stress.stress_test(model, prepared.val, args, threshold),
        "train_seconds": round(train_seconds, 1),
        "epochs": len(history.epoch), "epochs_requested": args.epochs,
        "best_epoch": None if history.best_epoch is None else history.best_epoch + 1,
        "interrupted": history.interrupted, "image_size": args.image_size,
        "color_mode": args.color_mode, "model": args.model, "seed": args.seed,
        "class_weights": None if class_weight is None else {
            prepared.class_names[c]: w for c, w in class_weight.items()},
        "n_train": prepared.train.num_examples, "n_val": prepared.val.num_examples,
        "n_test": prepared.test.num_examples,
    }
    if prepared.official_val is not None:  # 16 images: information only, chooses nothing
        results["official_val"] = summarize(score(model, prepared.official_val, args), threshold, args)
    return results


def write_metrics(results, out):
    """``metrics.json``, written whole or not at all."""
    write_json(os.path.join(out, "metrics.json"), results)


def reproducing_command(args):
    """The command line of this run with every option spelled out (defaults may change later)."""
    words = ["python", "examples/pneumonia.py"]
    for key, value in vars(args).items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)


def report(out, args, prepared, results, figures, threshold, history, train_seconds):
    """Step 7: ``report.html`` (the answer first, details last) and the headline on the console.

    Adds to ``metrics.json`` what the page is built from (settings, data summary, notes, the
    figures' files, environment, command) and the ``headline``, so that the page can be
    written again from the run folder alone (``chest_xray.report.write``).
    """
    notes = list(prepared.notes)
    rule = ("Fixed on the command line." if args.threshold is not None
            else f"Chosen on validation as the highest threshold with sensitivity of at least "
            f"{args.target_sensitivity:.0%} there; the test set chose nothing.")
    if history.interrupted:
        notes.insert(0, f"Training was interrupted (Ctrl-C) after {len(history.epoch)} complete "
                        "epoch(s): these results are for a partly trained model.")
    model_file = os.path.join(out, "model.npz")
    results.update({
        "settings": dict(vars(args)), "data": prepared.summary, "notes": notes,
        "threshold_rule": rule, "environment": environment(),
        "command": reproducing_command(args),
        "figures": {title: os.path.relpath(path, out) for title, path in figures.items()
                    if path is not None},
    })
    if os.path.isfile(model_file):
        results["parameters"] = Sequential.load(model_file).count_params()
    results["headline"] = clinician_page.headline(results)
    write_metrics(results, out)
    try:
        clinician_page.write(out, args.compare)
    except (OSError, ValueError) as error:  # a wrong --compare: the run's own page still
        print(f"warning: --compare: {error}; the report shows this run alone", file=sys.stderr)
        clinician_page.write(out, compare=False)
    for line in stress.describe(results["val_stress"]):
        print(f"Validation, {line}")
    if results["headline"] is not None:
        print("\n" + results["headline"]["text"])
    print(f"Trained {train_seconds:.0f} s. Wrote {out}/ (report.html, metrics.json, model.npz, ...)")
