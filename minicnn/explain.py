"""Grad-CAM: where in the image did the model look?

Grad-CAM (Selvaraju et al., 2017) explains one output of a CNN with the
activations ``A`` of a convolutional layer, shape (h, w, K) for one image in
NHWC. For the logit ``y`` (the value before the sigmoid, or the chosen class's
logit z_c before the softmax):

    w_k  = mean over (i, j) of dy / dA[i, j, k]        how much channel k matters
    cam  = ReLU( sum_k w_k * A[:, :, k] )              where the important channels fire

``cam`` has the layer's spatial size (h, w); it is upsampled bilinearly to the
image size and scaled to [0, 1] per image. A positive logit means "positive
class" (the condition), so bright regions are the evidence *for* that class.

Everything here runs on the layers' own ``forward`` and ``backward``: no
separate autograd, the same code that trains the model explains it.

Which layer: the canonical Grad-CAM takes the feature maps of the last
convolutional block. In minicnn a ``Conv2D`` is linear and its activation is
a separate layer, so by default we take the last ``Conv2D`` *together with*
the shape-keeping layers right after it (``BatchNormalization``, ``ReLU``, other
activations): the maps after the ReLU, as a Keras ``Conv2D(activation="relu")``
would give. Pass ``layer=`` to pick exactly one layer instead.
"""

import numpy as np

from . import metrics as M
from .display import to_display

__all__ = ["grad_cam", "overlay", "upsample_bilinear", "pick_outcome_examples", "box_pixels",
           "mass_inside_box"]


# Layers that keep the shape and act per position: part of a "conv block" for the default choice.
_BLOCK_FOLLOWERS = ("BatchNormalization", "ReLU", "LeakyReLU", "ELU", "Activation", "Sigmoid", "Tanh")


def _resolve_layer(model, layer):
    """Index of the layer whose output Grad-CAM uses."""
    layers = model.layers
    if layer is None:
        convs = [i for i, l in enumerate(layers) if type(l).__name__ == "Conv2D"]
        if not convs:
            raise ValueError("grad_cam: the model has no Conv2D layer; pass layer=<name or index> "
                             "of a layer with 4-D output (N, H, W, C)")
        index = convs[-1]
        # Stop before the final layer: a model ending in an activation has its logit below it.
        while (index + 1 < len(layers) - 1
               and type(layers[index + 1]).__name__ in _BLOCK_FOLLOWERS):
            index += 1
    elif isinstance(layer, str):
        names = [l.name for l in layers]
        if layer not in names:
            raise ValueError(f"grad_cam: no layer named {layer!r}; the layers are {names}")
        index = names.index(layer)
    elif isinstance(layer, (int, np.integer)):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"grad_cam: layer index {layer} out of range for {len(layers)} layers")
        index = int(layer) % len(layers)
    else:
        raise ValueError(f"grad_cam: layer must be None, a layer name or an index, got {layer!r}")
    shape = layers[index].output_shape
    if len(shape) != 3:
        raise ValueError(f"grad_cam: layer {index} '{layers[index].name}' outputs shape "
                         f"{(None,) + tuple(shape)}; Grad-CAM needs feature maps (N, H, W, C)")
    return index


