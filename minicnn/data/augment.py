"""Random augmentation of training batches, with the meanings of Keras's preprocessing layers.

Every augmentation here is a callable ``aug(images, training=True)``:

* ``images`` is an NHWC batch ``(N, H, W, C)`` (one image ``(H, W, C)`` is also accepted and
  returned as one image). float32 and float64 keep their dtype; integer images become float32,
  as Keras's layers output floats.
* ``training=False`` returns the images unchanged (augmentation is for training only).
  :class:`Rescaling` is not random and applies in both modes, as in Keras.
* Each image of a batch gets its own random draw, taken from ``self.rng``, a
  ``numpy.random.Generator`` made from ``seed``: one seed makes a run repeatable.
  The draws of the last call are kept in ``self.last_params`` (for tests and reports).

Geometric augmentations (:class:`RandomRotation`, :class:`RandomZoom`, :class:`RandomFlip`)
are affine maps. Each one is an OUTPUT -> INPUT matrix in homogeneous (row, col, 1) pixel
coordinates, about the image centre ``(cr, cc) = ((H-1)/2, (W-1)/2)``::

    rotation by theta, counter-clockwise       zoom by (zh, zw)          horizontal flip
    [[ cos t, sin t, .],                       [[zh, 0,  .],             [[1,  0,  0   ],
     [-sin t, cos t, .],                        [0,  zw, .],              [0, -1,  W-1 ],
     [ 0,     0,     1]]                        [0,  0,  1]]              [0,  0,  1   ]]

(the "." is the translation ``t = centre - A @ centre`` that keeps the centre fixed). Applying
layer 1, then layer 2, ... is ONE map ``M = M1 @ M2 @ ...`` (output -> input maps compose in
the order the layers run). :class:`Augmenter` uses this to run consecutive geometric layers as a
single warp (:func:`minicnn.kernels.warp.affine_warp`): one bilinear sample per output pixel
instead of one blur per layer, and no "fill of a fill" at the borders.
"""

import copy
import inspect
import math
import numbers

import numba
import numpy as np

from minicnn.kernels.warp import FILL_MODES, INTERPOLATIONS, affine_warp

__all__ = [
    "Augmenter",
    "Compose",
    "PerImageStandardization",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "Rescaling",
    "augmentation_preview",
    "flip_matrices",
    "rotation_matrices",
    "zoom_matrices",
]


# --------------------------------------------------------------------------------------
# Affine matrices, (N, 3, 3) float64, output -> input, (row, col) pixel coordinates.
# --------------------------------------------------------------------------------------
def _about_centre(a, height, width):
    """Complete 2x2 maps ``a`` (N, 2, 2) to (N, 3, 3) maps that keep the image centre fixed."""
    centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    m = np.zeros((a.shape[0], 3, 3))
    m[:, :2, :2] = a
    m[:, :2, 2] = centre - a @ centre           # t = centre - A centre
    m[:, 2, 2] = 1.0
    return m


def rotation_matrices(angles_degrees, height, width):
    """Output -> input maps rotating images by ``angles_degrees`` counter-clockwise.

    With rows pointing down, a counter-clockwise turn of the picture by theta samples output
    pixel (r, c) (centred) from input (cos t r + sin t c, -sin t r + cos t c). At 90 degrees
    this is ``np.rot90``.
    """
    theta = np.radians(np.asarray(angles_degrees, dtype=np.float64))
    cos, sin = np.cos(theta), np.sin(theta)
    a = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # (N, 2, 2)
    return _about_centre(a, height, width)


def zoom_matrices(height_zoom, width_zoom, height, width):
    """Output -> input maps scaling the sampled region by ``height_zoom`` and ``width_zoom``.

    A zoom z > 1 samples a region z times larger than the image: the content shrinks
    (zoom OUT, borders filled by the fill mode). z < 1 samples a smaller region: the content
    grows (zoom IN).
    """
    zh = np.asarray(height_zoom, dtype=np.float64)
    zw = np.asarray(width_zoom, dtype=np.float64)
    a = np.zeros(zh.shape + (2, 2))
    a[:, 0, 0] = zh
    a[:, 1, 1] = zw
    return _about_centre(a, height, width)


