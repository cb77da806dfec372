"""The command line: ``train`` (the default), ``cv`` and ``predict``, every default shown in ``--help``.

``pneumonia.py --epochs 1`` is ``pneumonia.py train --epochs 1``, and ``train --folds K``
is ``cv --folds K`` (the spelling from before the commands existed).
"""

import argparse

from .models import MODELS
from .training import PREPROCESSING

COMMANDS = ("train", "cv", "predict")

#: ``--recipe original``: the seed project's pipeline as it was, beside ours on the same split.
#: RGB 224x224, Keras's RandomRotation / RandomZoom / RandomContrast at 0.1 with Keras's default
#: fill (reflect), pixels rescaled to [0, 1], the baseline CNN with Keras's initialisers, Adam
#: 1e-3 constant for 3 epochs, no class weights, the last epoch's weights, threshold 0.5.
#: Options given on the command line still override it.
RECIPES = {
    "default": {},
    "original": {
        "model": "baseline", "image_size": 224, "color_mode": "rgb", "epochs": 3,
        "learning_rate": 1e-3, "lr_schedule": "constant", "warmup_epochs": 0, "weight_decay": 0.0,
        "preprocess": "rescale", "rotation": 0.1, "zoom": 0.1, "zoom_width": 0.0,
        "crop_scale": 0.0, "translate": 0.0, "contrast": 0.1, "brightness": 0.0, "sharpness": 0.0,
        "fill_mode": "reflect", "no_class_weights": True, "keep": "last", "threshold": 0.5,
    },
}


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Keras-style help: each option's default after its text, unless the default is None."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _training_options(p, folds_default, folds_help):
    """The options ``train`` and ``cv`` share (plus ``--folds``)."""
    p.add_argument("--recipe", default="default", choices=sorted(RECIPES),
                   help="default: this example's recipe; original: the seed project's pipeline "
                   "(RGB 224 px, 3 epochs, [0, 1], no class weights, threshold 0.5); other options "
                   "given override the recipe's values")
    p.add_argument("--data", help="Kaggle chest_xray folder or a MedMNIST .npz file (default: "
                   "$MINICNN_DATA, else ./data/chest_xray, else PneumoniaMNIST is downloaded)")
    p.add_argument("--model", default="baseline", choices=sorted(MODELS),
                   help="baseline: the original CNN; batchnorm: BN + global pooling")
    p.add_argument("--epochs", type=int, default=3, help="passes over the training images")
    p.add_argument("--image-size", type=int, default=None,
                   help="square size in pixels (default 224; a .npz keeps its own size)")
    p.add_argument("--color-mode", default="grayscale", choices=["grayscale", "rgb"],
                   help="the X-rays have 3 equal channels: grayscale loses nothing")
    p.add_argument("--batch-size", type=int, default=32, help="images per training step")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's (first) step size")
    p.add_argument("--lr-schedule", default="cosine", choices=["cosine", "constant"],
                   help="cosine: epoch e of E at lr * (1 + cos(pi e / E)) / 2; "
                   "constant: lr throughout, as the original")
    p.add_argument("--warmup-epochs", type=int, default=0,
                   help="epochs of linear learning-rate warm-up before the schedule")
    p.add_argument("--weight-decay", type=float, default=0.0, help="Adam's decoupled weight decay")
    p.add_argument("--keep", default="best", choices=["best", "last"],
                   help="best: the epoch with the best validation AUC; last: the final weights")
    p.add_argument("--no-class-weights", action="store_true",
                   help="do not weight the loss by n / (2 n_class)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of train/ (by patient) used for validation")
    p.add_argument("--target-sensitivity", type=float, default=0.95,
                   help="the threshold is the highest that reaches this sensitivity on validation")
    p.add_argument("--threshold", type=float, default=None,
                   help="a fixed decision threshold instead (the original project used 0.5)")
    p.add_argument("--preprocess", default="standardize", choices=sorted(PREPROCESSING),
                   help="standardize: each image to mean 0, std 1; rescale: to [0, 1]")
    p.add_argument("--rotation", type=float, default=0.05, help="RandomRotation factor (turns)")
    p.add_argument("--zoom", type=float, default=0.2,
                   help="RandomZoom height_factor (also the width's when --zoom-width is 0)")
    p.add_argument("--zoom-width", type=float, default=0.35,
                   help="RandomZoom width_factor, drawn apart from the height: changes the "
                   "aspect ratio, which in this dataset tells the class (see docs/experiments.md); "
                   "0 keeps the aspect ratio")
    p.add_argument("--fill-mode", default="constant",
                   choices=["constant", "reflect", "nearest", "wrap"],
                   help="what fills the border a rotation or zoom-out uncovers (constant: black)")
    p.add_argument("--crop-scale", type=float, default=0.0,
                   help="RandomResizedCrop: each film cropped to a random box of this to 1 times "
                   "its area (aspect ratio 3/4 to 4/3) and resized back; 0 turns it off")
    p.add_argument("--translate", type=float, default=0.0,
                   help="RandomTranslation factor: shifts of up to this fraction of the size")
    p.add_argument("--contrast", type=float, default=0.1, help="RandomContrast factor")
    p.add_argument("--brightness", type=float, default=0.0,
                   help="RandomBrightness factor (a fraction of the pixel range; a per-image "
                   "standardization after it undoes it, so use it with --preprocess rescale)")
    p.add_argument("--sharpness", type=float, default=0.0,
                   help="RandomSharpness factor: each film blurred or sharpened by an amount in "
                   "[1 - f, 1 + f] (0 blurred, 1 unchanged, 2 sharpened); softness tells the "
                   "class in this dataset (see docs/experiments.md); 0 turns it off")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals")
    p.add_argument("--seed", type=int, default=0, help="one seed for weights, split, shuffling, "
                   "augmentation")
    p.add_argument("--limit", type=int, default=None, help="at most N images per split (quick look)")
    p.add_argument("--folds", type=int, default=folds_default, help=folds_help)
    p.add_argument("--out", help="output folder (default runs/<time>-<model>)")
    p.add_argument("--compare", help="another run's folder (its metrics.json) shown beside this "
                   "one in the report, e.g. a --recipe original run (default: a sub-folder of "
                   "--out that holds a run)")
    p.add_argument("--cache", default=None,
                   help="folder of the decoded-image cache (default $MINICNN_HOME/cache; "
                   "'memory' for none on disk)")


