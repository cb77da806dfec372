"""``cv``: patient-grouped, stratified K-fold cross-validation on train/ (no model ever sees test/).

The pool is train/ after step 1 (duplicates merged, children shared with test/ dropped),
the carved validation included; ``minicnn.data.stratified_group_kfold`` puts each patient
whole into one fold. Fold k trains a fresh model (seed + k) on the other folds and scores
its own: the spread of the K validation AUCs says how much one split's figure can be trusted.
With ``--task 3class`` each fold's figure is the macro one-vs-rest AUC (the one that chooses
the epoch kept, ``training.py``).
"""

import os

import numpy as np

from minicnn import data as mdata, metrics, plots
from minicnn.report import write_report

from . import classes, models
from .data import DataError, keras_class_weights
from .outputs import write_csv, write_json
from .training import predict_probabilities, train


def cross_validate(prepared, args, out):
    """K models on K patient-grouped folds of train/ (+ the carved validation): validation AUC."""
    if prepared.trainval is None:
        raise DataError("--folds needs the Kaggle folder layout (patients from file names)")
    pool, groups = prepared.trainval, prepared.groups_train
    folds = mdata.stratified_group_kfold(pool.labels, groups, k=args.folds, seed=args.seed)
    n_classes = classes.num_classes(args.task)
    auc_of = metrics.roc_auc if n_classes == 2 else metrics.macro_roc_auc
    rows, figures = [], {}
    for k, (train_idx, val_idx) in enumerate(folds):
        print(f"\nFold {k + 1}/{args.folds}: {len(train_idx)} training, {len(val_idx)} validation images")
        train_ds, val_ds = pool.subset(train_idx), pool.subset(val_idx)
        weights = None if args.no_class_weights else keras_class_weights(train_ds.labels,
                                                                         n_classes)
        model = models.build(args.model, (args.image_size, args.image_size, pool.num_channels),
                             args.seed + k, args.learning_rate, args.weight_decay, n_classes)
        history, seconds = train(model, train_ds, val_ds, args, weights)
        p_val = predict_probabilities(model, val_ds, args)
        auc = auc_of(np.asarray(val_ds.labels), p_val)
        best = None if history.best_epoch is None else history.best_epoch + 1
        rows.append([k + 1, len(train_idx), len(val_idx), best, round(auc, 4),
                     round(seconds, 1)])
        figures[f"Fold {k + 1} training curves"] = plots.training_curves(
            history, os.path.join(out, f"curves_fold{k + 1}.png"))
        if history.interrupted:
            break
    aucs = np.array([r[4] for r in rows])
    cv = {"folds": args.folds, "folds_done": len(rows), "task": args.task,
          "val_auc_means": "macro one-vs-rest AUC" if n_classes > 2 else "AUC",
          "val_auc": aucs.tolist(),
          "val_auc_mean": float(aucs.mean()),
          "val_auc_std": float(aucs.std(ddof=1)) if len(aucs) > 1 else None}
    write_csv(os.path.join(out, "folds.csv"),
              ["fold", "n_train", "n_val", "best_epoch", "val_auc", "train_seconds"], rows)
    write_json(os.path.join(out, "metrics.json"),
               {"cv": cv, "epochs": args.epochs, "image_size": args.image_size})
    write_report(os.path.join(out, "report.html"), settings=vars(args),
                 data_summary=prepared.summary, metrics={"cross-validation": cv}, figures=figures,
                 notes=prepared.notes + ["Cross-validation on train/ only; test/ was not used."],
                 title=f"Pneumonia: {args.folds}-fold cross-validation, {args.model}")
    print(f"\nValidation {cv['val_auc_means']} over {len(rows)} folds: {cv['val_auc_mean']:.3f}"
          + (f" +- {cv['val_auc_std']:.3f} (sd)" if cv["val_auc_std"] is not None else "")
          + f"\nWrote {out}/")
    return 0
