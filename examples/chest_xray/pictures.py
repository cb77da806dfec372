"""Steps 2 and 6 of the example: look at the data before training, and explain the results after.

Each function writes its PNGs into the run folder and returns ``{title: figure path}`` for
the report, in the order the report shows them. ``rng`` draws which images are shown; the
example passes one generator to both steps, so one seed gives the same pictures.
"""

import os

import numpy as np

from minicnn import data, explain as gradcam, plots

from .training import PREPROCESSING, make_augmenter

#: A central lung box, ``(top, left, bottom, right)`` as fractions of the film: where the lung
#: fields of a resized pediatric chest film lie (read off the mean of test films), leaving out
#: the edges that hold the side marker, text, collimation and the chest wall. Crude: it also
#: holds the heart, and a child off centre falls partly outside it.
LUNG_BOX = (0.10, 0.15, 0.80, 0.85)
#: Grad-CAM examples per outcome (TP, FP, FN, TN): one full row each.
PER_OUTCOME = 4
OUTCOME_NAMES = {"TP": "true positives", "FP": "false positives", "FN": "false negatives",
                 "TN": "true negatives"}


def rows_per_class(ds, per_class, rng):
    """``per_class`` random positions of each class of ``ds`` (fewer if the class is small)."""
    labels = np.asarray(ds.labels)
    out = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.concatenate(out).astype(np.int64)


