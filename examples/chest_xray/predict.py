"""``predict IMAGE... --model model.npz``: probability, label and a Grad-CAM PNG per image.

Everything needed is in the saved model's metadata (threshold, class names, image size,
colour mode, preprocessing), so a film is decoded and prepared exactly as in training.
Every image is read before any work: a missing or broken file stops the command, named.
"""

import os

import numpy as np

from minicnn import data, explain, plots
from minicnn.model import Sequential
from minicnn.tta import predict_averaged

from .data import DataError
from .training import PREPROCESSING, RESCALE, tta_views


def run(args):
    """The ``predict`` command for parsed ``args`` (``images``, ``model``, ``out``); returns 0."""
    try:
        model = Sequential.load(args.model)
    except (FileNotFoundError, ValueError) as error:
        raise DataError(str(error)) from None
    meta = model.metadata
    threshold, names = float(meta.get("threshold", 0.5)), meta.get("class_names", ["0", "1"])
    size, mode = tuple(meta.get("image_size", model.input_shape[:2])), meta.get("color_mode", "rgb")
    raw, problems = [], []
    for path in args.images:
        try:
            raw.append(data.decode_image(path, size, mode).astype(np.float32))
        except (data.UnreadableImageError, OSError) as error:
            problems.append(f"  {path}: {error}")
    if problems:
        raise DataError("cannot read these image(s):\n" + "\n".join(problems))
    # Models saved before "preprocess" existed were trained on x * rescale.
    preprocess = meta.get("preprocess", "rescale")
    if preprocess not in PREPROCESSING:
        raise DataError(f"{args.model} asks for preprocessing {preprocess!r}; this script "
                        f"knows {sorted(PREPROCESSING)}")
    raw_batch = np.stack(raw)

    def prepare(batch):
        return (batch * np.float32(meta.get("rescale", RESCALE)) if preprocess == "rescale"
                else PREPROCESSING[preprocess](batch))

    # A model saved with test-time augmentation had its threshold chosen on averaged scores.
    views = tta_views(meta.get("fill_mode", "constant")) if meta.get("tta") else []
    probabilities = predict_averaged(model, raw_batch, views, prepare).reshape(-1)
    heat = explain.grad_cam(model, prepare(raw_batch))
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
