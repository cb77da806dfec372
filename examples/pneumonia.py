"""Pneumonia from pediatric chest X-rays, end to end, with minicnn.

This rebuilds a well-known TensorFlow/Keras project (three conv blocks on the Kaggle
"Chest X-Ray Images (Pneumonia)" set) and goes past it where a clinician would ask:

* the validation set is carved out of ``train/`` BY PATIENT (no child on both sides), the
  official 16-image ``val/`` is not used to choose anything, and the official ``test/`` is
  touched once, at the end;
* the decision threshold is chosen on validation for a target sensitivity (a screen
  should not miss pneumonia), and the test results are given at that threshold and at
  0.5, with bootstrap 95% intervals;
* the films' shape is taken away as a clue: the pneumonia originals are wider (median
  1.49:1 in a sample of 160 training films) than the normal ones (1.2:1), so after the
  square resize a film's proportions alone hint at the class, a shortcut that fails on new
  films. Training squeezes and stretches every film sideways at random (``--zoom-width``),
  and a stress test scores validation again with the films squeezed and stretched (and
  blurred and sharpened: the pneumonia originals are also the more compressed files);
* each image is standardized to mean 0 and std 1 (``--preprocess``), so exposure and
  contrast of the machine are not clues either;
* Grad-CAM shows where the model looked, for true and false positives and negatives;
* everything lands in one folder with a self-contained HTML report.

Run it::

    python examples/pneumonia.py                          # train, evaluate, report (3 epochs, 224x224)
    python examples/pneumonia.py --limit 200 --epochs 1 --image-size 64   # a quick look
    python examples/pneumonia.py --folds 5                # patient-grouped 5-fold CV on train/
    python examples/pneumonia.py predict a.jpeg b.jpeg --model runs/<name>/model.npz

Data: ``--data DIR`` (``{train,val,test}/{NORMAL,PNEUMONIA}``) or a MedMNIST ``.npz``; else
``$MINICNN_DATA``; else ``./data/chest_xray``; else PneumoniaMNIST is downloaded.
``python examples/pneumonia.py --help`` lists every option.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for pneumonia_lib
import pneumonia_lib as lib  # noqa: E402

from minicnn import data, explain, metrics, plots, zoo  # noqa: E402
from minicnn.callbacks import EarlyStopping, LearningRateScheduler  # noqa: E402
from minicnn.losses import BinaryCrossEntropy  # noqa: E402
from minicnn.model import Sequential  # noqa: E402
from minicnn.optimizers import Adam  # noqa: E402
from minicnn.report import write_report  # noqa: E402

RESCALE = 1.0 / 255.0  # pixels come as [0, 255]; "--preprocess rescale" shows the model [0, 1]
SHARPNESS_SIGMA = 1.0  # px at 224x224: the blur of the stress test, about what a 2x downscale does
PREPROCESSING = {
    # Each image to mean 0, std 1 (default): the model cannot lean on how bright or contrasty
    # a machine made the film, and trains faster (validation loss 0.138 vs 0.166, seed 0).
    "standardize": data.PerImageStandardization(),
    "rescale": data.Rescaling(RESCALE),    # the original project's [0, 1]
}


def parse_args(argv):
    p = argparse.ArgumentParser(description="Train, evaluate and explain a pneumonia classifier "
                                "on chest X-rays (see the module docstring).")
    p.add_argument("--data", help="Kaggle chest_xray folder or a MedMNIST .npz file")
    p.add_argument("--model", default="baseline", choices=sorted(zoo.MODELS),
                   help="baseline: the original CNN (default); batchnorm: BN + global pooling")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--image-size", type=int, default=None,
                   help="square size in pixels (default 224; a .npz keeps its own size)")
    p.add_argument("--color-mode", default="grayscale", choices=["grayscale", "rgb"],
                   help="the X-rays have 3 equal channels: grayscale loses nothing (default)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--lr-schedule", default="cosine", choices=["cosine", "constant"],
                   help="cosine: epoch e of E at lr * (1 + cos(pi e / E)) / 2 (default); "
                   "constant: lr throughout, as the original")
    p.add_argument("--no-class-weights", action="store_true",
                   help="do not weight the loss by n / (2 n_class)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train/ (by patient) used for validation")
    p.add_argument("--target-sensitivity", type=float, default=0.95,
                   help="the threshold is the highest that reaches this sensitivity on validation")
    p.add_argument("--preprocess", default="standardize", choices=sorted(PREPROCESSING),
                   help="standardize: each image to mean 0, std 1 (default); rescale: to [0, 1]")
    p.add_argument("--rotation", type=float, default=0.05, help="RandomRotation factor (turns)")
    p.add_argument("--zoom", type=float, default=0.2,
                   help="RandomZoom height_factor (also the width's when --zoom-width is 0)")
    p.add_argument("--zoom-width", type=float, default=0.35,
                   help="RandomZoom width_factor, drawn apart from the height: changes the "
                   "aspect ratio, which in this dataset tells the class (see the README); "
                   "0 keeps the aspect ratio")
    p.add_argument("--fill-mode", default="constant",
                   choices=["constant", "reflect", "nearest", "wrap"],
                   help="what fills the border a rotation or zoom-out uncovers (constant: black)")
    p.add_argument("--contrast", type=float, default=0.1, help="RandomContrast factor")
    p.add_argument("--sharpness", type=float, default=0.0,
                   help="RandomSharpness factor: each film blurred or sharpened by an amount in "
                   "[1 - f, 1 + f] (0 blurred, 1 unchanged, 2 sharpened); softness tells the "
                   "class in this dataset (see the README); 0 turns it off")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="at most N images per split (quick look)")
    p.add_argument("--folds", type=int, default=None,
                   help="K: patient-grouped stratified K-fold cross-validation on train/ (no test)")
    p.add_argument("--out", help="output folder (default runs/<time>-<model>)")
    p.add_argument("--cache", default=None,
                   help="folder of the decoded-image cache (default $MINICNN_HOME/cache; "
                   "'memory' for none on disk)")
    args = p.parse_args(argv)
    if args.epochs < 0 or args.batch_size < 1 or (args.limit is not None and args.limit < 4):
        p.error("--epochs must be >= 0, --batch-size >= 1, --limit >= 4")
    if not 0 < args.val_fraction < 1 or not 0 < args.target_sensitivity <= 1:
        p.error("--val-fraction must be in (0, 1) and --target-sensitivity in (0, 1]")
    if args.folds is not None and args.folds < 2:
        p.error("--folds must be >= 2")
    if not 0 <= args.sharpness <= 1:
        p.error("--sharpness must be in [0, 1] (amounts below 0 would invert the detail)")
    return args


def build_model(name, input_shape, seed, learning_rate):
    """The chosen zoo model, compiled with Adam and the fused sigmoid + cross-entropy loss."""
    model = zoo.MODELS[name](input_shape=input_shape, seed=seed)
    model.compile(optimizer=Adam(learning_rate=learning_rate),
                  loss=BinaryCrossEntropy(from_logits=True),
                  metrics=["accuracy", "auc", "precision", "recall"])
    return model


def make_augmenter(args):
    """Rotation, zoom and contrast (the original's three Keras layers) and sharpness, one seed."""
    layers = []
    if args.rotation:
        layers.append(data.RandomRotation(args.rotation, fill_mode=args.fill_mode))
    if args.zoom or args.zoom_width:
        layers.append(data.RandomZoom(args.zoom, args.zoom_width or None, fill_mode=args.fill_mode))
    if args.contrast:
        layers.append(data.RandomContrast(args.contrast))  # on [0, 255] pixels, before preprocessing
    if args.sharpness:
        layers.append(data.RandomSharpness(args.sharpness, sigma=SHARPNESS_SIGMA))
    return data.Augmenter(layers, seed=[args.seed, 2])


def train(model, train_ds, val_ds, args, class_weight):
    """fit with augmentation, keeping the epoch with the best validation AUC; returns (history, s)."""
    augment, prepare = make_augmenter(args), PREPROCESSING[args.preprocess]
    # Shuffled each epoch (repeatably for the seed), augmented and preprocessed in a
    # background thread.
    train_batches = (train_ds.with_options(shuffle=True, seed=args.seed)
                     .map(lambda x, y: (prepare(augment(x)), y)).prefetch(2))
    val_batches = val_ds.map(lambda x, y: (prepare(x), y))
    # EarlyStopping with a patience longer than the run never stops: it only remembers the
    # best epoch by validation AUC and puts its weights back at the end (also after Ctrl-C).
    keep_best = EarlyStopping(monitor="val_auc", mode="max", patience=args.epochs + 1,
                              restore_best_weights=True)
    callbacks = [keep_best]
    if args.lr_schedule == "cosine":
        # Big steps first, small ones last: the weights the run ends on (and the epoch kept)
        # depend less on where the last few noisy steps happened to land.
        callbacks.append(LearningRateScheduler(lambda epoch, lr: args.learning_rate * 0.5 * (
            1 + math.cos(math.pi * epoch / args.epochs))))
    start = time.perf_counter()
    history = model.fit(train_batches, epochs=args.epochs, validation_data=val_batches,
                        class_weight=class_weight, callbacks=callbacks, verbose=1)
    history.best_epoch = keep_best.best_epoch
    return history, time.perf_counter() - start


def predict_probabilities(model, ds, preprocess, distort=None):
    """P(PNEUMONIA) for every image of ``ds`` in its fixed order, shape (N,).

    ``distort``: an optional function applied to each raw batch first (the stress test).
    """
    prepare, distort = PREPROCESSING[preprocess], distort or (lambda x: x)
    return model.predict(ds.map(lambda x, y: (prepare(distort(x)), y))).reshape(-1)


def stress_distortions(fill_mode):
    """The stress test's distortions: ``{name: (what it does, f(raw batch) -> raw batch)}``.

    Two things about a film may hint at the class in this dataset without being pneumonia,
    and a model that reads the lungs should hardly move when either changes:

    * its shape: the pneumonia originals are wider (median width:height 1.49 against 1.2 in
      a sample of 160 training films), so after the square resize their chests look
      narrower. A width zoom ``zw`` shows ``zw`` times the width in the same pixels: 1.25
      squeezes a chest (pneumonia-like), 0.8 stretches it;
    * its sharpness: the pneumonia originals are small, heavily compressed JPEGs (median
      55-84 KB against 520-560 KB in the same sample), so at 224x224 they look softer. A
      Gaussian blur (std 1 px) softens every film, an unsharp mask (amount 2) sharpens it.
      (Pneumonia itself is a haze, so some response to blur is expected of any model.)
    """
    def width_zoom(zw):
        return data.RandomZoom((0.0, 0.0), (zw - 1.0, zw - 1.0), fill_mode=fill_mode)
    return {
        "width_zoom_0.8": ("stretched sideways (width x0.8)", width_zoom(0.8)),
        "width_zoom_1.25": ("squeezed sideways (width x1.25)", width_zoom(1.25)),
        "blur_1px": ("blurred (Gaussian, 1 px)", lambda x: data.gaussian_blur(x, SHARPNESS_SIGMA)),
        "sharpen_2": ("sharpened (unsharp mask x2)",
                      lambda x: data.adjust_sharpness(x, 2.0, sigma=SHARPNESS_SIGMA)),
    }


def stress_test(model, ds, args, threshold):
    """Validation again under each of :func:`stress_distortions`: does the answer move?

    A model that learned a film's shape or softness instead of its lungs calls the squeezed
    or blurred normal films pneumonia (specificity falls) and misses the stretched or
    sharpened pneumonia films (sensitivity falls).
    Returns ``{name: {"what", "auc", "sensitivity", "specificity"}}`` at ``threshold``.
    """
    y, results = np.asarray(ds.labels), {}
    if len(np.unique(y)) < 2:
        return results
    for name, (what, distort) in stress_distortions(args.fill_mode).items():
        p = predict_probabilities(model, ds, args.preprocess, distort=distort)
        predicted = (p >= threshold).astype(np.int64)
        results[name] = {
            "what": what, "auc": round(metrics.roc_auc(y, p), 4),
            "sensitivity": round(metrics.sensitivity(y, predicted), 4),
            "specificity": round(metrics.specificity(y, predicted), 4)}
    return results


def describe_stress(stress):
    """One line per distortion of :func:`stress_test`'s result (console and report)."""
    return [f"{r['what']}: AUC {r['auc']:.3f}, sensitivity {r['sensitivity']:.3f}, "
            f"specificity {r['specificity']:.3f}" for r in stress.values()]


def summarize(y, p, threshold, args):
    if len(np.unique(y)) < 2:  # a tiny --limit run: AUC is undefined with one class
        return {"threshold": float(threshold), "n": int(len(y)), "note": "one class only"}
    return metrics.summarize(y, p, threshold=threshold, n_bootstrap=args.bootstrap, seed=args.seed)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "predict":
        return predict_command(argv[1:])
    args = parse_args(argv)
    cache_dir = args.cache or os.path.join(data.minicnn_home(), "cache")
    if cache_dir != "memory":
        os.makedirs(cache_dir, exist_ok=True)

    # 1. Find the data and prepare leak-free splits (see pneumonia_lib's docstring).
    kind, path, how = lib.resolve_data(args.data, data.minicnn_home(), args.image_size)
    print(f"Using {path} (from {how}).")
    if kind == "folder":
        args.image_size = args.image_size or 224
        prepared = lib.prepare_folder(path, args.image_size, args.color_mode, args.batch_size,
                                      args.seed, args.limit, cache_dir, args.val_fraction)
    else:
        prepared = lib.prepare_npz(path, args.image_size, args.color_mode, args.batch_size,
                                   args.seed, args.limit)
        args.image_size = prepared.train.image_size[0]
    class_weight = None if args.no_class_weights else lib.keras_class_weights(prepared.train.labels)
    lib.print_summary(prepared, class_weight)
    out = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S") + f"-{args.model}")
    os.makedirs(out, exist_ok=True)
    if args.folds:
        return cross_validate(prepared, args, out)

    # 2. Look at the data: raw samples and what augmentation does to them.
    rng = np.random.default_rng([args.seed, 3])
    figures = {}
    rows = lib.rows_per_class(prepared.train, 6, rng)
    images, labels = prepared.train.load(rows)
    figures["Training samples"] = plots.sample_grid(
        images, labels.reshape(-1), prepared.class_names, os.path.join(out, "samples.png"))
    augment = make_augmenter(args)
    previews = [np.concatenate([images[i][None], data.augmentation_preview(images[i], augment, 5,
                                                                            seed=args.seed)])
                for i in (0, len(rows) - 1)]  # one image of each class
    figures["Augmentation preview"] = plots.augmentation_preview(
        np.stack(previews), os.path.join(out, "augmentation.png"),
        row_titles=[prepared.class_names[int(labels[i, 0])] for i in (0, len(rows) - 1)],
        col_titles=["original"] + [f"augmented {k}" for k in range(1, 6)])

    # 3. Train. Ctrl-C stops training; what was learned so far is evaluated and reported.
    channels = prepared.train.num_channels
    model = build_model(args.model, (args.image_size, args.image_size, channels), args.seed,
                        args.learning_rate)
    model.summary()
    history, train_seconds = train(model, prepared.train, prepared.val, args, class_weight)
    lib.write_history_csv(os.path.join(out, "history.csv"), history)
    figures["Training curves"] = plots.training_curves(history, os.path.join(out, "curves.png"))

    # 4. Choose the threshold on VALIDATION (never on test), then save the model with it.
    y_val = np.asarray(prepared.val.labels)
    p_val = predict_probabilities(model, prepared.val, args.preprocess)
    if len(np.unique(y_val)) == 2:
        threshold = metrics.choose_threshold(y_val, p_val, args.target_sensitivity)
    else:
        threshold = 0.5
        print("warning: validation holds one class only; using threshold 0.5", file=sys.stderr)
    model.save(os.path.join(out, "model.npz"), metadata={
        "threshold": threshold, "class_names": prepared.class_names,
        "image_size": [args.image_size, args.image_size], "color_mode": args.color_mode,
        "preprocess": args.preprocess, "rescale": RESCALE, "model": args.model,
        "target_sensitivity": args.target_sensitivity})
    lib.write_csv(os.path.join(out, "split.csv"), ["file", "patient", "label", "split"],
                  prepared.rows)

    # 5. Evaluate on the official test split, once: at the chosen threshold and at 0.5.
    y_test = np.asarray(prepared.test.labels)
    p_test = predict_probabilities(model, prepared.test, args.preprocess)
    results = {
        "test": summarize(y_test, p_test, threshold, args),
        "test_at_0.5": summarize(y_test, p_test, 0.5, args),
        "val": summarize(y_val, p_val, threshold, args),
        "val_stress": stress_test(model, prepared.val, args, threshold),
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
        y_off = np.asarray(prepared.official_val.labels)
        p_off = predict_probabilities(model, prepared.official_val, args.preprocess)
        results["official_val"] = summarize(y_off, p_off, threshold, args)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(results, f, indent=2)

    # 6. Pictures of the results, and Grad-CAM for each kind of outcome.
    names = prepared.class_names
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
    grid = lib.pick_for_grid(y_test, p_test, threshold, 12, rng)
    figures["Test predictions"] = plots.prediction_grid(
        prepared.test.load(grid)[0], y_test[grid], p_test[grid], threshold, names,
        os.path.join(out, "predictions.png"))
    picked, titles = explain.pick_outcome_examples(y_test, p_test, threshold, per_group=2)
    if picked:
        raw = prepared.test.load(np.asarray(picked))[0]
        heat = explain.grad_cam(model, PREPROCESSING[args.preprocess](raw))
        figures["Grad-CAM (test: TP, FP, FN, TN)"] = plots.gradcam_grid(
            raw, heat, titles, os.path.join(out, "gradcam.png"))
    figures["Calibration (test)"] = plots.calibration_plot(
        y_test, p_test, os.path.join(out, "calibration.png"))

    # 7. The report: settings, data, results and every figure in one HTML file.
    notes = list(prepared.notes)
    notes.append(f"Threshold {threshold:.4f}: the highest with sensitivity >= "
                 f"{args.target_sensitivity} on validation; the test set chose nothing.")
    stress_lines = describe_stress(results["val_stress"])
    if stress_lines:
        notes.append("Stress test (validation again with every film squeezed, stretched, "
                     "blurred or sharpened; a model that reads the lungs barely moves): "
                     + "; ".join(stress_lines))
    if history.interrupted:
        notes.insert(0, f"Training was interrupted (Ctrl-C) after {len(history.epoch)} complete "
                        "epoch(s): these results are for a partly trained model.")
    write_report(os.path.join(out, "report.html"), settings=vars(args),
                 data_summary=prepared.summary, metrics=results, figures=figures, notes=notes,
                 title=f"Pneumonia from chest X-rays: {args.model}")
    for line in stress_lines:
        print(f"Validation, {line}")
    t = results["test"]
    print(f"\nTest at threshold {threshold:.3f}: AUC {t.get('auc', float('nan')):.3f}, "
          f"sensitivity {t.get('recall', float('nan')):.3f}, specificity "
          f"{t.get('specificity', float('nan')):.3f}, accuracy {t.get('accuracy', float('nan')):.3f}"
          f"; trained {train_seconds:.0f} s.\nWrote {out}/ (report.html, metrics.json, model.npz, ...)")
    return 0


def cross_validate(prepared, args, out):
    """K models on K patient-grouped folds of train/ (+ the carved validation): validation AUC."""
    if prepared.trainval is None:
        raise lib.DataError("--folds needs the Kaggle folder layout (patients from file names)")
    pool, groups = prepared.trainval, prepared.groups_train
    folds = data.stratified_group_kfold(pool.labels, groups, k=args.folds, seed=args.seed)
    rows, figures = [], {}
    for k, (train_idx, val_idx) in enumerate(folds):
        print(f"\nFold {k + 1}/{args.folds}: {len(train_idx)} training, {len(val_idx)} validation images")
        train_ds, val_ds = pool.subset(train_idx), pool.subset(val_idx)
        weights = None if args.no_class_weights else lib.keras_class_weights(train_ds.labels)
        model = build_model(args.model, (args.image_size, args.image_size, pool.num_channels),
                            args.seed + k, args.learning_rate)
        history, seconds = train(model, train_ds, val_ds, args, weights)
        p_val = predict_probabilities(model, val_ds, args.preprocess)
        auc = metrics.roc_auc(np.asarray(val_ds.labels), p_val)
        best = None if history.best_epoch is None else history.best_epoch + 1
        rows.append([k + 1, len(train_idx), len(val_idx), best, round(auc, 4),
                     round(seconds, 1)])
        figures[f"Fold {k + 1} training curves"] = plots.training_curves(
            history, os.path.join(out, f"curves_fold{k + 1}.png"))
        if history.interrupted:
            break
    aucs = np.array([r[4] for r in rows])
    cv = {"folds": args.folds, "folds_done": len(rows), "val_auc": aucs.tolist(),
          "val_auc_mean": float(aucs.mean()), "val_auc_std": float(aucs.std(ddof=1)) if len(aucs) > 1 else None}
    lib.write_csv(os.path.join(out, "folds.csv"),
                  ["fold", "n_train", "n_val", "best_epoch", "val_auc", "train_seconds"], rows)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"cv": cv, "epochs": args.epochs, "image_size": args.image_size}, f, indent=2)
    write_report(os.path.join(out, "report.html"), settings=vars(args),
                 data_summary=prepared.summary, metrics={"cross-validation": cv}, figures=figures,
                 notes=prepared.notes + ["Cross-validation on train/ only; test/ was not used."],
                 title=f"Pneumonia: {args.folds}-fold cross-validation, {args.model}")
    print(f"\nValidation AUC over {len(rows)} folds: {cv['val_auc_mean']:.3f}"
          + (f" +- {cv['val_auc_std']:.3f} (sd)" if cv["val_auc_std"] is not None else "")
          + f"\nWrote {out}/")
    return 0


