"""Pneumonia from pediatric chest X-rays, end to end, with minicnn.

This rebuilds a well-known TensorFlow/Keras project (three conv blocks on the Kaggle
"Chest X-Ray Images (Pneumonia)" set) and goes past it where a clinician would ask:

* the validation set is carved out of ``train/`` BY PATIENT (no child on both sides), the
  official 16-image ``val/`` is not used to choose anything, and the official ``test/`` is
  touched once, at the end;
* the decision threshold is chosen on validation for a target sensitivity (a screen
  should not miss pneumonia), and the test results are given at that threshold and at
  0.5, with bootstrap 95% intervals;
* the films' shape is taken away as a clue: the pneumonia originals are wider than the
  normal ones, so after the square resize a film's proportions alone hint at the class, a
  shortcut that fails on new films. Training squeezes and stretches every film sideways at
  random (``--zoom-width``), and a stress test scores validation again with the films
  squeezed and stretched (and blurred and sharpened: the pneumonia originals are also the
  more compressed files);
* each image is standardized to mean 0 and std 1 (``--preprocess``), so exposure and
  contrast of the machine are not clues either;
* Grad-CAM shows where the model looked, for true and false positives and negatives;
* everything lands in one folder with a self-contained HTML report.

Run it::

    python examples/pneumonia.py                          # train, evaluate, report (16 epochs, 96x96;
                                                          # the 28x28 demo without data, see Data)
    python examples/pneumonia.py --recipe original        # the seed project's pipeline, for comparison
    python examples/pneumonia.py --limit 200 --epochs 1 --image-size 64   # a quick look
    python examples/pneumonia.py --task 3class            # NORMAL, BACTERIA or VIRUS (argmax)
    python examples/pneumonia.py cv --folds 5             # patient-grouped 5-fold CV on train/
    python examples/pneumonia.py predict a.jpeg b.jpeg --model runs/<name>/model.npz

Data: ``--data DIR`` (``{train,val,test}/{NORMAL,PNEUMONIA}``), a MedMNIST ``.npz`` or
``medmnist:SIZE`` (PneumoniaMNIST, downloaded once); else ``$MINICNN_DATA``; else
``./data/chest_xray``; else the 28x28 set embedded in minicnn, with the demo's settings
(``--recipe demo``): the whole story in a couple of minutes, nothing downloaded.
``python examples/pneumonia.py --help`` lists the commands, ``train --help`` every option.
The steps below each call into ``chest_xray/`` beside this file, one module per part.
"""

import os
import sys

import numpy as np

from chest_xray import (classes, cv, data, evaluation, models, multiclass, options, pictures,
                        predict, training)
from chest_xray.data import DataError
from chest_xray.outputs import prepare_run_folder, write_history_csv
from minicnn import plots


def train_evaluate_explain(args):
    # 1. Find the data and split it by patient: no child on two sides (chest_xray/data.py).
    prepared = data.find_and_split(args)
    k = classes.num_classes(args.task)  # 2: NORMAL, PNEUMONIA; 3: NORMAL, BACTERIA, VIRUS
    class_weight = None if args.no_class_weights else data.keras_class_weights(
        prepared.train.labels, k)
    data.print_summary(prepared, class_weight)
    out = prepare_run_folder(args)  # --out; with --overwrite, the old run's files removed
    if args.folds:  # the `cv` command: K models on train/, none scored on test/
        return cv.cross_validate(prepared, args, out)
    rng = np.random.default_rng([args.seed, 3])  # which images the pictures show (steps 2, 6)

    # 2. Look at the data: raw samples and what augmentation does to them.
    figures = pictures.look_at_data(prepared, args, out, rng)

    # 3. Train. Ctrl-C or a NaN loss stops training; what was learned so far is evaluated
    # and reported.
    input_shape = (args.image_size, args.image_size, prepared.train.num_channels)
    model = models.build(args.model, input_shape, args.seed, args.learning_rate,
                         args.weight_decay, num_classes=k)
    model.summary()
    history, train_seconds = training.train(model, prepared.train, prepared.val, args, class_weight)
    if history.stopped:
        prepared.notes.insert(0, history.stopped + " The results are those of the model "
                              "before that step.")
    write_history_csv(os.path.join(out, "history.csv"), history)
    figures["Training curves"] = plots.training_curves(history, os.path.join(out, "curves.png"))
    if args.task == "3class":
        return three_classes(model, prepared, args, out, figures, history, train_seconds,
                             class_weight)

    # 4. Choose the threshold on VALIDATION (never on test), then save the model with it.
    val = evaluation.score(model, prepared.val, args)
    if history.stopped and not np.isfinite(val.p).all():  # the weights overflowed before it
        sys.exit(f"error: the model trained so far gives NaN on validation: nothing to "
                 f"evaluate or report (history.csv and curves.png are in {out}/).")
    threshold = evaluation.choose_threshold(val, args.target_sensitivity, args.threshold)
    evaluation.save(model, out, prepared, args, threshold)

    # 5. Evaluate on the official test split, once: at the chosen threshold and at 0.5.
    test = evaluation.score(model, prepared.test, args)
    results = evaluation.evaluate(model, prepared, args, threshold, val, test, history,
                                  train_seconds, class_weight)
    evaluation.write_metrics(results, out)

    # 6. Explain: the results in pictures, and Grad-CAM for each kind of outcome.
    figures.update(pictures.explain(model, prepared, test, threshold, results, args, out, rng))

    # 7. Report: settings, data, results and every figure in one HTML file; the summary.
    evaluation.report(out, args, prepared, results, figures, threshold, history, train_seconds)
    if prepared.kind == data.EMBEDDED:
        print(data.demo_reminder())
    return 1 if history.stopped else 0


def three_classes(model, prepared, args, out, figures, history, train_seconds, class_weight):
    """Steps 4 to 7 for NORMAL, BACTERIA, VIRUS (chest_xray/multiclass.py): the same order,
    but each film is called its most likely class, so validation chooses no threshold."""
    # 4. Score validation, then save the model (its metadata says "3class" and "argmax").
    val = multiclass.score(model, prepared.val, args)
    if history.stopped and not np.isfinite(val.p).all():
        sys.exit(f"error: the model trained so far gives NaN on validation: nothing to "
                 f"evaluate or report (history.csv and curves.png are in {out}/).")
    multiclass.save(model, out, prepared, args)

    # 5. Evaluate on the official test split, once: per class, and the two clinical questions
    # (pneumonia vs normal; bacterial vs viral among the pneumonia films).
    test = multiclass.score(model, prepared.test, args)
    results = multiclass.evaluate(model, prepared, args, val, test, history, train_seconds,
                                  class_weight, out)
    evaluation.write_metrics(results, out)

    # 6. Explain: the confusion matrix, one-vs-rest ROC, Grad-CAM of the class each film was called.
    figures.update(multiclass.explain(model, prepared, test, results, args, out))

    # 7. Report: report.html, metrics.json completed, the results on the console.
    multiclass.report(out, args, prepared, results, figures, history, train_seconds)
    if prepared.kind == data.EMBEDDED:
        print(data.demo_reminder())
    return 1 if history.stopped else 0


def main(argv=None):
    command, args = options.parse(sys.argv[1:] if argv is None else argv)
    if command == "predict":
        return predict.run(args)
    return train_evaluate_explain(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # a second Ctrl-C (the first one only stops training)
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
