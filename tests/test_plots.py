"""Each figure function writes a real PNG of a sensible size; images in every accepted form show right."""

import numpy as np
import pytest
from PIL import Image

from minicnn import plots as P

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES = ["NORMAL", "PNEUMONIA"]


def check_png(path, min_w=300, min_h=200):
    with open(path, "rb") as f:
        head = f.read(8)
    assert head == PNG_SIGNATURE
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        w, h = im.size
        pixels = np.asarray(im.convert("L"))
    assert min_w <= w <= 3000 and min_h <= h <= 3000
    assert pixels.std() > 5                    # something is drawn, not a blank canvas
    return w, h


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.45 * y + 0.55 * rng.random(200), 0, 1)
    gray = rng.integers(0, 256, (6, 32, 40, 1)).astype(np.uint8)
    rgb = rng.random((6, 32, 40, 3)) * 255.0
    return y, p, gray, rgb


@pytest.mark.parametrize("kind", ["gray_uint8", "rgb_float255", "gray_2d_float01"])
def test_sample_grid_accepts_every_image_form(tmp_path, data, kind):
    y, p, gray, rgb = data
    images = {"gray_uint8": gray, "rgb_float255": rgb, "gray_2d_float01": gray[..., 0] / 255.0}[kind]
    out = P.sample_grid(images, y[:6], CLASSES, tmp_path / "sub" / "grid.png")
    assert out == str(tmp_path / "sub" / "grid.png")
    check_png(out)


def test_augmentation_preview_rows(tmp_path, data):
    _, _, gray, rgb = data
    w5, h5 = check_png(P.augmentation_preview(np.stack([gray[:4], gray[2:]]), tmp_path / "a.png",
                                              col_titles=["original", "1", "2", "3"]))
    w1, h1 = check_png(P.augmentation_preview(rgb[:4], tmp_path / "b.png"), min_h=150)
    assert h5 > h1                             # two rows are taller than one
    check_png(P.augmentation_preview([list(rgb[:3]), list(rgb[3:])], tmp_path / "c.png",
                                     row_titles=["x", "y"]))


def test_training_curves_full_single_epoch_and_missing_keys(tmp_path):
    full = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, 0.55, 0.5], "accuracy": [0.6, 0.7, 0.8],
            "val_accuracy": [0.6, 0.65, 0.7], "auc": [float("nan"), 0.8, 0.9], "val_auc": [0.7, 0.8, 0.85]}
    w3, _ = check_png(P.training_curves(full, tmp_path / "full.png"))
    w1, _ = check_png(P.training_curves({"loss": [0.5], "val_auc": [0.7]}, tmp_path / "one.png"))
    assert w3 > w1                             # three panels are wider than two

    class History:                             # anything with a .history dict works
        history = {"loss": [0.5, 0.4]}
    check_png(P.training_curves(History(), tmp_path / "obj.png"), min_w=200)
    check_png(P.training_curves({}, tmp_path / "empty.png"), min_w=200)
    with pytest.raises(ValueError, match="history"):
        P.training_curves([0.5], tmp_path / "bad.png")


def test_evaluation_plots(tmp_path, data):
    y, p, _, _ = data
    check_png(P.roc_curve_plot(y, p, tmp_path / "roc.png", operating_points={"chosen": 0.3, "0.5": 0.5},
                               auc_ci=(0.8, 0.9)))
    check_png(P.roc_curve_plot(y, p, tmp_path / "roc2.png", operating_points=[0.2, 0.7]))
    check_png(P.pr_curve_plot(y, p, tmp_path / "pr.png", operating_points=0.5))
    check_png(P.confusion_matrix_plot(y, (p >= 0.5).astype(int), tmp_path / "cm.png", CLASSES))
    check_png(P.calibration_plot(y, p, tmp_path / "cal.png", n_bins=8))
    with pytest.raises(ValueError, match="only one class"):
        P.roc_curve_plot(np.ones(5), np.arange(5), tmp_path / "x.png")