def predict_command(argv):
    """``predict IMAGE... --model model.npz``: probability, label and a Grad-CAM PNG per image."""
    p = argparse.ArgumentParser(prog="pneumonia.py predict",
                                description="Classify chest X-ray images with a saved model.")
    p.add_argument("images", nargs="+", help="image files (JPEG, PNG, ...)")
    p.add_argument("--model", required=True, help="model.npz written by a training run")
    p.add_argument("--out", help="folder for the Grad-CAM PNGs (default: the model's folder)")
    args = p.parse_args(argv)
    try:
        model = Sequential.load(args.model)
    except (FileNotFoundError, ValueError) as error:
        raise lib.DataError(str(error)) from None
    meta = model.metadata
    threshold, names = float(meta.get("threshold", 0.5)), meta.get("class_names", ["0", "1"])
    size, mode = tuple(meta.get("image_size", model.input_shape[:2])), meta.get("color_mode", "rgb")
    # Read every image first: a missing or broken file stops us before any work, named.
    raw, problems = [], []
    for path in args.images:
        try:
            raw.append(data.decode_image(path, size, mode).astype(np.float32))
        except (data.UnreadableImageError, OSError) as error:
            problems.append(f"  {path}: {error}")
    if problems:
        raise lib.DataError("cannot read these image(s):\n" + "\n".join(problems))
    # Models saved before "preprocess" existed were trained on x * rescale.
    preprocess = meta.get("preprocess", "rescale")
    if preprocess not in PREPROCESSING:
        raise lib.DataError(f"{args.model} asks for preprocessing {preprocess!r}; this script "
                            f"knows {sorted(PREPROCESSING)}")
    x = np.stack(raw)
    x = (x * np.float32(meta.get("rescale", RESCALE)) if preprocess == "rescale"
         else PREPROCESSING[preprocess](x))
    probabilities = model.predict(x).reshape(-1)
    heat = explain.grad_cam(model, x)
    out = args.out or os.path.dirname(os.path.abspath(args.model))
    os.makedirs(out, exist_ok=True)
    for path, image, prob, hm in zip(args.images, raw, probabilities, heat):
        label = names[int(prob >= threshold)]
        png = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + "_gradcam.png")
        plots.gradcam_grid(image[None], hm[None], [f"{label}  p={prob:.3f}"], png,
                           title=os.path.basename(path))
        print(f"{path}: P({names[1]}) = {prob:.3f} -> {label} (threshold {threshold:.3f}); "
              f"Grad-CAM: {png}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except lib.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # a second Ctrl-C (the first one only stops training)
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
