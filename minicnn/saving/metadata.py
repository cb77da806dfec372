"""The metadata a prediction needs: threshold, class names, image size, colour mode."""

import os

from .schema import is_number


def check_metadata(model, path=None):
    """Validate the prediction settings in ``model.metadata``; return them, defaults filled in.

    Every key is optional; a key that is present with a wrong value is an error, never
    replaced by its default.

    ``threshold``
        A finite number in [0, 1] (not a bool): ``P(class 1) >= threshold`` predicts
        class 1. Default 0.5.
    ``class_names``
        A list of distinct strings, one per class: 2 for a model with one output (a
        sigmoid over logits), ``k`` for ``k`` outputs. Default ``["0", "1", ...]``.
    ``image_size``
        ``[height, width]``, integers equal to the model's input. Default the model's;
        None for a model whose input is not an image ``(H, W, C)`` (then the key must
        be absent).
    ``color_mode``
        One of ``minicnn.data.decode.COLOR_MODES`` whose channel count is the model's
        input channels. Default the mode with that count; None when there is none.

    Returns
    -------
    dict with exactly the keys ``threshold`` (float), ``class_names`` (list of str),
    ``image_size`` (tuple or None) and ``color_mode`` (str or None).

    Raises
    ------
    ValueError
        Naming ``path`` (when given) and the key, what it holds and what was expected.
    """
    from ..data.decode import COLOR_MODES  # here: minicnn.data imports much that saving needs not

    metadata = model.metadata
    where = f"the metadata of {os.fspath(path)!r}" if path is not None else "the model's metadata"
    if not isinstance(metadata, dict):
        raise ValueError(f"{where} must be a dict, got {type(metadata).__name__}")

    def bad(key, wanted):
        return ValueError(f"{where}: {key!r} must be {wanted}; got {metadata[key]!r}")

    threshold = metadata.get("threshold", 0.5)
    if not is_number(threshold) or not 0 <= threshold <= 1:
        raise bad("threshold", "a number in [0, 1]")

    outputs = int(model.output_shape[-1])
    classes = 2 if outputs == 1 else outputs
    names = metadata.get("class_names", [str(c) for c in range(classes)])
    if (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
            or len(set(names)) != len(names) or len(names) != classes):
        raise bad("class_names", f"a list of {classes} distinct strings, one per class of "
                                 f"this model ({outputs} output(s))")

    is_image = len(model.input_shape) == 3
    size = tuple(model.input_shape[:2]) if is_image else None
    if "image_size" in metadata:
        value = metadata["image_size"]
        if (size is None or not isinstance(value, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
                or tuple(value) != size):
            raise bad("image_size", f"[height, width] equal to the model's input {size}"
                      if size else "absent: this model's input is not an image (H, W, C)")

    channels = model.input_shape[-1] if is_image else None
    modes = [m for m, c in COLOR_MODES.items() if c == channels]
    mode = metadata.get("color_mode", modes[0] if modes else None)
    if "color_mode" in metadata and (not isinstance(mode, str) or mode not in modes):
        raise bad("color_mode", f"one of {modes}, the mode(s) with this model's "
                                f"{channels} input channel(s)" if modes
                  else "absent: no colour mode has this model's input channels")
    return {"threshold": float(threshold), "class_names": list(names), "image_size": size,
            "color_mode": mode}
