"""Decode one image file with Pillow into a uint8 array of a fixed size.

Everything the rest of ``minicnn.data`` knows about image files lives here:

* which files count as images (:data:`IMAGE_EXTENSIONS`, compared in lower case);
* how every Pillow mode found in the wild becomes ``L`` (grayscale), ``RGB`` or ``RGBA``:
  ``1``, ``L``, ``LA``, ``P`` (with or without transparency), ``PA``, ``RGB``, ``RGBA``,
  ``CMYK``, ``YCbCr``, and 16/32-bit grayscale (``I;16``, ``I;16B``, ``I``), which is
  scaled to 0-255 as ``round(v * 255 / 65535)`` rather than clipped at 255;
* EXIF orientation (phones store portrait photos sideways plus a tag): applied with
  ``ImageOps.exif_transpose`` before resizing, so ``image_size`` means the upright size;
* JPEG *draft* mode: the JPEG decoder can scale by 1/2, 1/4 or 1/8 almost for free
  while it decodes (it skips high-frequency DCT coefficients), and for grayscale output
  it can decode the luma plane alone. We only ask for a reduction that stays at least
  twice the target size in both directions, so the final resize still averages several
  source pixels per output pixel: the result differs from the full decode by a fraction
  of a grey level on average (tested in ``tests/data/test_decode.py``), while the decoder
  skips most of the work of scaling a large file down (the entropy decoding of the full
  file remains; ``benchmarks/data_loading.py`` measures the saving).

Resizing and Keras
------------------
Keras resizes with ``tf.image.resize(method="bilinear", antialias=False)``: every output
pixel interpolates the 4 nearest input pixels, whatever the scale. Shrinking a 2,000 px
image to 224 px that way reads only ~1 pixel in 80 and aliases fine texture. We use
Pillow's resampling instead, which *does* antialias when shrinking (its bilinear filter
widens to cover the whole footprint of each output pixel). So ``interpolation="bilinear"``
here is Pillow's antialiased bilinear: smoother than Keras's for big reductions, identical
in spirit when the sizes are close.

Names are compared in lower case (Keras lower-cases them too, so ``"BILINEAR"`` works).
Keras's names map to the closest Pillow filter: ``"nearest"`` -> NEAREST, ``"bilinear"``
-> BILINEAR, ``"bicubic"`` -> BICUBIC, ``"area"`` -> BOX (a box average, like ``tf``'s
"area"), ``"lanczos3"`` -> LANCZOS and ``"lanczos5"`` -> LANCZOS too (Pillow has only the
3-lobe Lanczos; the 5-lobe one differs in the faint ringing far from edges). Pillow's own
``"box"``, ``"hamming"`` and ``"lanczos"`` are accepted as well. Keras's ``"gaussian"`` and
``"mitchellcubic"`` have no Pillow counterpart and are refused with a message that names
the supported filters, rather than silently swapped for something else.

Aspect ratio (Keras's ``crop_to_aspect_ratio`` / ``pad_to_aspect_ratio``)
------------------------------------------------------------------------
By default the picture is squashed to ``image_size``. For a source of ``h x w`` pixels and
a target of ``H x W`` the two alternatives are, in exact integer arithmetic:

* crop (Keras's ``smart_resize``): keep the largest centred window with the target's
  shape, ``crop_h = min(h, w * H // W)``, ``crop_w = min(w, h * W // H)`` (at least 1),
  starting at ``(h - crop_h) // 2``, ``(w - crop_w) // 2``; resize that window to ``H x W``;
* pad (``tf.image.resize_with_pad``, which Keras calls): scale the whole picture by
  ``1 / max(h / H, w / W)`` so that it fits, giving ``floor(h * scale) x floor(w * scale)``
  (one of them exactly ``H`` or ``W``), and place it in an ``H x W`` canvas of zeros at
  ``floor((H - h * scale) / 2)`` rows and ``floor((W - w * scale) / 2)`` columns from the
  top left. Every channel of the border is 0, alpha included, as in Keras.

Errors
------
Anything that cannot be decoded (zero bytes, not an image, truncated or corrupt data,
an image over Pillow's decompression-bomb limit ``PIL.Image.MAX_IMAGE_PIXELS``) raises
:class:`UnreadableImageError`, a ``ValueError`` that names the file and the reason.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "IMAGE_EXTENSIONS",
    "INTERPOLATIONS",
    "COLOR_MODES",
    "UnreadableImageError",
    "decode_image",
    "check_image_size",
    "check_color_mode",
    "check_interpolation",
    "interpolation_name",
    "check_aspect_ratio_mode",
    "crop_window",
    "pad_placement",
    "decode_many",
    "decode_workers",
]

#: File extensions loaded as images (the list of Keras's ``image_dataset_from_directory``).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

#: Interpolation names accepted by :func:`decode_image` and the Pillow filter each uses.
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
    "lanczos3": Image.Resampling.LANCZOS,
    "lanczos5": Image.Resampling.LANCZOS,
}

#: Keras interpolation names with no Pillow filter, and what to use instead.
_NO_PILLOW_FILTER = {
    "gaussian": '"bilinear" or "area" (both smooth when shrinking)',
    "mitchellcubic": '"bicubic" (a sharper cubic)',
}

#: ``color_mode`` -> number of channels of the decoded array.
COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}

_EXIF_ORIENTATION = 0x0112  # the EXIF tag; 1 means upright, 2-8 a flip and/or turn

# Pillow modes holding one grey value per pixel with more than 8 bits.
_WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class UnreadableImageError(ValueError):
    """An image file that cannot be decoded; the message names the file and why."""


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_image_size(image_size):
    """Return ``image_size`` as a ``(height, width)`` tuple of positive ints, or raise.

    One integer ``n`` means ``(n, n)``, as in Keras. Floats (even ``224.0``) are refused:
    ``int()`` would quietly truncate ``224.7``.
    """
    if _is_integer(image_size):
        image_size = (image_size, image_size)
    try:
        values = tuple(image_size)
    except TypeError:
        values = ()
    if len(values) != 2 or not all(_is_integer(v) and v > 0 for v in values):
        raise ValueError(f"image_size must be a positive integer or a pair (height, width) of "
                         f"positive integers; got {image_size!r}")
    return int(values[0]), int(values[1])


def check_color_mode(color_mode):
    """Return the number of channels for ``color_mode``, or raise a ValueError."""
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(COLOR_MODES)}; got {color_mode!r}")
    return COLOR_MODES[color_mode]


def interpolation_name(interpolation):
    """The canonical (lower-case) name of ``interpolation``, or a ValueError naming the choices."""
    supported = sorted(INTERPOLATIONS)
    if not isinstance(interpolation, str):
        raise ValueError(f"interpolation must be a string, one of {supported}; got {interpolation!r}")
    name = interpolation.lower()
    if name in _NO_PILLOW_FILTER:
        raise ValueError(f"interpolation={interpolation!r} is a Keras filter that Pillow does not "
                         f"have; use {_NO_PILLOW_FILTER[name]}. Supported: {supported}")
    if name not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {supported} (any case); "
                         f"got {interpolation!r}")
    return name


def check_interpolation(interpolation):
    """Return the Pillow resampling filter for ``interpolation``, or raise a ValueError."""
    return INTERPOLATIONS[interpolation_name(interpolation)]


def check_aspect_ratio_mode(crop_to_aspect_ratio, pad_to_aspect_ratio):
    """``None``, ``"crop"`` or ``"pad"``; both at once is a ValueError (as in Keras)."""
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True: "
                         "choose cropping (lose the edges) or padding (add black borders)")
    return "crop" if crop_to_aspect_ratio else "pad" if pad_to_aspect_ratio else None


def crop_window(height, width, target_height, target_width):
    """Keras's ``smart_resize`` window: ``(top, left, crop_height, crop_width)``.

    The largest centred window of a ``height x width`` picture whose shape is the
    target's: ``crop_h = min(height, width * H // W)`` and ``crop_w = min(width,
    height * W // H)``, both at least 1, centred with the remainder split by floor.
    """
    crop_h = max(1, min(height, width * target_height // target_width))
    crop_w = max(1, min(width, height * target_width // target_height))
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def pad_placement(height, width, target_height, target_width):
    """``tf.image.resize_with_pad``'s layout: ``(resized_h, resized_w, top, left)``.

    The picture is scaled by ``s = 1 / max(height / H, width / W)`` to fit inside the
    target; its size is ``floor(height * s) x floor(width * s)`` and it sits
    ``floor((H - height * s) / 2)`` rows and ``floor((W - width * s) / 2)`` columns from
    the top left of the zero canvas. Exact integer arithmetic (``tf`` uses float32, which
    can differ by one pixel in rare cases); sizes are at least 1.
    """
    if width * target_height >= height * target_width:  # the width fills the target
        resized_h = max(1, height * target_width // width)
        top = (target_height * width - height * target_width) // (2 * width)
        return resized_h, target_width, top, 0
    resized_w = max(1, width * target_height // height)  # the height fills it
    left = (target_width * height - width * target_height) // (2 * height)
    return target_height, resized_w, 0, left


def _wide_grey_to_l(img):
    """16- or 32-bit grayscale -> 8-bit ``L``, mapping 0..65535 onto 0..255 with rounding."""
    # I;16 arrives as uint16. Mode I (int32) is how Pillow opens some 16-bit PNGs;
    # values outside the 16-bit range cannot be mapped meaningfully, so clip them.
    values = np.clip(np.asarray(img), 0, 65535).astype(np.uint32)
    # round(v * 255 / 65535) in integers: add half the divisor before dividing.
    scaled = (values * 255 + 32767) // 65535
    return Image.fromarray(scaled.astype(np.uint8), mode="L")


def _to_base_mode(img, color_mode):
    """Convert a decoded Pillow image to the fewest channels that hold ``color_mode``.

    Returns an image in mode ``L``, ``LA``, ``RGB`` or ``RGBA``. Grayscale sources stay
    one channel even when ``color_mode="rgb"``: resizing one channel is 3x cheaper, and
    the caller copies it into the 3 output channels afterwards. Alpha is dropped unless
    ``color_mode="rgba"`` (like ``tf.io.decode_png(channels=3)``, which drops it without
    compositing onto a background).
    """
    mode = img.mode
    if mode in _WIDE_GREY_MODES:
        img, mode = _wide_grey_to_l(img), "L"
    elif mode == "1":
        img, mode = img.convert("L"), "L"
    elif mode in ("P", "PA"):
        # A palette may carry transparency; going through RGBA keeps it (and avoids
        # Pillow's warning about transparency "expressed in bytes").
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        mode = img.mode
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img, mode = img.convert("RGB"), "RGB"  # CMYK, YCbCr, LAB, HSV, F ...

    if color_mode == "grayscale":
        return img if mode == "L" else img.convert("L")
    if color_mode == "rgb":
        if mode in ("L", "RGB"):
            return img
        return img.convert("L" if mode == "LA" else "RGB")
    # rgba: keep alpha where there is one; an opaque source gets alpha 255 later.
    return img.convert("RGBA") if mode == "LA" else img


def _request_draft(img, height, width, color_mode):
    """Ask the JPEG decoder for a cheaper decode that keeps the result faithful.

    Two savings, both inside libjpeg:

    * size: a reduction by 1/2, 1/4 or 1/8 that is still >= 2x the target size;
    * colour: for grayscale output from a colour JPEG, decode only the luma plane Y
      (JPEG stores Y, Cb, Cr; Y *is* the ITU-R 601 grey value) instead of converting
      to RGB and back: one plane decoded instead of three and no colour conversion,
      identical to ``convert("L")`` on grey images stored as RGB; on colour images it differs by a few
      grey levels at most, at sharp colour edges, where the RGB path mixes in chroma
      upsampling (mean difference 0.03 on random colour noise).

    Returns the box ``(0, 0, w, h)`` that the original image occupies in the drafted
    image when the size was reduced, else None. The box matters: a 2,053 px wide image at
    1/4 scale decodes to 514 px, of which only 513.25 are image; resizing all 514 would
    shift the right edge by a quarter of a pixel and smear sharp borders.
    """
    if img.format != "JPEG":
        return None
    src_w, src_h = img.size
    reduce = src_w >= 4 * width and src_h >= 4 * height
    luma_only = color_mode == "grayscale" and img.mode == "RGB"
    if not (reduce or luma_only):
        return None
    # Pillow picks the largest reduction whose result is still >= the requested size.
    request = (2 * width, 2 * height) if reduce else img.size
    drafted = img.draft("L" if luma_only else img.mode, request)
    return drafted[1] if (drafted is not None and reduce) else None


def _resize_plan(img, box, source_size, height, width, aspect):
    """``(size, region, offset)`` for the final resize of the decoded ``img``.

    ``region`` is the part of ``img`` to resample (Pillow's ``box``), ``size`` the
    ``(w, h)`` it becomes, ``offset`` the ``(top, left)`` of the result in a zero canvas
    (None: no canvas). ``box`` is where the whole picture lies in ``img`` (a draft
    decode shrinks it; None: all of ``img``) and ``source_size`` the picture's own
    ``(w, h)``, in which the crop and pad arithmetic is done, as Keras does it.
    """
    if box is None:
        box, source_size = (0, 0, *img.size), img.size
    src_w, src_h = source_size
    if aspect == "crop":
        top, left, crop_h, crop_w = crop_window(src_h, src_w, height, width)
        sx, sy = (box[2] - box[0]) / src_w, (box[3] - box[1]) / src_h
        region = (box[0] + left * sx, box[1] + top * sy,
                  box[0] + (left + crop_w) * sx, box[1] + (top + crop_h) * sy)
        return (width, height), region, None
    if aspect == "pad":
        resized_h, resized_w, top, left = pad_placement(src_h, src_w, height, width)
        return (resized_w, resized_h), box, (top, left)
    return (width, height), box, None


def decode_image(path, image_size, color_mode="rgb", interpolation="bilinear", draft=True,
                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
    """Decode the image file ``path`` to a uint8 array of shape ``(H, W, C)``.

    Parameters
    ----------
    path : str or path-like
        An image file Pillow can read (JPEG, PNG, BMP, GIF: first frame).
    image_size : (int, int)
        ``(height, width)`` of the output. The image is resized to exactly this size
        (the aspect ratio is not kept, as in Keras).
    color_mode : {"grayscale", "rgb", "rgba"}
        Output channels C = 1, 3 or 4. Grayscale from colour uses Pillow's ITU-R 601
        luma ``L = 0.299 R + 0.587 G + 0.114 B``; grey to rgb copies the grey value.
    interpolation : str
        Resampling filter, see the module docstring (default: Pillow's antialiased bilinear).
    draft : bool
        Allow JPEG draft decoding: a reduced size for large images (only when the
        reduced image is still at least twice the target size) and luma-only decoding
        for grayscale output.
    crop_to_aspect_ratio, pad_to_aspect_ratio : bool
        Keep the picture's proportions: crop a centred window, or fit it inside black
        borders (see the module docstring). At most one may be True.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(height, width, C)``.

    Raises
    ------
    UnreadableImageError
        The file is empty, not an image, truncated, corrupt, or larger than
        ``PIL.Image.MAX_IMAGE_PIXELS`` (Pillow's decompression-bomb limit).
    """
    height, width = check_image_size(image_size)
    channels = check_color_mode(color_mode)
    resample = check_interpolation(interpolation)
    aspect = check_aspect_ratio_mode(crop_to_aspect_ratio, pad_to_aspect_ratio)
    try:
        if os.path.getsize(path) == 0:
            raise UnreadableImageError(f"{os.fspath(path)}: the file is empty (0 bytes)")
        with Image.open(path) as img:
            # Pillow only warns between 1x and 2x its pixel limit; we treat both as unsafe.
            # (Checked here from the header, before any pixel is decoded.)
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and img.size[0] * img.size[1] > limit:
                raise UnreadableImageError(
                    f"{os.fspath(path)}: {img.size[0]}x{img.size[1]} pixels is over the "
                    f"decompression-bomb limit PIL.Image.MAX_IMAGE_PIXELS={limit}; "
                    f"resize the file, or raise that limit if you trust it")
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
            source_size = img.size  # before a draft decode shrinks it
            box = None
            # Rotated photos are decoded in full: the draft box would need rotating too,
            # and scans from a machine rarely carry an EXIF rotation.
            if draft and orientation == 1:
                box = _request_draft(img, height, width, color_mode)
            img.load()
            if orientation != 1:
                img = ImageOps.exif_transpose(img)
            img = _to_base_mode(img, color_mode)
            size, region, offset = _resize_plan(img, box, source_size, height, width, aspect)
            if img.size != size or tuple(region) != (0, 0, *img.size):
                img = img.resize(size, resample=resample, box=region)
            pixels = np.asarray(img)
    except UnreadableImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise UnreadableImageError(f"{os.fspath(path)}: decompression bomb ({exc})") from None
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as exc:
        # OSError covers truncated data and "cannot identify image file"; Pillow's
        # plugins raise SyntaxError / ValueError for some malformed headers.
        raise UnreadableImageError(f"{os.fspath(path)}: cannot decode ({exc})") from None

    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[2] != channels:
        full = np.empty((*pixels.shape[:2], channels), dtype=np.uint8)
        full[:, :, :3] = pixels[:, :, :3]  # grey -> rgb / rgba broadcasts, rgb -> rgba copies
        if channels == 4:
            full[:, :, 3] = 255  # an opaque source
        pixels = full
    if offset is None:
        return pixels
    # pad_to_aspect_ratio: the fitted picture in a canvas of zeros (alpha 0 too, as Keras).
    top, left = offset
    out = np.zeros((height, width, channels), dtype=np.uint8)
    out[top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return out


# --- many files at once -------------------------------------------------------------

_POOL = None
_POOL_LOCK = threading.Lock()


def decode_workers():
    """Threads used to decode: ``$MINICNN_DECODE_THREADS`` or the number of CPUs."""
    env = os.environ.get("MINICNN_DECODE_THREADS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


def _pool():
    # One shared pool for the whole process: threads, not processes, because Pillow
    # releases the GIL while it decodes and resizes, so threads really run in parallel
    # and the decoded arrays need no copying between processes.
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=decode_workers(),
                                       thread_name_prefix="minicnn-decode")
        return _POOL


def decode_many(paths, out, image_size, color_mode="rgb", interpolation="bilinear",
                draft=True, errors="raise", progress=None, workers=None,
                crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
    """Decode ``paths[i]`` into ``out[i]`` for every i, in parallel threads.

    Parameters
    ----------
    paths : sequence of str
        N image files.
    out : numpy.ndarray or numpy.memmap
        uint8 array of shape ``(N, H, W, C)`` to fill (any writeable array, e.g. a
        memory-mapped cache file). Rows of unreadable files are set to 0.
    image_size, color_mode, interpolation, draft, crop_to_aspect_ratio, pad_to_aspect_ratio
        As for :func:`decode_image`.
    errors : {"raise", "collect"}
        "raise": after all threads finish, raise one :class:`UnreadableImageError`
        that names every file that failed and why. "collect": return the failures.
    progress : minicnn.progress.Progress, optional
        Updated as files finish.
    workers : int, optional
        Threads to use (default :func:`decode_workers`); 1 decodes in the calling thread.

    Returns
    -------
    list of (int, str)
        ``(i, message)`` for each file that could not be decoded, sorted by ``i``.
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect'; got {errors!r}")
    n = len(paths)
    if out.shape[0] != n:
        raise ValueError(f"out has {out.shape[0]} rows for {n} paths")
    height, width = check_image_size(image_size)
    check_aspect_ratio_mode(crop_to_aspect_ratio, pad_to_aspect_ratio)
    expected = (n, height, width, check_color_mode(color_mode))
    if out.shape != expected or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 of shape {expected}; got {out.dtype} {out.shape}")

    def work(start, stop):
        failed = []
        for i in range(start, stop):
            try:
                out[i] = decode_image(paths[i], image_size, color_mode, interpolation, draft,
                                      crop_to_aspect_ratio, pad_to_aspect_ratio)
            except UnreadableImageError as exc:
                out[i] = 0
                failed.append((i, str(exc)))
        if progress is not None:
            progress.update(stop - start)
        return failed

    workers = decode_workers() if workers is None else max(1, int(workers))
    # Enough chunks to keep every thread busy and the progress bar moving, few enough
    # that the per-task overhead of the pool stays small next to the decodes of a chunk.
    chunk = max(1, min(32, -(-n // (4 * workers))))
    if workers == 1 or n <= 1:
        failures = work(0, n)
    else:
        shared = workers == decode_workers()
        pool = _pool() if shared else ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(work, s, min(s + chunk, n)) for s in range(0, n, chunk)]
            failures = [f for future in futures for f in future.result()]
        finally:
            if not shared:
                pool.shutdown()
    failures.sort()
    if failures and errors == "raise":
        if len(failures) == 1:
            raise UnreadableImageError(failures[0][1])
        listing = "\n".join(f"  {message}" for _, message in failures)
        raise UnreadableImageError(f"{len(failures)} unreadable image files:\n{listing}")
    return failures
