"""``predict IMAGE... --model model.npz``: probability, label and a Grad-CAM PNG per image.

Everything needed is in the saved model's metadata (the task, threshold, class names, image
size, colour mode, preprocessing), so a film is decoded and prepared exactly as in training; the
metadata is checked first (``minicnn.saving.check_metadata``), and a model whose outputs
are not finite numbers is refused, never read as "P = nan -> NORMAL".
Every image is read before any work: a missing or broken file stops the command, named.
Two images with the same file name in different folders get different Grad-CAM files.

A ``--task 3class`` model (metadata ``task`` "3class", three outputs) prints each film's
class of highest probability and the three probabilities; its Grad-CAM explains that class.
A model saved before ``task`` existed is a binary one.
"""

import math
import os

import numpy as np

from minicnn import data, explain, plots
from minicnn.model import Sequential
from minicnn.saving import check_metadata
from minicnn.tta import predict_averaged

from .classes import CLASS_NAMES, TASKS
from .data import DataError
from .training import PREPROCESSING, RESCALE, tta_views


def gradcam_names(paths):
    """A distinct ``<stem>_gradcam.png`` for each path (``a/x.jpeg``, ``b/x.jpeg`` -> ``x``, ``x-2``)."""
    names, used = [], set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        name, k = f"{stem}_gradcam.png", 1
        while name in used:
            k += 1
            name = f"{stem}-{k}_gradcam.png"
        used.add(name)
        names.append(name)
    return names


def prediction_settings(model, path):
    """The checked metadata of ``model`` (loaded from ``path``), plus preprocess and rescale."""
    meta = model.metadata
    try:
        settings = check_metadata(model, path)
    except ValueError as error:
        raise DataError(str(error)) from None
    # Models saved before "preprocess" existed were trained on x * rescale.
    settings["preprocess"] = preprocess = meta.get("preprocess", "rescale")
    if preprocess not in PREPROCESSING:
        raise DataError(f"{path} asks for preprocessing {preprocess!r}; this script "
                        f"knows {sorted(PREPROCESSING)}")
    rescale = meta.get("rescale", RESCALE)
    if (isinstance(rescale, bool) or not isinstance(rescale, (int, float))
            or not math.isfinite(rescale) or rescale <= 0):
        raise DataError(f"the metadata of {path!r}: 'rescale' must be a positive number; "
                        f"got {rescale!r}")
    settings["rescale"] = float(rescale)
    settings["task"] = task = meta.get("task", "binary")
    units = model.output_shape[-1]
    if task not in TASKS:
        raise DataError(f"the metadata of {path!r}: 'task' must be one of {list(TASKS)}; got "
                        f"{task!r}")
    if (units == 1) != (task == "binary") or (task == "3class" and units != 3):
        raise DataError(f"the metadata of {path!r} says task {task!r} but the model has {units} "
                        f"output(s) ({'1' if task == 'binary' else '3'} expected): the file is "
                        "inconsistent; use the model.npz its training run wrote")
    if task == "3class" and settings["class_names"] != CLASS_NAMES["3class"]:
        raise DataError(f"the metadata of {path!r}: a 3class model's class_names must be "
                        f"{CLASS_NAMES['3class']}; got {settings['class_names']!r}")
    return settings


def run(args):
    """The ``predict`` command for parsed ``args`` (``images``, ``model``, ``out``); returns 0."""
    try:
        model = Sequential.load(args.model)
    except (OSError, ValueError) as error:
        raise DataError(str(error)) from None
    settings = prediction_settings(model, args.model)
    threshold, names = settings["threshold"], settings["class_names"]
    out = args.out or os.path.dirname(os.path.abspath(args.model))
    if os.path.exists(out) and not os.path.isdir(out):
        raise DataError(f"--out {out!r} is a file, not a folder")
    raw, problems = [], []
    for path in args.images:
        try:
            raw.append(data.decode_image(path, settings["image_size"],
                                         settings["color_mode"]).astype(np.float32))
        except (data.UnreadableImageError, OSError) as error:
            problems.append(f"  {path}: {error}")
    if problems:
        raise DataError("cannot read these image(s):\n" + "\n".join(problems))
    raw_batch = np.stack(raw)

    def prepare(batch):
        return (batch * np.float32(settings["rescale"]) if settings["preprocess"] == "rescale"
                else PREPROCESSING[settings["preprocess"]](batch))

    # A model saved with test-time augmentation had its threshold chosen on averaged scores.
    meta = model.metadata
    views = tta_views(meta.get("fill_mode", "constant")) if meta.get("tta") else []
    probabilities = predict_averaged(model, raw_batch, views, prepare)
    if settings["task"] == "binary":
        probabilities = probabilities.reshape(-1)
    broken = [f"  {path}: P = {p}" for path, p in zip(args.images, probabilities)
              if not np.isfinite(p).all()]
    if broken:
        raise DataError(f"{args.model} gives no finite probability for these image(s) (its "
                        f"weights overflow on them): refusing to classify\n" + "\n".join(broken))
    os.makedirs(out, exist_ok=True)
    if settings["task"] == "3class":
        return _print_classes(model, args, raw, prepare(raw_batch), probabilities, names, out)
    heat = explain.grad_cam(model, prepare(raw_batch))
    for path, image, prob, hm, png_name in zip(args.images, raw, probabilities, heat,
                                                gradcam_names(args.images)):
        label = names[int(prob >= threshold)]
        png = os.path.join(out, png_name)
        plots.gradcam_grid(image[None], hm[None], [f"{label}  p={prob:.3f}"], png,
                           title=os.path.basename(path))
        print(f"{path}: P({names[1]}) = {prob:.3f} -> {label} (threshold {threshold:.3f}); "
              f"Grad-CAM: {png}")
    return 0


def _print_classes(model, args, raw, prepared, probabilities, names, out):
    """The 3-class lines: the call (argmax), the three probabilities, a Grad-CAM of the call."""
    called = np.argmax(probabilities, axis=1)
    for path, image, x, prob, c, png_name in zip(args.images, raw, prepared, probabilities,
                                                  called, gradcam_names(args.images)):
        heat = explain.grad_cam(model, x[None], class_index=int(c))
        png = os.path.join(out, png_name)
        plots.gradcam_grid(image[None], heat, [f"{names[c]}  p={prob[c]:.3f}"], png,
                           title=os.path.basename(path))
        shown = ", ".join(f"P({n}) = {q:.3f}" for n, q in zip(names, prob))
        print(f"{path}: {names[c]} ({shown}; the most likely class); Grad-CAM: {png}")
    return 0