def grad_cam(model, images, layer=None, batch_size=32, class_index=None):
    """Grad-CAM heat maps of one logit of the model, one per image, in [0, 1].

    Parameters
    ----------
    model : minicnn Sequential (anything with ``layers``, ``input_shape``, ``dtype``)
        With one output unit, or K (one logit per class); if it ends in a ``Sigmoid`` or
        ``Softmax`` layer, the logits below it are used (Grad-CAM explains a score, not
        a probability that also depends on the other classes).
    images : array (N, H, W, C) (or one image (H, W, C)), scaled as the model expects
    layer : None, str or int
        None: the last Conv2D block (see the module docstring); a name or an index
        (negative counts from the end) picks that layer's output exactly.
    batch_size : int, images per forward/backward pass
    class_index : None or int
        With K outputs, the class whose logit y = z_c is explained (the map shows the
        evidence FOR that class); None explains each image's predicted class (argmax).
        With one output it must be None or 0.

    Returns
    -------
    ndarray (N, H, W) float64 in [0, 1], each map divided by its own maximum.
    A map that is zero everywhere (no channel pushes the logit up anywhere)
    stays all zero rather than being divided by 0.

    Notes
    -----
    Runs ``forward(training=False)`` and then ``backward`` of the layers above the
    chosen one. ``backward`` overwrites each of those layers' ``grads`` (and the
    layers' forward caches), so this function copies every layer's grads first
    and puts them back at the end: calling it between training steps, or from a
    callback, leaves training as it was. No parameter is changed.
    """
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(model.input_shape):
        raise ValueError(f"grad_cam: images of shape {x.shape} do not fit the model's input "
                         f"(N,) + {tuple(model.input_shape)}")
    layers = model.layers
    index = _resolve_layer(model, layer)
    ends_in_probabilities = (getattr(model, "outputs_probabilities", False)
                             or type(layers[-1]).__name__ == "Softmax")
    top = len(layers) - 1 if ends_in_probabilities else len(layers)
    if index >= top:
        raise ValueError(f"grad_cam: layer {index} '{layers[index].name}' is at or above the "
                         "output logit; choose a convolutional layer below it")
    saved_grads = [{k: g.copy() for k, g in l.grads.items()} for l in layers]
    maps = []
    try:
        for start in range(0, x.shape[0], int(batch_size)):
            h = np.asarray(x[start:start + int(batch_size)], dtype=model.dtype)
            for l in layers[:index + 1]:
                h = l.forward(h, training=False)
            A = np.array(h)                               # (B, h, w, K), a copy we own
            for l in layers[index + 1:top]:
                h = l.forward(h, training=False)
            grad = _one_logit(h, class_index)             # d z_c / d z: 1 at class c, 0 elsewhere
            for l in reversed(layers[index + 1:top]):
                grad = l.backward(grad)
            weights = grad.mean(axis=(1, 2))              # (B, K): w_k = mean_ij dy/dA_ijk
            cam = np.maximum(np.einsum("bijk,bk->bij", A, weights), 0.0)
            maps.append(cam.astype(np.float64))
    finally:
        for l, saved in zip(layers, saved_grads):
            for k, g in saved.items():
                l.grads[k][...] = g
    cam = upsample_bilinear(np.concatenate(maps), x.shape[1:3])
    peak = cam.max(axis=(1, 2), keepdims=True)
    # Divide only where the peak is positive: an all-zero map stays all zero.
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)


def _one_logit(logits, class_index):
    """dL/dlogits for L = the chosen logit of each image: one-hot rows, logits' shape."""
    z = logits.reshape(logits.shape[0], -1)
    k = z.shape[1]
    if class_index is None:
        chosen = np.argmax(z, axis=1) if k > 1 else np.zeros(z.shape[0], np.int64)
    elif isinstance(class_index, (int, np.integer)) and not isinstance(class_index, bool) \
            and 0 <= class_index < k:
        chosen = np.full(z.shape[0], int(class_index))
    else:
        raise ValueError(f"grad_cam: class_index must be None or an integer in 0..{k - 1} "
                         f"(the model has {k} output{'s' if k > 1 else ''}), got {class_index!r}")
    grad = np.zeros_like(z)
    grad[np.arange(z.shape[0]), chosen] = 1
    return grad.reshape(logits.shape)


def upsample_bilinear(maps, size):
    """Resize maps (N, h, w) to (N, H, W) by bilinear interpolation, corners aligned to pixel centres.

    Output pixel ``Y`` takes the input coordinate ``(Y + 0.5) * h / H - 0.5`` (the
    convention of PIL and OpenCV, ``align_corners=False`` in PyTorch), clamped to
    the edge, and mixes the two nearest rows (then columns) by distance.
    """
    maps = np.asarray(maps, dtype=np.float64)
    H, W = int(size[0]), int(size[1])
    _, h, w = maps.shape

    def coords(out_len, in_len):
        x = (np.arange(out_len) + 0.5) * (in_len / out_len) - 0.5
        x = np.clip(x, 0, in_len - 1)
        lo = np.floor(x).astype(np.int64)
        hi = np.minimum(lo + 1, in_len - 1)
        return lo, hi, x - lo

    r0, r1, fr = coords(H, h)
    c0, c1, fc = coords(W, w)
    rows = maps[:, r0, :] * (1 - fr)[None, :, None] + maps[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc)[None, None, :] + rows[:, :, c1] * fc[None, None, :]