def test_prediction_and_gradcam_grids(tmp_path, data):
    y, p, gray, rgb = data
    check_png(P.prediction_grid(gray, y[:6], p[:6], 0.5, CLASSES, tmp_path / "pred.png"))
    yy, xx = np.mgrid[:32, :40]
    heat = np.exp(-((yy - 10) ** 2 + (xx - 30) ** 2) / 50.0)[None].repeat(6, axis=0)
    check_png(P.gradcam_grid(rgb, heat, ["TP", "FP", "FN", "TN", "TP", "TN"], tmp_path / "gc.png"))
    with pytest.raises(ValueError, match="heatmaps"):
        P.gradcam_grid(rgb, heat[:3], ["a"] * 6, tmp_path / "gc2.png")
    with pytest.raises(ValueError, match="same length"):
        P.prediction_grid(gray, y[:5], p[:6], 0.5, CLASSES, tmp_path / "pred2.png")


def test_prediction_grid_titles_state_one_probability_against_one_threshold(tmp_path, monkeypatch):
    """Every film shows P(positive) and the threshold, never the predicted class's confidence."""
    drawn = []
    monkeypatch.setattr(P, "save_figure", lambda fig, path: drawn.append(fig) or str(path))
    images = np.zeros((3, 16, 16, 1), np.uint8)
    P.prediction_grid(images, [0, 1, 0], [0.21, 0.06, 0.05], 0.13, CLASSES, tmp_path / "p.png")
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_title()]
    assert titles == ["P(PNEUMONIA) 0.210 >= 0.130\npred PNEUMONIA\ntrue NORMAL  WRONG",
                      "P(PNEUMONIA) 0.060 < 0.130\npred NORMAL\ntrue PNEUMONIA  WRONG",
                      "P(PNEUMONIA) 0.050 < 0.130\npred NORMAL\ntrue NORMAL"]


def test_gradcam_grid_draws_the_box_on_each_overlay(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(P, "save_figure", lambda fig, path: drawn.append(fig) or str(path))
    images, heat = np.zeros((2, 20, 10, 1), np.uint8), np.zeros((2, 20, 10))
    P.gradcam_grid(images, heat, ["a", "b"], tmp_path / "g.png", box=(0.1, 0.2, 0.8, 0.9))
    boxes = [patch for ax in drawn[0].axes for patch in ax.patches]
    assert len(boxes) == 2                              # one per overlay, none on the films
    assert boxes[0].get_xy() == (1.5, 1.5) and (boxes[0].get_width(), boxes[0].get_height()) == (7, 14)


def test_no_global_backend_change(tmp_path, data):
    import matplotlib
    before = matplotlib.get_backend()
    P.confusion_matrix_plot([0, 1], [0, 1], tmp_path / "cm.png")
    assert matplotlib.get_backend() == before


# --- without a path: the Figure itself (a notebook shows it inline) -------------------------
def figure_calls(data):
    y, p, gray, rgb = data
    heat = np.linspace(0, 1, 32 * 40).reshape(1, 32, 40).repeat(6, axis=0)
    return {
        "sample_grid": lambda path: P.sample_grid(gray, y[:6], CLASSES, path),
        "augmentation_preview": lambda path: P.augmentation_preview(rgb[:4], path),
        "training_curves": lambda path: P.training_curves({"loss": [0.7, 0.5]}, path),
        "roc_curve_plot": lambda path: P.roc_curve_plot(y, p, path, operating_points=[0.5]),
        "pr_curve_plot": lambda path: P.pr_curve_plot(y, p, path),
        "confusion_matrix_plot": lambda path: P.confusion_matrix_plot(y, p > 0.5, path, CLASSES),
        "prediction_grid": lambda path: P.prediction_grid(gray, y[:6], p[:6], 0.5, CLASSES, path),
        "gradcam_grid": lambda path: P.gradcam_grid(rgb, heat, list("abcdef"), path),
        "calibration_plot": lambda path: P.calibration_plot(y, p, path),
    }


@pytest.mark.parametrize("name", sorted(figure_calls((None,) * 4)))
def test_without_a_path_the_figure_is_returned_open_and_equal_to_the_png(tmp_path, data, name):
    import io

    from matplotlib.figure import Figure

    draw = figure_calls(data)[name]
    fig = draw(None)
    assert isinstance(fig, Figure) and fig.axes
    assert P.__all__ and name in P.__all__
    written = draw(tmp_path / "f.png")
    assert written == str(tmp_path / "f.png")  # with a path: the path, as before
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=P.DPI, metadata={"Software": None})  # still drawable
    assert buffer.getvalue() == (tmp_path / "f.png").read_bytes()
