"""The stress test's distortions (examples/chest_xray/stress.py) do what their names say."""

import numpy as np

from chest_xray import stress


def column_profile(n=24):
    """A bright vertical band in the middle third of a dark square, (1, n, n, 1)."""
    x = np.zeros((1, n, n, 1), np.float32)
    x[:, :, n // 3: 2 * n // 3] = 255.0
    return x


def test_width_zooms_squeeze_and_stretch_sideways_only():
    d = stress.distortions("constant")
    assert list(d) == ["width_zoom_0.8", "width_zoom_1.25", "blur_1px", "sharpen_2", "border_masked"]
    x = column_profile()
    band = (x[0, 12, :, 0] > 127).sum()
    squeezed = d["width_zoom_1.25"][1](x)
    stretched = d["width_zoom_0.8"][1](x)
    assert squeezed.shape == stretched.shape == x.shape
    assert (squeezed[0, 12, :, 0] > 127).sum() < band < (stretched[0, 12, :, 0] > 127).sum()
    # Height is untouched: every row of the band reads the same.
    assert np.allclose(squeezed[0, 0], squeezed[0, -1]) and np.allclose(stretched[0, 0], stretched[0, -1])


def test_blur_softens_and_sharpen_steepens_the_edges():
    d = stress.distortions("constant")
    x = column_profile()
    edge = lambda img: np.abs(np.diff(img[0, 12, :, 0])).max()  # noqa: E731
    assert edge(d["blur_1px"][1](x)) < edge(x)
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 20, x.shape), 0, 255).astype(np.float32)
    assert np.std(np.diff(d["sharpen_2"][1](noisy), axis=2)) > np.std(np.diff(noisy, axis=2))


def test_describe_has_one_line_per_distortion():
    result = {"a": {"what": "squeezed", "auc": 0.91234, "sensitivity": 0.9, "specificity": 0.8}}
    assert stress.describe(result) == ["squeezed: AUC 0.912, sensitivity 0.900, specificity 0.800"]


def test_border_mask_blacks_out_the_edge_band_and_keeps_the_centre():
    x = np.full((2, 50, 40, 1), 200.0, np.float32)
    masked = stress.distortions("constant")["border_masked"][1](x)
    band_h, band_w = round(stress.BORDER_BAND * 50), round(stress.BORDER_BAND * 40)
    assert (masked[:, :band_h] == 0).all() and (masked[:, -band_h:] == 0).all()
    assert (masked[:, :, :band_w] == 0).all() and (masked[:, :, -band_w:] == 0).all()
    assert (masked[:, band_h:-band_h, band_w:-band_w] == 200).all()
    assert (x == 200).all()   # the input is not touched
