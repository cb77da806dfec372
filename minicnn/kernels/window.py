"""Where a sliding window visits an image: the geometry of a convolution or a pooling.

Along one axis of length ``size``, a window of length ``kernel`` moving by ``stride``
gives, the TensorFlow/Keras way,

* ``"valid"``: only windows that fit, ``out = (size - kernel) // stride + 1``, no padding;
* ``"same"``:  ``out = ceil(size / stride)``; the zeros needed,
  ``total = max((out - 1) * stride + kernel - size, 0)``, split with the smaller half
  before (top/left) and the extra one after (bottom/right).

:func:`conv_output_size` is that formula, written once. :class:`Window` applies it to
both axes of an ``(H, W)`` image and keeps everything a kernel needs: window size,
strides, all four pads and the output grid. Conv2D and MaxPool2D each build one in
``build`` and hand it to their kernels.
"""

from dataclasses import dataclass

__all__ = ["conv_output_size", "Window"]


def conv_output_size(size, kernel, stride, padding):
    """``(out, pad_before, pad_after)`` along one axis (see the module docstring).

    ``out`` is 0 or negative when a ``"valid"`` window does not fit; callers check.
    """
    if padding == "valid":
        return (size - kernel) // stride + 1, 0, 0
    if padding == "same":
        out = -(-size // stride)  # ceil division
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


@dataclass(frozen=True)
class Window:
    """A ``(kh, kw)`` window sliding over an ``(in_h, in_w)`` image by ``(sh, sw)``.

    Window cell ``(i, j)`` of output position ``(oh, ow)`` reads input pixel
    ``(oh*sh - pad_top + i, ow*sw - pad_left + j)``; pixels outside the image are
    padding. Build one with :meth:`over`.
    """

    kh: int
    kw: int
    sh: int
    sw: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int

    @classmethod
    def over(cls, image_size, kernel, strides, padding):
        """The window of ``kernel`` (kh, kw) and ``strides`` (sh, sw) over ``image_size`` (H, W).

        Raises ValueError when a ``"valid"`` window does not fit in the image.
        """
        (h, w), (kh, kw), (sh, sw) = image_size, kernel, strides
        out_h, top, bottom = conv_output_size(h, kh, sh, padding)
        out_w, left, right = conv_output_size(w, kw, sw, padding)
        if out_h <= 0 or out_w <= 0:
            raise ValueError(f"the image ({h}, {w}) is smaller than the window ({kh}, {kw}) "
                             f"with padding {padding!r}")
        return cls(kh, kw, sh, sw, top, bottom, left, right, h, w, out_h, out_w)

    @property
    def size(self):
        """Values per window and channel, ``kh * kw``."""
        return self.kh * self.kw

    def loop_bounds(self):
        """``(kh, kw, sh, sw, pad_top, pad_left, out_h, out_w)``: what the Numba loops read."""
        return (self.kh, self.kw, self.sh, self.sw, self.pad_top, self.pad_left,
                self.out_h, self.out_w)