def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    """Blend a heat map over an image, as RGB uint8.

    Parameters
    ----------
    image : array (H, W), (H, W, 1) or (H, W, 3), uint8 or float (read as in
        ``minicnn.display.to_display``)
    heatmap : array (H, W) in [0, 1]
    alpha : float in [0, 1], weight of the coloured heat map
    cmap : name of a matplotlib colormap

    Returns
    -------
    ndarray (H, W, 3) uint8 = round(255 * ((1 - alpha) * image + alpha * cmap(heatmap)))
    """
    from matplotlib import colormaps  # imported here: explain works without matplotlib

    img = to_display(image)
    hm = np.asarray(heatmap, dtype=np.float64)
    if hm.shape != img.shape[:2]:
        raise ValueError(f"heatmap: shape {hm.shape} does not match the image's {img.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    colored = colormaps[cmap](np.clip(hm, 0.0, 1.0))[..., :3]
    out = (1.0 - alpha) * img + alpha * colored
    return np.round(255.0 * out).astype(np.uint8)


def pick_outcome_examples(y_true, y_prob, threshold, per_group=2):
    """Indices of the most telling true/false positives/negatives, with titles, for a Grad-CAM grid.

    Predictions are ``y_prob >= threshold``. In each group the most confident
    examples come first: true and false positives by highest probability, true
    and false negatives by lowest (the confident mistakes are the ones to look at).
    Groups with no example are left out.

    Returns
    -------
    indices : list of int, into ``y_true`` / ``y_prob``
    titles : list of str such as ``"FN  p=0.031"``
    """
    y = M.as_labels(y_true, "y_true")
    p = M.as_probabilities(y_prob)
    M.check_pair(y, p, "y_true", "y_prob")
    pred = p >= threshold
    groups = [("TP", (y == 1) & pred, -1), ("FP", (y == 0) & pred, -1),
              ("FN", (y == 1) & ~pred, 1), ("TN", (y == 0) & ~pred, 1)]
    indices, titles = [], []
    for name, mask, sign in groups:
        idx = np.flatnonzero(mask)
        # Stable sort keeps equal probabilities in their original order: repeatable.
        idx = idx[np.argsort(sign * p[idx], kind="stable")][:int(per_group)]
        indices += idx.tolist()
        titles += [f"{name}  p={p[i]:.3f}" for i in idx]
    return indices, titles


def box_pixels(shape, box):
    """The pixel rows and columns ``(r0, r1, c0, c1)`` of ``box`` in an image of ``shape`` (H, W).

    ``box`` is ``(top, left, bottom, right)`` as fractions of the height and width, with
    ``0 <= top < bottom <= 1`` and ``0 <= left < right <= 1``; the box covers rows
    ``round(top H) <= r < round(bottom H)`` and the same for columns.
    """
    top, left, bottom, right = (float(v) for v in box)
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        raise ValueError(f"box must be (top, left, bottom, right) fractions with 0 <= top < bottom "
                         f"<= 1 and 0 <= left < right <= 1, got {tuple(box)!r}")
    h, w = int(shape[0]), int(shape[1])
    return int(round(top * h)), int(round(bottom * h)), int(round(left * w)), int(round(right * w))


def mass_inside_box(heatmaps, box):
    """The share of each heat map's mass that falls inside ``box``, shape (N,).

    share_n = sum of heatmaps[n] over the box / sum of heatmaps[n] over the whole image

    A crude "where did it look" figure: a map spread evenly gives the box's share of the
    area, one that lights up only the box gives 1. ``heatmaps`` is (N, H, W) (or one map
    (H, W)) of non-negative values, as :func:`grad_cam` returns; ``box`` as in
    :func:`box_pixels`. A map that is zero everywhere has no mass to share: its value is nan.
    """
    maps = np.asarray(heatmaps, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f"heatmaps: expected shape (N, H, W) or (H, W), got {maps.shape}")
    if np.any(maps < 0):
        raise ValueError("heatmaps: a mass share needs non-negative maps (Grad-CAM's are in [0, 1])")
    r0, r1, c0, c1 = box_pixels(maps.shape[1:], box)
    total = maps.sum(axis=(1, 2))
    inside = maps[:, r0:r1, c0:c1].sum(axis=(1, 2))
    return np.divide(inside, total, out=np.full_like(total, np.nan), where=total > 0)
