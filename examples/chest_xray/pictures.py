"""Steps 2 and 6 of the example: look at the data before training, and explain the results after.

Each function writes its PNGs into the run folder and returns ``{title: figure path}`` for
the report, in the order the report shows them. ``rng`` draws which images are shown; the
example passes one generator to both steps, so one seed gives the same pictures.
"""

import os

import numpy as np

from minicnn import data, explain as gradcam, plots

from .training import PREPROCESSING, make_augmenter


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
    """Step 2: six training films of each class, and one of each class augmented five ways."""
    figures = {}
    rows = rows_per_class(prepared.train, 6, rng)
    images, labels = prepared.train.load(rows)
    figures["Training samples"] = plots.sample_grid(
        images, labels.reshape(-1), prepared.class_names, os.path.join(out, "samples.png"))
    augment = make_augmenter(args)
    first_and_last = (0, len(rows) - 1)  # one image of each class
    previews = [np.concatenate([images[i][None], data.augmentation_preview(images[i], augment, 5,
                                                                            seed=args.seed)])
                for i in first_and_last]
    figures["Augmentation preview"] = plots.augmentation_preview(
        np.stack(previews), os.path.join(out, "augmentation.png"),
        row_titles=[prepared.class_names[int(labels[i, 0])] for i in first_and_last],
        col_titles=["original"] + [f"augmented {k}" for k in range(1, 6)])
    return figures


def explain(model, prepared, test, threshold, results, args, out, rng):
    """Step 6: ROC and PR curves, confusion matrix, a prediction grid, Grad-CAM, calibration.

    ``test`` holds the test split's labels and probabilities (``evaluation.Scores``);
    ``results`` the metrics of step 5 (for the AUC interval on the ROC curve).
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
        os.path.join(out, "predictions.png"))
    # Grad-CAM for the most confident true and false positives and negatives, two of each.
    picked, titles = gradcam.pick_outcome_examples(y_test, p_test, threshold, per_group=2)
    if picked:
        raw = test_ds.load(np.asarray(picked))[0]
        heat = gradcam.grad_cam(model, PREPROCESSING[args.preprocess](raw))
        figures["Grad-CAM (test: TP, FP, FN, TN)"] = plots.gradcam_grid(
            raw, heat, titles, os.path.join(out, "gradcam.png"))
    figures["Calibration (test)"] = plots.calibration_plot(
        y_test, p_test, os.path.join(out, "calibration.png"))
    return figures