def pick_for_grid(labels, probabilities, threshold, n, rng):
    """Up to ``n`` positions for a prediction grid: the mistakes first (up to half), then others."""
    pred = probabilities >= threshold
    wrong = np.flatnonzero(pred != (labels == 1))
    right = np.flatnonzero(pred == (labels == 1))
    take_wrong = rng.permutation(wrong)[: n // 2]
    take_right = rng.permutation(right)[: n - len(take_wrong)]
    return np.sort(np.concatenate([take_wrong, take_right])).astype(np.int64)


def look_at_data(prepared, args, out, rng):
    """Step 2: six training films of each class, and the first and last class's augmented five ways."""
    figures = {}
    rows = rows_per_class(prepared.train, 6, rng)
    images, labels = prepared.train.load(rows)
    labels = np.asarray(labels).reshape(-1)   # (N, 1) binary, (N,) integer class labels
    figures["Training samples"] = plots.sample_grid(
        images, labels, prepared.class_names, os.path.join(out, "samples.png"))
    augment = make_augmenter(args)
    first_and_last = (0, len(rows) - 1)  # one image of each class
    previews = [np.concatenate([images[i][None], data.augmentation_preview(images[i], augment, 5,
                                                                            seed=args.seed)])
                for i in first_and_last]
    figures["Augmentation preview"] = plots.augmentation_preview(
        np.stack(previews), os.path.join(out, "augmentation.png"),
        row_titles=[prepared.class_names[int(labels[i])] for i in first_and_last],
        col_titles=["original"] + [f"augmented {k}" for k in range(1, 6)])
    return figures


def explain(model, prepared, test, threshold, results, args, out, rng):
    """Step 6: ROC and PR curves, confusion matrix, a prediction grid, Grad-CAM by outcome, calibration.

    ``test`` holds the test split's labels and probabilities (``evaluation.Scores``);
    ``results`` the metrics of step 5 (for the AUC interval on the ROC curve); the Grad-CAM
    lung-box shares of :func:`explain_by_outcome` are added to it as ``results["gradcam"]``.
    """
    y_test, p_test = test
    test_ds, names, figures = prepared.test, prepared.class_names, {}
    points = {f"chosen t={threshold:.3f}": threshold, "t=0.5": 0.5}
    if len(np.unique(y_test)) == 2:
        figures["ROC curve (test)"] = plots.roc_curve_plot(
            y_test, p_test, os.path.join(out, "roc.png"), operating_points=points,
            auc_ci=results["test"].get("auc_ci"))
        figures["Precision-recall curve (test)"] = plots.pr_curve_plot(
            y_test, p_test, os.path.join(out, "pr.png"), operating_points=points)
    figures["Confusion matrix (test, chosen threshold)"] = plots.confusion_matrix_plot(
        y_test, (p_test >= threshold).astype(np.int64), os.path.join(out, "confusion.png"),
        class_names=names)
    grid = pick_for_grid(y_test, p_test, threshold, 12, rng)
    figures["Test predictions"] = plots.prediction_grid(
        test_ds.load(grid)[0], y_test[grid], p_test[grid], threshold, names,
        os.path.join(out, "predictions.png"), ncols=4)
    figures.update(explain_by_outcome(model, test_ds, test, threshold, args, out, results))
    figures["Calibration (test)"] = plots.calibration_plot(
        y_test, p_test, os.path.join(out, "calibration.png"))
    return figures



def lung_box_shares(model, ds, preprocess, chunk=64):
    """The share of each film's Grad-CAM map inside :data:`LUNG_BOX`, for every film of ``ds``, (N,).

    Computed ``chunk`` films at a time, so that the maps of a whole test set are never held
    at once; nan for a film whose map is zero everywhere.
    """
    shares = []
    for start in range(0, ds.num_examples, chunk):
        raw = ds.load(np.arange(start, min(start + chunk, ds.num_examples)))[0]
        maps = gradcam.grad_cam(model, PREPROCESSING[preprocess](raw))
        shares.append(gradcam.mass_inside_box(maps, LUNG_BOX))
    return np.concatenate(shares) if shares else np.zeros(0)


def outcomes(y, p, threshold):
    """Each film's outcome at ``threshold`` as "TP", "FP", "FN" or "TN", shape (N,)."""
    called = np.asarray(p) >= threshold
    sick = np.asarray(y) == 1
    return np.where(called, np.where(sick, "TP", "FP"), np.where(sick, "FN", "TN"))


def explain_by_outcome(model, test_ds, test, threshold, args, out, results):
    """Grad-CAM of the whole test set: each outcome's most confident films, and the lung-box shares.

    Writes one figure per outcome (the :data:`PER_OUTCOME` most confident films, each
    titled with P(pneumonia), the threshold and its lung-box share, the box drawn on the
    map) and returns ``{title: path}``. Stores in ``results["gradcam"]`` the box, its share
    of the area (what an evenly spread map gives), the mean share over the test films, by
    outcome, and the shown films' values.
    """
    y, p = test
    shares = lung_box_shares(model, test_ds, args.preprocess)
    outcome = outcomes(y, p, threshold)
    finite = np.isfinite(shares)
    top, left, bottom, right = LUNG_BOX
    summary = {
        "box": list(LUNG_BOX), "box_area": (bottom - top) * (right - left),
        "mean": float(shares[finite].mean()) if finite.any() else None,
        "n": int(finite.sum()), "n_empty_maps": int((~finite).sum()),
        "mean_by_outcome": {k: float(shares[finite & (outcome == k)].mean())
                            for k in OUTCOME_NAMES if (finite & (outcome == k)).any()},
        "examples": {}}
    picked, _ = gradcam.pick_outcome_examples(y, p, threshold, per_group=PER_OUTCOME)
    figures = {}
    for key, name in OUTCOME_NAMES.items():
        rows = [i for i in picked if outcome[i] == key]
        if not rows:
            continue
        raw = test_ds.load(np.asarray(rows))[0]
        heat = gradcam.grad_cam(model, PREPROCESSING[args.preprocess](raw))
        titles = [f"P(pneumonia) {p[i]:.3f} {'>=' if p[i] >= threshold else '<'} "
                  f"{threshold:.3f}\n" + (f"lung box {shares[i]:.0%}" if finite[i] else "empty map")
                  for i in rows]
        figures[f"Grad-CAM: {name}"] = plots.gradcam_grid(
            raw, heat, titles, os.path.join(out, f"gradcam_{key}.png"), box=LUNG_BOX,
            title=f"{key}: {name}")
        summary["examples"][key] = [{"p": float(p[i]), "share": float(shares[i])
                                     if finite[i] else None} for i in rows]
    results["gradcam"] = summary
    return figures
