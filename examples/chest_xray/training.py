"""Step 3 of the example: augment, preprocess and train, keeping the epoch that validates best.

What a training batch goes through, in order: the raw pixels in [0, 255] are augmented
(rotation, a random resized crop, translation, zoom with its own width factor, contrast,
brightness, sharpness, each when its option is on; :func:`make_augmenter`; the geometric ones
run as one warp), then preprocessed (:data:`PREPROCESSING`), in a background thread while the
model trains on the batch before.
"""

import math
import sys
import time

from minicnn import data
from minicnn.callbacks import BestWeights, LearningRateScheduler
from minicnn.tta import FixedZoom, predict_averaged

RESCALE = 1.0 / 255.0  # pixels come as [0, 255]; "--preprocess rescale" shows the model [0, 1]
SHARPNESS_SIGMA = 1.0  # px at 224x224: the blur of RandomSharpness and of the stress test
PREPROCESSING = {
    # Each image to mean 0, std 1 (default): the model cannot lean on how bright or contrasty
    # a machine made the film (docs/experiments.md).
    "standardize": data.PerImageStandardization(),
    "rescale": data.Rescaling(RESCALE),    # the original project's [0, 1]
}


def make_augmenter(args):
    """The training augmentation of ``args``, every layer drawn from one seed."""
    layers = []
    if args.rotation:
        layers.append(data.RandomRotation(args.rotation, fill_mode=args.fill_mode))
    if args.crop_scale:
        # Scale and position jitter: a box of 3/4 to 4/3 aspect ratio (torchvision's range),
        # so the crop also varies the film's proportions, which tell the class in this dataset.
        layers.append(data.RandomResizedCrop(scale=(args.crop_scale, 1.0), ratio=(0.75, 4.0 / 3.0)))
    if args.translate:
        layers.append(data.RandomTranslation(args.translate, args.translate, fill_mode=args.fill_mode))
    if args.zoom or args.zoom_width:
        layers.append(data.RandomZoom(args.zoom, args.zoom_width or None, fill_mode=args.fill_mode))
    if args.contrast:
        layers.append(data.RandomContrast(args.contrast))  # on [0, 255] pixels, before preprocessing
    if args.brightness:
        layers.append(data.RandomBrightness(args.brightness))
    if args.sharpness:
        layers.append(data.RandomSharpness(args.sharpness, sigma=SHARPNESS_SIGMA))
    return data.Augmenter(layers, seed=[args.seed, 2])


def cosine_schedule(learning_rate, epochs, warmup_epochs=0):
    """A LearningRateScheduler: ``W`` warm-up epochs, then a cosine over the other ``E - W``.

    Warm-up epoch ``e < W`` runs at ``learning_rate * (e + 1) / (W + 1)`` (small steps while
    the first batches' statistics settle), then epoch ``e`` at
    ``learning_rate * (1 + cos(pi (e - W) / (E - W))) / 2``: big steps first, small ones last.
    """
    def rate(epoch, lr):
        if epoch < warmup_epochs:
            return learning_rate * (epoch + 1) / (warmup_epochs + 1)
        return learning_rate * 0.5 * (1 + math.cos(math.pi * (epoch - warmup_epochs)
                                                   / (epochs - warmup_epochs)))
    return LearningRateScheduler(rate)


def train(model, train_ds, val_ds, args, class_weight):
    """fit with augmentation, keeping the epoch with the best validation AUC; returns (history, s).

    For a K-class model the AUC is the macro one-vs-rest AUC (the mean of each class's AUC
    against the others): like the binary AUC it needs no threshold and no calibration, and
    every class counts the same, so the rarer viral films are not outvoted (the validation
    loss would also move with the class weights and with over-confidence).
    """
    augment, prepare = make_augmenter(args), PREPROCESSING[args.preprocess]
    # Shuffled each epoch (repeatably for the seed), augmented and preprocessed in a
    # background thread.
    train_batches = (train_ds.with_options(shuffle=True, seed=args.seed)
                     .map(lambda x, y: (prepare(augment(x)), y)).prefetch(2))
    val_batches = val_ds.map(lambda x, y: (prepare(x), y))
    # Remembers the best epoch by validation AUC and puts its weights back at the end (also
    # after Ctrl-C); training never stops early.
    keep_best = BestWeights(monitor="val_auc", mode="max")
    callbacks = [keep_best] if args.keep == "best" else []
    if args.lr_schedule == "cosine":
        # Big steps first, small ones last: the weights the run ends on (and the epoch kept)
        # depend less on where the last few noisy steps happened to land.
        callbacks.append(cosine_schedule(args.learning_rate, args.epochs, args.warmup_epochs))
    start = time.perf_counter()
    try:
        history = model.fit(train_batches, epochs=args.epochs, validation_data=val_batches,
                            class_weight=class_weight, callbacks=callbacks, verbose=1)
        history.stopped = None
    except FloatingPointError as error:
        # The loss became NaN or inf: fit stopped before that step changed the weights. The
        # epochs completed so far are kept (the best of them with --keep best) and reported.
        history = model.history
        history.stopped = f"Training stopped: {error}"
        print(f"\n{history.stopped}", file=sys.stderr)
        if args.keep == "best" and keep_best.best_weights is not None:
            model.set_weights(keep_best.best_weights)
    history.best_epoch = keep_best.best_epoch if args.keep == "best" else None
    return history, time.perf_counter() - start


def tta_views(fill_mode):
    """``--tta``'s fixed views: magnified by 1/0.9, stretched and squeezed sideways by 10%."""
    return [FixedZoom(0.9, fill_mode=fill_mode), FixedZoom(1.0, 0.9, fill_mode=fill_mode),
            FixedZoom(1.0, 1.1, fill_mode=fill_mode)]


def predict_probabilities(model, ds, args, distort=None):
    """P(PNEUMONIA) for every image of ``ds`` in its fixed order, shape (N,); for a K-class
    model the K class probabilities instead, shape (N, K), each row summing to 1.

    Preprocessed as in training (``args.preprocess``); with ``args.tta`` averaged over the
    film and :func:`tta_views` of it. ``distort``: an optional function applied to each raw
    batch first (the stress test).
    """
    prepare, distort = PREPROCESSING[args.preprocess], distort or (lambda x: x)
    views = tta_views(args.fill_mode) if getattr(args, "tta", False) else []
    p = predict_averaged(model, ds.map(lambda x, y: (distort(x), y)), views, prepare)
    return p.reshape(-1) if p.shape[1] == 1 else p