def flip_matrices(horizontal, vertical, height, width):
    """Output -> input maps mirroring left-right where ``horizontal`` and top-bottom where ``vertical``."""
    a = np.zeros((len(horizontal), 2, 2))
    a[:, 0, 0] = np.where(vertical, -1.0, 1.0)
    a[:, 1, 1] = np.where(horizontal, -1.0, 1.0)
    return _about_centre(a, height, width)


# --------------------------------------------------------------------------------------
# Argument checks shared by the layers here and in minicnn.data.sharpness (public for that).
# --------------------------------------------------------------------------------------
def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def symmetric_range(factor, name, owner):
    """A factor f means [-f, f]; a pair (lo, hi) means itself. Returns (lo, hi) as floats."""
    if is_number(factor):
        if factor < 0:
            raise ValueError(
                f"{owner}: {name} must be >= 0 when a single number (it means [-{name}, {name}]), "
                f"got {factor}; pass a pair (lower, upper) for an asymmetric range"
            )
        return (-float(factor), float(factor))
    if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(is_number(f) for f in factor):
        lo, hi = float(factor[0]), float(factor[1])
        if lo > hi:
            raise ValueError(f"{owner}: {name}=({lo}, {hi}) has lower > upper")
        return (lo, hi)
    raise ValueError(f"{owner}: {name} must be a number or a pair (lower, upper), got {factor!r}")


def factor_around_one(factor, owner, quantity):
    """A factor for an amount in [1 - lower, 1 + upper]: ``f`` means (f, f). Returns (lower, upper)."""
    if is_number(factor):
        lower = upper = float(factor)
    elif isinstance(factor, (tuple, list)) and len(factor) == 2 and all(is_number(f) for f in factor):
        lower, upper = float(factor[0]), float(factor[1])
    else:
        raise ValueError(f"{owner}: factor must be a number or a pair, got {factor!r}")
    if lower < 0 or upper < 0 or lower > 1:
        raise ValueError(
            f"{owner}: factor needs 0 <= lower <= 1 and upper >= 0 ({quantity} in "
            f"[1 - lower, 1 + upper]), got {factor!r}"
        )
    return lower, upper


def check_value_range(value_range, owner):
    """``(low, high)`` as a tuple, or ValueError naming ``owner``."""
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(is_number(v) for v in value_range) or value_range[0] >= value_range[1]):
        raise ValueError(f"{owner}: value_range must be (low, high) with low < high, got {value_range!r}")
    return tuple(value_range)


def as_batch(images, owner):
    """(N, H, W, C) float array from ``images``; also says whether one image was given."""
    x = np.asarray(images)
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(
            f"{owner}: expected images of shape (N, H, W, C) or one image (H, W, C), "
            f"got shape {np.shape(images)}"
        )
    if x.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(x.dtype, np.integer) or x.dtype == bool):
            raise ValueError(f"{owner}: images must be a real number array, got dtype {x.dtype}")
        x = x.astype(np.float32)
    return x, single


