"""Hypothesis strategies the kernel tests share."""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from minicnn.kernels.window import Window, conv_output_size


@st.composite
def conv_inputs(draw, max_channels, max_kernel):
    """A drawn ``(x, window)``: NHWC ``x`` (float32 or float64) and a convolution window over it
    with a non-empty output grid, up to ``max_channels`` channels and ``max_kernel`` taps a side."""
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c = draw(st.integers(1, max_channels))
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    assume(conv_output_size(h, kh, sh, padding)[0] > 0)
    assume(conv_output_size(w, kw, sw, padding)[0] > 0)
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(dtype)
    return x, Window.over((h, w), (kh, kw), (sh, sw), padding)
