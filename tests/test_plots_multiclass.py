"""K-class figures: real PNGs of a sensible size that depend on the data; bad input is refused."""

import numpy as np
import pytest
from PIL import Image

from minicnn import plots_multiclass as PM

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES = ["NORMAL", "BACTERIA", "VIRUS"]


def read_png(path, min_w=300, min_h=300):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    with Image.open(path) as im:
        w, h = im.size
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert min_w <= w <= 3000 and min_h <= h <= 3000
    assert pixels.std() > 5                    # something is drawn, not a blank canvas
    return pixels


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 150)
    scores = rng.standard_normal((150, 3)) + 1.5 * np.eye(3)[y]
    return y, scores


def test_confusion_matrix_plot_writes_a_png_that_depends_on_the_data(tmp_path, data):
    y, scores = data
    out = PM.multiclass_confusion_matrix_plot(y, scores.argmax(axis=1), tmp_path / "sub" / "cm.png", CLASSES)
    assert out == str(tmp_path / "sub" / "cm.png")
    good = read_png(out)
    perfect = read_png(PM.multiclass_confusion_matrix_plot(y, y, tmp_path / "perfect.png", CLASSES))
    assert good.shape == perfect.shape and np.abs(good - perfect).mean() > 1.0
    # K = 5 with a class absent from both arrays: shown as an empty row and column
    five = read_png(PM.multiclass_confusion_matrix_plot(y, y, tmp_path / "five.png", num_classes=5))
    assert five.shape[0] > good.shape[0]       # the figure grows with K
    with pytest.raises(ValueError, match="class_names has 2 names"):
        PM.multiclass_confusion_matrix_plot(y, y, tmp_path / "x.png", ["a", "b"], num_classes=3)


def test_one_vs_rest_roc_plot_writes_a_png_and_refuses_an_absent_class(tmp_path, data):
    y, scores = data
    out = PM.one_vs_rest_roc_plot(y, scores, tmp_path / "roc.png", CLASSES)
    assert out == str(tmp_path / "roc.png")
    curves = read_png(out)
    chance = read_png(PM.one_vs_rest_roc_plot(y, np.zeros_like(scores), tmp_path / "chance.png", CLASSES))
    assert np.abs(curves - chance).mean() > 0.5
    read_png(PM.one_vs_rest_roc_plot(y, scores, tmp_path / "numbers.png"))  # names default to 0..K-1
    with pytest.raises(ValueError, match="class 2: it is absent"):
        PM.one_vs_rest_roc_plot(np.minimum(y, 1), scores, tmp_path / "x.png")
    with pytest.raises(ValueError, match="class_names has 4 names"):
        PM.one_vs_rest_roc_plot(y, scores, tmp_path / "x.png", CLASSES + ["extra"])


def test_no_pyplot_backend_switch(tmp_path, data):
    import matplotlib

    before = matplotlib.get_backend()
    y, scores = data
    PM.one_vs_rest_roc_plot(y, scores, tmp_path / "roc.png")
    assert matplotlib.get_backend() == before


@pytest.mark.parametrize("name", ["multiclass_confusion_matrix_plot", "one_vs_rest_roc_plot",
                                  "one_vs_rest_calibration_plot"])
def test_without_a_path_the_figure_is_returned_and_equals_the_png(tmp_path, data, name):
    import io

    from matplotlib.figure import Figure

    from minicnn.plots import DPI

    y, scores = data
    second = {"multiclass_confusion_matrix_plot": scores.argmax(axis=1),
              "one_vs_rest_roc_plot": scores, "one_vs_rest_calibration_plot": _softmax(scores)}[name]
    draw = getattr(PM, name)
    fig = draw(y, second, class_names=CLASSES)
    assert isinstance(fig, Figure) and fig.axes
    assert draw(y, second, tmp_path / "f.png", class_names=CLASSES) == str(tmp_path / "f.png")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    assert buffer.getvalue() == (tmp_path / "f.png").read_bytes()


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_one_vs_rest_calibration_plot_writes_a_png_and_refuses_non_probabilities(tmp_path, data):
    y, scores = data
    probs = _softmax(scores)
    out = PM.one_vs_rest_calibration_plot(y, probs, tmp_path / "cal.png", CLASSES)
    assert out == str(tmp_path / "cal.png")
    good = read_png(out)
    sure = read_png(PM.one_vs_rest_calibration_plot(y, np.eye(3)[y], tmp_path / "sure.png", CLASSES))
    assert good.shape == sure.shape and np.abs(good - sure).mean() > 0.5
    with pytest.raises(ValueError, match="softmax"):
        PM.one_vs_rest_calibration_plot(y, scores, tmp_path / "x.png")           # logits
    with pytest.raises(ValueError, match="summing to 1"):
        PM.one_vs_rest_calibration_plot(y, probs * 0.5, tmp_path / "x.png")      # rows sum to 0.5
    with pytest.raises(ValueError, match="class_names has 2 names"):
        PM.one_vs_rest_calibration_plot(y, probs, tmp_path / "x.png", ["a", "b"])


def test_the_calibration_title_gives_the_k_class_brier_score(data):
    """sum_c mean((p_c - [y = c])^2): (K - 1) / K for P = 1/K everywhere, 0 for sure and right."""
    y, _ = data
    uniform = PM.one_vs_rest_calibration_plot(y, np.full((len(y), 3), 1 / 3), class_names=CLASSES)
    assert "Brier score 0.667" in uniform.axes[0].get_title()
    sure = PM.one_vs_rest_calibration_plot(y, np.eye(3)[y], class_names=CLASSES)
    assert "Brier score 0.000" in sure.axes[0].get_title()