class Augmentation:
    """What every augmentation shares: the seeded generator, ``training``, one image or a batch."""

    random = True          # False for deterministic layers (Rescaling): they run at inference too

    def __init__(self, seed=None):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.last_params = None

    def reseed(self, seed):
        """Restart the random stream from ``seed`` (an int, a SeedSequence or a Generator)."""
        self.rng = np.random.default_rng(seed)

    def __call__(self, images, training=True):
        x, single = as_batch(images, type(self).__name__)
        if training or not self.random:
            x = self.apply(x)
        return x[0] if single else x

    def apply(self, x):
        """Augment the (N, H, W, C) float batch ``x``; returns a new array."""
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments, read back from the attributes of the same name."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class GeometricAugmentation(Augmentation):
    """An augmentation that is an affine map per image (rotation, zoom, flip)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0):
        super().__init__(seed)
        owner = type(self).__name__
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{owner}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"{owner}: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}"
            )
        if not is_number(fill_value):
            raise ValueError(f"{owner}: fill_value must be a finite number, got {fill_value!r}")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    @property
    def warp_settings(self):
        """What a fused warp needs to agree on; None = no border sampling (flips)."""
        return (self.fill_mode, self.interpolation, float(self.fill_value))

    def draw_matrices(self, n, height, width):
        """Draw parameters for ``n`` images (kept in ``last_params``); (n, 3, 3) output -> input maps."""
        raise NotImplementedError

    def apply(self, x):
        n, h, w, _ = x.shape
        m = self.draw_matrices(n, h, w)
        return affine_warp(x, m[:, :2], self.fill_mode, self.interpolation, self.fill_value)


# --------------------------------------------------------------------------------------
# The layers.
# --------------------------------------------------------------------------------------
class RandomRotation(GeometricAugmentation):
    """Rotate each image by a random angle about its centre.

    Parameters
    ----------
    factor : float or (float, float)
        A fraction of a full turn. ``f`` draws the angle uniformly in [-f*360, f*360] degrees;
        a pair ``(lo, hi)`` draws it in [lo*360, hi*360]. Positive angles turn the picture
        counter-clockwise (Keras's convention; +90 degrees equals ``np.rot90`` on axes (1, 2)).
    fill_mode : {"reflect", "wrap", "nearest", "constant"}
        How the corners uncovered by the turn are filled (see :mod:`minicnn.kernels.warp`).
    interpolation : {"bilinear", "nearest"}
    seed : int or None
    fill_value : float
        The fill for ``fill_mode="constant"``.

    ``last_params``: ``{"angle": (N,) degrees}``.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.factor = factor
        self.lower, self.upper = symmetric_range(factor, "factor", "RandomRotation")

    def draw_matrices(self, n, height, width):
        angles = self.rng.uniform(self.lower, self.upper, size=n) * 360.0
        self.last_params = {"angle": angles}
        return rotation_matrices(angles, height, width)


class RandomZoom(GeometricAugmentation):
    """Zoom each image in or out by a random amount about its centre.

    Parameters
    ----------
    height_factor : float or (float, float)
        As in Keras: ``f`` draws a vertical zoom ``zh = 1 + u`` with u uniform in [-f, f], i.e.
        zh in [1-f, 1+f]; a pair ``(lo, hi)`` draws zh in [1+lo, 1+hi] (needs lo > -1).
        zh is the height of the input region that fills the output, in image heights:
        **zh > 1 (positive u) zooms OUT** (the picture shrinks, borders are filled by
        ``fill_mode``); **zh < 1 (negative u) zooms IN** (the centre is magnified and the
        rim is cut off). ``height_factor=(0.2, 0.3)`` zooms out by 20% to 30%.
    width_factor : float, (float, float) or None
        The same for the horizontal zoom, drawn independently; None (default) uses the
        vertical draw for both, keeping the aspect ratio.
    fill_mode, interpolation, seed, fill_value
        As :class:`RandomRotation`.

    ``last_params``: ``{"height_zoom": (N,), "width_zoom": (N,)}``.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0):
        super().__init__(fill_mode, interpolation, seed, fill_value)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.height_range = symmetric_range(height_factor, "height_factor", "RandomZoom")
        self.width_range = (None if width_factor is None
                            else symmetric_range(width_factor, "width_factor", "RandomZoom"))
        for name, r in (("height_factor", self.height_range), ("width_factor", self.width_range)):
            if r is not None and r[0] <= -1.0:
                raise ValueError(
                    f"RandomZoom: {name} must stay above -1 (a zoom of 1 + factor must be > 0), "
                    f"got the range {r}"
                )

    def draw_matrices(self, n, height, width):
        zh = 1.0 + self.rng.uniform(*self.height_range, size=n)
        zw = zh if self.width_range is None else 1.0 + self.rng.uniform(*self.width_range, size=n)
        self.last_params = {"height_zoom": zh, "width_zoom": zw}
        return zoom_matrices(zh, zw, height, width)


class RandomFlip(GeometricAugmentation):
    """Mirror each image with probability 1/2 (per direction, independently).

    Parameters
    ----------
    mode : {"horizontal", "vertical", "horizontal_and_vertical"}
        Default "horizontal" (left-right). NOTE: Keras's default is "horizontal_and_vertical";
        ours differs because an upside-down photo or scan is rarely a plausible image. Even a
        left-right flip swaps the patient's sides on a medical image, so think before using it.
    seed : int or None

    ``last_params``: ``{"horizontal": (N,) bool, "vertical": (N,) bool}``.
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal", seed=None):
        super().__init__(seed=seed)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip: mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    @property
    def warp_settings(self):
        return None   # a flip samples pixel centres only: it agrees with any fill mode

    def _draw(self, n):
        no = np.zeros(n, dtype=bool)
        horizontal = self.rng.random(n) < 0.5 if "horizontal" in self.mode else no
        vertical = self.rng.random(n) < 0.5 if "vertical" in self.mode else no
        self.last_params = {"horizontal": horizontal, "vertical": vertical}
        return horizontal, vertical

    def draw_matrices(self, n, height, width):
        return flip_matrices(*self._draw(n), height, width)

    def apply(self, x):
        # Alone, a flip is a copy with reversed indices: no need to interpolate.
        horizontal, vertical = self._draw(x.shape[0])
        out = x.copy()
        out[horizontal] = out[horizontal, :, ::-1]
        out[vertical] = out[vertical, ::-1]
        return out


class RandomContrast(Augmentation):
    """Scale each image's deviation from its own mean by a random factor.

    For image i, channel k, with ``m_ik`` the mean of that channel over the image and one
    factor ``c_i`` per image drawn uniformly in [1 - lower, 1 + upper]::

        out = clip((x - m_ik) * c_i + m_ik, *value_range)

    The per-channel means are kept (up to the clipping). The work is done by a small Numba
    kernel (:func:`_contrast_numba`) beside its NumPy reference (:func:`contrast_reference`).

    Parameters
    ----------
    factor : float or (float, float)
        ``f`` means lower = upper = f, so c in [1-f, 1+f]; a pair (lower, upper) means
        c in [1-lower, 1+upper]. Both >= 0 and lower <= 1, as Keras requires.
    seed : int or None
    value_range : (float, float)
        The range of pixel values the pipeline uses; outputs are clipped to it. Keras's
        default (0, 255) is ours too: minicnn's datasets yield float32 in [0, 255]. If you
        put Rescaling(1/255) BEFORE the contrast, pass value_range=(0, 1).

    ``last_params``: ``{"contrast": (N,)}``.
    """

    def __init__(self, factor, seed=None, value_range=(0, 255)):
        super().__init__(seed)
        self.factor = factor
        self.lower, self.upper = factor_around_one(factor, "RandomContrast", "contrast")
        self.value_range = check_value_range(value_range, "RandomContrast")

    def apply(self, x):
        c = 1.0 + self.rng.uniform(-self.lower, self.upper, size=x.shape[0])
        self.last_params = {"contrast": c}
        lo, hi = self.value_range
        return _contrast_numba(np.ascontiguousarray(x), c, float(lo), float(hi), np.empty_like(x))


def contrast_reference(x, c, lo, hi):
    """NumPy reference of the contrast kernel: ``clip((x - m) c + m, lo, hi)`` per image, channel.

    ``x`` (N, H, W, C) float, ``c`` (N,) contrast factors; the means ``m`` (N, 1, 1, C) are
    accumulated in float64 (50,176 float32 values per channel would lose digits).
    """
    means = x.mean(axis=(1, 2), keepdims=True, dtype=np.float64)
    scale = np.asarray(c, dtype=np.float64).reshape(-1, 1, 1, 1)
    out = (x - means) * scale + means
    return np.clip(out, lo, hi).astype(x.dtype)


@numba.njit(cache=True, fastmath={"reassoc"})
def _channel_means(image, means):
    """Per-channel means of one contiguous (H, W, C) image, in float64.

    ``reassoc`` lets LLVM keep several partial sums in SIMD registers; in float64 the
    changed order of 50,176 additions moves the mean by about 1e-12 relative.
    """
    h, w, channels = image.shape
    flat = image.reshape(h * w * channels)
    for k in range(channels):
        s = 0.0
        for p in range(k, flat.size, channels):
            s += flat[p]
        means[k] = s / (h * w)


@numba.njit(cache=True, parallel=True)
def _contrast_numba(x, c, lo, hi, out):
    """The same as :func:`contrast_reference`, two passes over each image, parallel over images.

    (NumPy's strided mean over the (H, W) axes alone costs several times this whole kernel.)
    """
    n, h, w, channels = x.shape
    for i in numba.prange(n):
        means = np.empty(channels)
        _channel_means(x[i], means)
        src = x[i].reshape(h * w * channels)
        dst = out[i].reshape(h * w * channels)
        for p in range(h * w):
            for k in range(channels):
                v = (src[p * channels + k] - means[k]) * c[i] + means[k]
                dst[p * channels + k] = min(max(v, lo), hi)
    return out


class Rescaling(Augmentation):
    """``x * scale + offset``: not random, so it applies at inference too (as in Keras).

    ``Rescaling(1/255)`` maps [0, 255] to [0, 1]; ``Rescaling(1/127.5, offset=-1)`` to [-1, 1].
    """

    random = False

    def __init__(self, scale, offset=0.0):
        super().__init__(seed=None)
        if not is_number(scale) or not is_number(offset):
            raise ValueError(f"Rescaling: scale and offset must be finite numbers, got {scale!r}, {offset!r}")
        self.scale = scale
        self.offset = offset

    def apply(self, x):
        # Python floats keep the dtype of x (an np.float64 scalar would promote float32).
        out = np.multiply(x, float(self.scale))
        if self.offset:
            out += float(self.offset)
        return out


class PerImageStandardization(Augmentation):
    """Each image to mean 0 and standard deviation 1: ``(x - mean) / max(std, 1 / sqrt(n))``.

    ``mean`` and ``std`` are taken over all ``n = H * W * C`` values of ONE image, so every
    image is judged on its own contrast, not on how bright or contrasty its camera or scanner
    made it. The floor ``1 / sqrt(n)`` keeps a flat image (std 0) finite: it maps to zeros.
    Same meaning as ``tf.image.per_image_standardization``. Not random: it applies at
    inference too, like :class:`Rescaling`, and it makes a Rescaling before it redundant
    (any ``x * a + b`` with ``a > 0`` standardizes to the same result).
    """

    random = False

    def __init__(self):
        super().__init__(seed=None)

    def apply(self, x):
        axes = (1, 2, 3)
        mean = x.mean(axis=axes, keepdims=True)
        std = x.std(axis=axes, keepdims=True)
        floor = 1.0 / math.sqrt(x[0].size)   # a Python float keeps x's dtype
        return (x - mean) / np.maximum(std, floor)


# --------------------------------------------------------------------------------------
# Chaining.
# --------------------------------------------------------------------------------------
class Augmenter:
    """Apply augmentation layers in order; consecutive geometric ones as ONE warp.

    Parameters
    ----------
    layers : list of callables
        minicnn augmentations (or any ``f(images, training=...)``), applied first to last.
    fuse : bool
        Run each run of consecutive geometric layers (RandomRotation, RandomZoom,
        RandomFlip) as one affine warp ``M = M1 @ M2 @ ...``. Each layer still draws its own
        parameters from its own generator, so fused and unfused runs draw the same numbers;
        they differ only in that the fused one resamples once (sharper, and the borders
        are filled once from the original image). Layers whose fill settings differ are
        not fused with each other.
    seed : int or None
        If given, reseed every layer from this one seed (independent child streams), so one
        number makes the whole pipeline repeatable.

    Example
    -------
    >>> augment = Augmenter([RandomRotation(0.1), RandomZoom(0.1), RandomContrast(0.1)], seed=0)
    >>> batch = augment(batch)                       # training
    >>> batch = augment(batch, training=False)       # identity (Rescaling would still apply)
    """

    def __init__(self, layers, fuse=True, seed=None):
        layers = list(layers)
        for layer in layers:
            if not callable(layer):
                raise ValueError(f"Augmenter: every layer must be callable, got {layer!r}")
        self.layers = layers
        self.fuse = fuse
        self.seed = seed
        if seed is not None:
            self.reseed(seed)

    def reseed(self, seed):
        """Give every layer an independent stream derived from ``seed``."""
        children = np.random.SeedSequence(seed).spawn(len(self.layers))
        for layer, child in zip(self.layers, children):
            if hasattr(layer, "reseed"):
                layer.reseed(child)

    @property
    def last_params(self):
        return [getattr(layer, "last_params", None) for layer in self.layers]

    def _runs(self):
        """Split the layers into runs: lists of fusable geometric layers, or single layers."""
        runs, current, settings = [], [], None
        for layer in self.layers:
            geometric = self.fuse and isinstance(layer, GeometricAugmentation)
            s = layer.warp_settings if geometric else None
            if geometric and (settings is None or s is None or s == settings):
                current.append(layer)
                settings = settings or s
                continue
            if current:
                runs.append(current)
            current, settings = ([layer], s) if geometric else ([], None)
            if not geometric:
                runs.append([layer])
        if current:
            runs.append(current)
        return runs

    def __call__(self, images, training=True):
        x, single = as_batch(images, "Augmenter")
        for run in self._runs():
            if len(run) == 1:
                x = run[0](x, training=training)
            elif training:
                x = self._fused_warp(run, x)
        return x[0] if single else x

    @staticmethod
    def _fused_warp(run, x):
        n, h, w, _ = x.shape
        m = np.tile(np.eye(3), (n, 1, 1))
        for layer in run:
            m = m @ layer.draw_matrices(n, h, w)   # output -> input maps compose left to right
        settings = next((layer.warp_settings for layer in run if layer.warp_settings), None)
        fill_mode, interpolation, fill_value = settings or ("reflect", "bilinear", 0.0)
        return affine_warp(x, m[:, :2], fill_mode, interpolation, fill_value)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Augmenter([{inner}], fuse={self.fuse}, seed={self.seed!r})"


Compose = Augmenter   # the torchvision name for the same idea


def augmentation_preview(image, augmenter, n=8, seed=0):
    """``n`` augmented copies of one image, for a figure in the report.

    Works on a copy of ``augmenter`` reseeded from ``seed``, so the preview is repeatable and
    the training augmenter's random stream is left untouched.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, C) or (1, H, W, C)
    augmenter : Augmenter or a single augmentation layer
    n : int
    seed : int

    Returns
    -------
    ndarray, shape (n, H, W, C), float (float32 unless the image was float64).
    """
    x = np.asarray(image)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(
            f"augmentation_preview: image must be (H, W), (H, W, C) or (1, H, W, C), got {np.shape(image)}"
        )
    if not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"augmentation_preview: n must be a positive integer, got {n!r}")
    preview = copy.deepcopy(augmenter if isinstance(augmenter, Augmenter) else Augmenter([augmenter]))
    preview.reseed(seed)
    batch = np.repeat(x[None], n, axis=0)
    return preview(batch, training=True)