def parser():
    """The ``argparse`` parser of ``pneumonia.py``, and its sub-parsers by command."""
    top = argparse.ArgumentParser(
        prog="pneumonia.py", formatter_class=_Formatter,
        description="Train, evaluate and explain a pneumonia classifier on chest X-rays "
                    "(see the module docstring).",
        epilog="Without a command, train: 'pneumonia.py --epochs 1' is 'pneumonia.py train "
               "--epochs 1'. 'pneumonia.py COMMAND --help' lists a command's options.")
    commands = top.add_subparsers(dest="command", metavar="{train,cv,predict}")
    train = commands.add_parser(
        "train", formatter_class=_Formatter, help="train, evaluate once on test/, explain, report "
        "(the default)", description="Train on train/, choose the threshold on validation, "
        "evaluate once on test/, explain with Grad-CAM, and write the report.")
    _training_options(train, None, "K: patient-grouped stratified K-fold cross-validation on "
                      "train/ instead (the same as 'cv --folds K'; no test)")
    cv = commands.add_parser(
        "cv", formatter_class=_Formatter, help="patient-grouped K-fold cross-validation on train/",
        description="Patient-grouped stratified K-fold cross-validation on train/ (no model "
        "is scored on test/): one model per fold, validation AUC of each.")
    _training_options(cv, 5, "K, the number of folds")
    predict = commands.add_parser(
        "predict", formatter_class=_Formatter, help="classify X-ray images with a saved model",
        description="Classify chest X-ray images with a saved model.")
    predict.add_argument("images", nargs="+", help="image files (JPEG, PNG, ...)")
    predict.add_argument("--model", required=True, help="model.npz written by a training run")
    predict.add_argument("--out", help="folder for the Grad-CAM PNGs (default: the model's folder)")
    return top, {"train": train, "cv": cv, "predict": predict}


def _check(p, args):
    """The ranges argparse cannot express; ``p.error`` exits with code 2 and the usage."""
    if args.epochs < 0 or args.batch_size < 1 or (args.limit is not None and args.limit < 4):
        p.error("--epochs must be >= 0, --batch-size >= 1, --limit >= 4")
    if not 0 < args.val_fraction < 1 or not 0 < args.target_sensitivity <= 1:
        p.error("--val-fraction must be in (0, 1) and --target-sensitivity in (0, 1]")
    if args.folds is not None and args.folds < 2:
        p.error("--folds must be >= 2")
    if not 0 <= args.sharpness <= 1:
        p.error("--sharpness must be in [0, 1] (amounts below 0 would invert the detail)")
    if not (args.crop_scale == 0 or 0 < args.crop_scale <= 1) or not 0 <= args.translate <= 1:
        p.error("--crop-scale must be 0 (off) or in (0, 1], --translate in [0, 1]")
    if not 0 <= args.brightness <= 1 or args.weight_decay < 0:
        p.error("--brightness must be in [0, 1] and --weight-decay >= 0")
    if args.warmup_epochs < 0 or (args.epochs and args.warmup_epochs >= args.epochs):
        p.error("--warmup-epochs must be >= 0 and smaller than --epochs")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        p.error("--threshold must be in [0, 1]")


def parse(argv):
    """``(command, args)`` for the words after ``pneumonia.py``; ``train --folds K`` becomes ``cv``.

    ``args`` holds the options only (its ``vars`` are the report's settings).
    """
    argv = list(argv)
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv.insert(0, "train")
    top, subparsers = parser()
    args = top.parse_args(argv)
    if argv[0] != "predict" and RECIPES[args.recipe]:
        # A recipe is a set of defaults: parse again with them, so options given still win.
        subparsers[argv[0]].set_defaults(**RECIPES[args.recipe])
        args = top.parse_args(argv)
    command = args.command
    del args.command
    if command != "predict":
        _check(subparsers[command], args)
        if args.folds:
            command = "cv"
    return command, args
