"""The command line: ``train`` (the default), ``cv`` and ``predict``, every default shown in ``--help``.

``pneumonia.py --epochs 1`` is ``pneumonia.py train --epochs 1``, and ``train --folds K``
is ``cv --folds K`` (the spelling from before the commands existed).
"""

import argparse
import math
import os

from . import data
from .classes import TASKS
from .models import MODELS
from .outputs import RUN_FILES
from .training import PREPROCESSING

COMMANDS = ("train", "cv", "predict")
#: ``--target-sensitivity``'s default, for ``--task binary`` (3 classes have no threshold).
TARGET_SENSITIVITY = 0.95

#: ``--recipe original``: the seed project's pipeline as it was, beside ours on the same split.
#: RGB 224x224, Keras's RandomRotation / RandomZoom / RandomContrast at 0.1 with Keras's default
#: fill (reflect), pixels rescaled to [0, 1], the baseline CNN with Keras's initialisers, Adam
#: 1e-3 constant for 3 epochs, no class weights, the last epoch's weights, threshold 0.5.
#: Options given on the command line still override it. The default recipe (the options'
#: own defaults) was chosen on validation: docs/experiments.md, "A 15-minute budget".
RECIPES = {
    "default": {},
    "original": {
        "model": "baseline", "image_size": 224, "color_mode": "rgb", "epochs": 3,
        "learning_rate": 1e-3, "lr_schedule": "constant", "warmup_epochs": 0, "weight_decay": 0.0,
        "preprocess": "rescale", "rotation": 0.1, "zoom": 0.1, "zoom_width": 0.0,
        "crop_scale": 0.0, "translate": 0.0, "contrast": 0.1, "brightness": 0.0, "sharpness": 0.0,
        "fill_mode": "reflect", "no_class_weights": True, "keep": "last", "threshold": 0.5,
        "tta": False,
    },
    #: ``--recipe demo``: settings for the embedded 28x28 set, applied by itself when the data
    #: falls back to that set (or ``--data embedded``) and no recipe was chosen; chosen on
    #: the validation split carved from its train/ (never on test/): at 28 px a film is a
    #: thumbnail, and the small "same"-padded CNN without rotation or zoom validated best
    #: (the stress test shows what the missing width zoom costs).
    "demo": {
        "model": "small", "image_size": 28, "color_mode": "grayscale", "epochs": 8,
        "batch_size": 64, "learning_rate": 2e-3, "rotation": 0.0, "zoom": 0.0, "zoom_width": 0.0,
        "crop_scale": 0.0, "translate": 0.0, "contrast": 0.1, "sharpness": 0.0,
        "tta": False,   # the demo's settings were chosen without test-time augmentation
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
    p.add_argument("--task", default="binary", choices=TASKS,
                   help="binary: NORMAL or PNEUMONIA; 3class: NORMAL, BACTERIA or VIRUS (the kind "
                   "of pneumonia read from the Kaggle file names; the class of highest "
                   "probability is the call, so --threshold and --target-sensitivity do not "
                   "apply; see docs/three_classes.md)")
    p.add_argument("--data", help="Kaggle chest_xray folder, a MedMNIST .npz file, "
                   "'medmnist:SIZE' (PneumoniaMNIST at 28, 64, 128 or 224 px, downloaded once), "
                   "or 'embedded' (default: $MINICNN_DATA, else ./data/chest_xray, else the "
                   "embedded 28x28 demo set with --recipe demo)")
    p.add_argument("--model", default="batchnorm", choices=sorted(MODELS),
                   help="batchnorm: BN + global pooling; baseline: the original CNN; small: "
                   "a small CNN for 28 px (the demo)")
    p.add_argument("--epochs", type=int, default=16, help="passes over the training images")
    p.add_argument("--image-size", type=int, default=None,
                   help="square size in pixels (default 96 for a folder; a .npz keeps its own size)")
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
    p.add_argument("--target-sensitivity", type=float, default=None,
                   help="the threshold is the highest that reaches this sensitivity on "
                   f"validation (default {TARGET_SENSITIVITY}; --task binary only)")
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
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=True,
                   help="test-time augmentation: average P(PNEUMONIA) over each film and three "
                   "fixed views (magnified, stretched, squeezed by 10%%)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for intervals")
    p.add_argument("--seed", type=int, default=0, help="one seed for weights, split, shuffling, "
                   "augmentation")
    p.add_argument("--limit", type=int, default=None, help="at most N images per split (quick look)")
    p.add_argument("--folds", type=int, default=folds_default, help=folds_help)
    p.add_argument("--out", help="output folder (default runs/<time>-<model>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (without it such an --out is refused)")
    p.add_argument("--compare", help="another run's folder (its metrics.json) shown beside this "
                   "one in the report, e.g. a --recipe original run; with --task 3class, another "
                   "3-class run or a binary run (pneumonia or not, side by side) (default: a "
                   "sub-folder of --out that holds a run of the same task)")
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
    target = args.target_sensitivity
    if not 0 < args.val_fraction < 1 or (target is not None and not 0 < target <= 1):
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
    if args.task == "3class" and (args.threshold is not None
                                  or args.target_sensitivity is not None):
        p.error("--threshold and --target-sensitivity apply to --task binary only: with "
                "--task 3class the call is the class of highest probability (argmax); drop them")
    if args.target_sensitivity is None and args.task == "binary":
        args.target_sensitivity = TARGET_SENSITIVITY


#: The largest ``--image-size``: the baseline's dense layer grows with the square of the size
#: (at 512 px it already holds 250 million weights, 1 GB).
MAX_IMAGE_SIZE = 512


def _writable_folder_problem(path):
    """Why ``path`` cannot be (or become) a folder we write into; None when it can."""
    if os.path.exists(path) and not os.path.isdir(path):
        return "is a file, not a folder"
    existing = os.path.abspath(path)
    while not os.path.exists(existing):  # the nearest part of the path that exists
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"cannot be created: {existing!r} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"is not writable ({existing!r} is read-only)"
    return None


def _check_numbers(p, args):
    """Every numeric option in range, before any work: ``p.error`` (exit 2) names the option."""
    floats = ("learning_rate", "weight_decay", "val_fraction", "target_sensitivity", "rotation",
              "zoom", "zoom_width", "crop_scale", "translate", "contrast", "brightness",
              "sharpness", "threshold")
    for name in floats:
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            p.error(f"--{name.replace('_', '-')} must be a finite number; got {value}")
    if args.learning_rate <= 0:
        p.error(f"--learning-rate must be > 0; got {args.learning_rate}")
    for name in ("rotation", "zoom", "zoom_width", "contrast"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0 (0 turns it off); "
                    f"got {getattr(args, name)}")
    if args.zoom >= 1 or args.zoom_width >= 1 or args.contrast >= 1:
        p.error("--zoom, --zoom-width and --contrast must be below 1 (a factor of 1 can zoom "
                "a film to nothing or flatten it to one grey)")
    if args.bootstrap < 0 or args.seed < 0:
        p.error(f"--bootstrap must be >= 0 (0: no intervals) and --seed >= 0; got "
                f"{args.bootstrap} and {args.seed}")
    size = args.image_size
    if size is not None and not 1 <= size <= MAX_IMAGE_SIZE:
        p.error(f"--image-size must be in [1, {MAX_IMAGE_SIZE}] pixels; got {size}")
    if size is not None:
        try:  # the smallest size each model takes follows from its layers: ask them
            MODELS[args.model](input_shape=(size, size, 1), seed=0)
        except ValueError as error:
            p.error(f"--image-size {size} is too small for --model {args.model} ({error})")
    for flag, folder in (("--out", args.out), ("--cache", args.cache)):
        problem = None if folder in (None, "memory") else _writable_folder_problem(folder)
        if problem:
            p.error(f"{flag} {folder!r} {problem}")
    if args.out and os.path.isdir(args.out) and not args.overwrite:
        there = [name for name in RUN_FILES if os.path.exists(os.path.join(args.out, name))]
        if there:
            p.error(f"--out {args.out!r} holds another run ({', '.join(there)}); give "
                    f"--overwrite to replace it, or another --out")


def parse(argv):
    """``(command, args)`` for the words after ``pneumonia.py``; ``train --folds K`` becomes ``cv``.

    ``args`` holds the options only (its ``vars`` are the report's settings).
    """
    argv = list(argv)
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv.insert(0, "train")
    top, subparsers = parser()
    args = top.parse_args(argv)
    recipe = None if argv[0] == "predict" else args.recipe
    if recipe == "default" and data.uses_embedded(args.data):
        recipe = "demo"  # the embedded 28x28 set: the demo's settings, unless given
    if recipe and RECIPES[recipe]:
        # A recipe is a set of defaults: parse again with them, so options given still win.
        # The original recipe's threshold of 0.5 is a binary rule: 3 classes take the argmax.
        defaults = {k: v for k, v in RECIPES[recipe].items()
                    if not (k == "threshold" and args.task == "3class")}
        subparsers[argv[0]].set_defaults(**defaults)
        args = top.parse_args(argv)
        args.recipe = recipe
    command = args.command
    del args.command
    if command != "predict":
        _check(subparsers[command], args)
        _check_numbers(subparsers[command], args)
        if args.folds:
            command = "cv"
    return command, args
