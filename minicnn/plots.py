"""Figures for a run: data, training, and a clinician's view of the results.

Every function draws one figure. Given a ``path``, it writes the figure as a PNG
there (creating the folder) and returns ``path`` as a string. Without one
(``path=None``), it returns the ``matplotlib.figure.Figure`` itself: in a Jupyter
notebook, a cell ending in ``plots.roc_curve_plot(y, p)`` shows it inline, and
``fig.savefig(...)`` still writes it. Figures are drawn on a ``Figure`` with an Agg
canvas, never through ``pyplot``: no window opens, no global backend is switched,
and nothing is kept alive by pyplot (a written figure is freed after the call, a
returned one when you drop it; pyplot would keep every figure until closed).

Images may be grayscale ``(H, W)`` / ``(H, W, 1)`` or RGB ``(H, W, 3)``, as
uint8 or float, read as :func:`minicnn.display.to_display` reads them.
"""

import math
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import metrics as M
from .display import to_display
from .files import atomic_write
from .explain import box_pixels, overlay

__all__ = [
    "sample_grid", "augmentation_preview", "training_curves", "roc_curve_plot",
    "pr_curve_plot", "confusion_matrix_plot", "prediction_grid", "gradcam_grid",
    "calibration_plot", "to_display",
]

DPI = 100


# --- helpers -----------------------------------------------------------------------------
def new_figure(width, height):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)                    # attach the non-interactive canvas
    return fig


def style_roc_axes(ax):
    """ROC axes: 1 - specificity against sensitivity on [0, 1]^2, square, gridded, legend."""
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def style_reliability_axes(ax, ylabel):
    """Reliability axes: observed share (``ylabel``) against predicted probability on [0, 1]^2."""
    ax.set_ylabel(ylabel)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def save_figure(fig, path):
    """Write ``fig`` to ``path`` as a PNG and return ``path``; with no path, return ``fig``."""
    if path is None:
        return fig
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    # No "Software" text chunk: the PNG then holds pixels only (matplotlib writes its URL there).
    # Written to a temporary file and renamed: a killed run never leaves half a PNG.
    with atomic_write(path, prefix=".minicnn-plot-", suffix=".png") as f:
        fig.savefig(f, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _as_image_list(images, name="images"):
    """A batch (N, H, W) / (N, H, W, C) or a list of images -> list of images."""
    if isinstance(images, np.ndarray) and images.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a batch (N, H, W) or (N, H, W, C), got shape {images.shape}")
    return list(images)


def _is_single_image(a):
    a = np.asarray(a)
    return a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (1, 3))


def _grid(n, ncols=None):
    if n < 1:
        raise ValueError("nothing to draw: the image list is empty")
    ncols = ncols or min(n, 4 if n <= 8 else 6)
    return int(math.ceil(n / ncols)), int(ncols)


def _image_axes(fig, nrows, ncols):
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    return axes


def _class_name(class_names, label):
    label = int(label)
    if class_names is None:
        return str(label)
    return str(class_names[label])


def _check_binary_curve_input(y_true, y_score):
    y = M.as_labels(y_true, "y_true")
    s = M.as_scores(y_score, "y_score")
    M.check_pair(y, s, "y_true", "y_score")
    return y, s


def _operating_points(operating_points):
    """None, a float, a list of floats or a dict label -> threshold, as (label, threshold) pairs."""
    if operating_points is None:
        return []
    if isinstance(operating_points, dict):
        return [(str(k), float(v)) for k, v in operating_points.items()]
    if np.ndim(operating_points) == 0:
        operating_points = [operating_points]
    return [(f"threshold {float(t):.3g}", float(t)) for t in operating_points]


# --- data ----------------------------------------------------------------------------------
def sample_grid(images, labels, class_names, path=None, ncols=None, title="Sample images"):
    """A grid of raw images, each titled with its class name.

    Parameters
    ----------
    images : array (N, H, W[, C]) or list of images
    labels : array (N,) of class indices
    class_names : sequence of str, indexed by label (or None to show the numbers)
    path : where to write the PNG; None returns the Figure
    """
    imgs = _as_image_list(images)
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != len(imgs):
        raise ValueError(f"labels has {labels.shape[0]} entries but images has {len(imgs)}")
    nrows, ncols = _grid(len(imgs), ncols)
    fig = new_figure(2.2 * ncols, 2.4 * nrows + 0.4)
    axes = _image_axes(fig, nrows, ncols)
    for ax, img, lab in zip(axes.ravel(), imgs, labels):
        ax.imshow(to_display(img))
        ax.set_title(_class_name(class_names, lab), fontsize=9)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def augmentation_preview(images, path=None, row_titles=None, col_titles=None,
                         title="Augmentation preview"):
    """Rows of augmented copies: one row per source image.

    Parameters
    ----------
    images : array (R, K, H, W[, C]) (R rows of K copies), array (K, H, W[, C])
        (one row), or a list of rows, each a list/array of images.
    path : where to write the PNG; None returns the Figure
    row_titles : optional list of R strings, shown at the left of each row
    col_titles : optional list of K strings, e.g. ["original", "aug 1", ...]
    """
    # Tell one row of images from several rows: a trailing axis of 1 or 3 is channels.
    if isinstance(images, np.ndarray):
        if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (1, 3)):
            rows = [list(images)]           # (K, H, W) or (K, H, W, C): one row
        elif images.ndim in (4, 5):
            rows = [list(r) for r in images]  # (R, K, H, W) or (R, K, H, W, C)
        else:
            raise ValueError(f"images: expected 3 to 5 dimensions, got shape {images.shape}")
    else:
        images = list(images)
        rows = [images] if images and _is_single_image(images[0]) else [list(r) for r in images]
    if not rows or not rows[0]:
        raise ValueError("images: nothing to draw")
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig = new_figure(2.0 * ncols, 2.1 * nrows + 0.4)
    axes = _image_axes(fig, nrows, ncols)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            ax = axes[i, j]
            ax.imshow(to_display(img))
            if i == 0 and col_titles is not None and j < len(col_titles):
                ax.set_title(str(col_titles[j]), fontsize=9)
        if row_titles is not None and i < len(row_titles):
            # Axis is off, so place the row label as text to the left of the first image.
            axes[i, 0].text(-0.05, 0.5, str(row_titles[i]), transform=axes[i, 0].transAxes,
                            rotation=90, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


# --- training ------------------------------------------------------------------------------
_CURVE_ORDER = ["loss", "accuracy", "auc", "precision", "recall"]


def training_curves(history, path=None, title="Training curves"):
    """Loss and metrics per epoch, training and validation side by side.

    Parameters
    ----------
    history : dict name -> list of per-epoch values (Keras style: "loss",
        "val_loss", "accuracy", "val_accuracy", "auc", "val_auc", ...), or an
        object with such a dict in ``.history``. One panel per base name
        present, loss, accuracy and AUC first; missing keys are left out, nan
        values (an undefined AUC) leave gaps, a single epoch shows as points.
    """
    hist = getattr(history, "history", history)
    if not isinstance(hist, dict):
        raise ValueError(f"history: expected a dict of per-epoch lists or a History, got {type(history).__name__}")
    bases = [k for k in hist if not k.startswith("val_")]
    bases += [k[4:] for k in hist if k.startswith("val_") and k[4:] not in bases]
    bases = sorted(set(bases), key=lambda k: (_CURVE_ORDER.index(k) if k in _CURVE_ORDER else 99, k))
    bases = [b for b in bases if len(hist.get(b, [])) or len(hist.get("val_" + b, []))]
    n = max(1, len(bases))
    fig = new_figure(min(4.0 * n, 16), 3.6)
    axes = fig.subplots(1, n, squeeze=False)[0]
    if not bases:
        axes[0].text(0.5, 0.5, "no history recorded", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, base in zip(axes, bases):
        for key, label, style in ((base, "train", "-o"), ("val_" + base, "validation", "--s")):
            values = np.asarray(hist.get(key, []), dtype=np.float64)
            if values.size:
                epochs = np.arange(1, values.size + 1)
                ax.plot(epochs, values, style, label=label, markersize=4)
        ax.set_title("AUC" if base == "auc" else base)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        # Integer epochs only; one epoch still gets a readable axis.
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


# --- evaluation ----------------------------------------------------------------------------
def roc_curve_plot(y_true, y_score, path=None, operating_points=None, auc_ci=None, title="ROC curve"):
    """ROC curve with its AUC in the legend and operating points marked.

    Parameters
    ----------
    y_true, y_score : arrays (N,) of 0/1 and scores
    operating_points : None, a threshold, a list of them, or a dict
        label -> threshold; each is marked where ``y_score >= threshold`` lands.
    auc_ci : optional (lo, hi) shown beside the AUC
    """
    y, s = _check_binary_curve_input(y_true, y_score)
    fpr, tpr, _ = M.roc_curve(y, s)
    auc = M.roc_auc(y, s)
    label = f"AUC = {auc:.3f}" + (f" [{auc_ci[0]:.3f}, {auc_ci[1]:.3f}]" if auc_ci is not None else "")
    fig = new_figure(5, 5)
    ax = fig.subplots()
    ax.plot(fpr, tpr, lw=2, label=label)
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance")
    for (name, t), marker in zip(_operating_points(operating_points), "oDs^v"):
        pred = (s >= t).astype(np.int64)
        sens, spec = M.recall(y, pred), M.specificity(y, pred)
        ax.plot(1 - spec, sens, marker, markersize=9,
                label=f"{name}: sens {sens:.2f}, spec {spec:.2f}")
    style_roc_axes(ax)
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def pr_curve_plot(y_true, y_score, path=None, operating_points=None, title="Precision-recall curve"):
    """Precision-recall curve with average precision in the legend and operating points marked.

    The dotted line is the prevalence: the precision of a model that guesses.
    """
    y, s = _check_binary_curve_input(y_true, y_score)
    prec, rec, _ = M.precision_recall_curve(y, s)
    ap = M.average_precision(y, s)
    fig = new_figure(5, 5)
    ax = fig.subplots()
    ax.step(rec, prec, where="post", lw=2, label=f"AP = {ap:.3f}")
    ax.axhline(y.mean(), ls=":", color="gray", label=f"prevalence {y.mean():.2f}")
    for (name, t), marker in zip(_operating_points(operating_points), "oDs^v"):
        pred = (s >= t).astype(np.int64)
        r, p = M.recall(y, pred), M.precision(y, pred)
        ax.plot(r, p, marker, markersize=9, label=f"{name}: recall {r:.2f}, precision {p:.2f}")
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision (positive predictive value)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def confusion_matrix_plot(y_true, y_pred, path=None, class_names=("negative", "positive"),
                          title="Confusion matrix"):
    """The 2x2 confusion matrix with counts and the rate within each true class.

    Row rates are what a clinician reads: the bottom-right cell's rate is the
    sensitivity, the top-left's the specificity. Cells are shaded by that rate.
    """
    cm = M.confusion_matrix(y_true, y_pred)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    names = [str(c) for c in class_names]
    fig = new_figure(5, 4.4)
    ax = fig.subplots()
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    cell_names = [["true negative", "false positive"], ["false negative", "true positive"]]
    for i in range(2):
        for j in range(2):
            color = "white" if rates[i, j] > 0.6 else "black"
            ax.text(j, i, f"{cm[i, j]}\n{100 * rates[i, j]:.1f}% of {names[i]}\n{cell_names[i][j]}",
                    ha="center", va="center", color=color, fontsize=9)
    ax.set_xticks([0, 1], [f"predicted {n}" for n in names], fontsize=8)
    ax.set_yticks([0, 1], [f"true {n}" for n in names], fontsize=8, rotation=90, va="center")
    tn, fp, fn, tp = cm.ravel()
    ax.set_title(f"{title}\nsensitivity {M.ratio(tp, tp + fn):.3f}, "
                 f"specificity {M.ratio(tn, tn + fp):.3f}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def prediction_grid(images, y_true, y_prob, threshold, class_names, path=None, ncols=None,
                    title="Test predictions"):
    """Images with P(positive class) and the threshold it is compared with; wrong ones framed in red.

    Every title shows the same number, ``p = P(class_names[1])``, against the same
    threshold (``p >= threshold`` predicts the positive class), then the predicted and
    the true class: one meaning for one number, whichever class was predicted.
    """
    imgs = _as_image_list(images)
    y = M.as_labels(y_true, "y_true")
    p = M.as_probabilities(y_prob)
    if not (len(imgs) == y.shape[0] == p.shape[0]):
        raise ValueError(f"images ({len(imgs)}), y_true ({y.shape[0]}) and y_prob ({p.shape[0]}) "
                         "must have the same length")
    pred = (p >= threshold).astype(np.int64)
    nrows, ncols = _grid(len(imgs), ncols)
    fig = new_figure(2.3 * ncols, 2.8 * nrows + 0.5)
    axes = _image_axes(fig, nrows, ncols)
    for ax, img, yt, pt, pp in zip(axes.ravel(), imgs, y, pred, p):
        ax.imshow(to_display(img))
        right = yt == pt
        ax.set_title(f"P({_class_name(class_names, 1)}) {pp:.3f} {'>=' if pt else '<'} "
                     f"{threshold:.3f}\npred {_class_name(class_names, pt)}\ntrue "
                     f"{_class_name(class_names, yt)}" + ("" if right else "  WRONG"),
                     fontsize=8, color="black" if right else "red")
        if not right:                       # a red frame survives grayscale printing better than color alone
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(3)
    fig.suptitle(f"{title} (threshold {threshold:.3f})")
    return save_figure(fig, path)


def gradcam_grid(images, heatmaps, titles, path=None, alpha=0.4, title="Grad-CAM", box=None):
    """Each image above its Grad-CAM overlay, with a title per example.

    Parameters
    ----------
    images : array (N, H, W[, C]) or list of images
    heatmaps : array (N, H, W) in [0, 1] (from ``minicnn.explain.grad_cam``)
    titles : list of N strings, e.g. "TP  p=0.97"
    alpha : weight of the heat map in the overlay
    box : optional ``(top, left, bottom, right)`` fractions (``minicnn.explain.box_pixels``),
        drawn as a dashed white rectangle on each overlay (e.g. the box whose share of the
        map ``minicnn.explain.mass_inside_box`` measures)
    """

    imgs = _as_image_list(images)
    maps = np.asarray(heatmaps)
    if maps.ndim != 3 or maps.shape[0] != len(imgs):
        raise ValueError(f"heatmaps: expected shape ({len(imgs)}, H, W), got {maps.shape}")
    titles = list(titles) if titles is not None else [""] * len(imgs)
    if len(titles) != len(imgs):
        raise ValueError(f"titles has {len(titles)} entries but images has {len(imgs)}")
    n = len(imgs)
    ncols = min(n, 6)
    nblocks = int(math.ceil(n / ncols))
    fig = new_figure(2.2 * ncols, 4.4 * nblocks + 0.4)
    axes = _image_axes(fig, 2 * nblocks, ncols)
    for k, (img, hm, t) in enumerate(zip(imgs, maps, titles)):
        r, c = 2 * (k // ncols), k % ncols
        axes[r, c].imshow(to_display(img))
        axes[r, c].set_title(str(t), fontsize=8)
        axes[r + 1, c].imshow(overlay(img, hm, alpha=alpha))
        if box is not None:
            r0, r1, c0, c1 = box_pixels(hm.shape, box)
            # Pixel centres sit on integers, so the box's outer edges are half a pixel out.
            axes[r + 1, c].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                               edgecolor="white", linestyle="--", linewidth=1.2))
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def calibration_plot(y_true, y_prob, path=None, n_bins=10, title="Calibration"):
    """Reliability diagram (observed frequency against predicted probability) and a histogram.

    Points on the diagonal mean "when the model says 80%, 80% are positive".
    The Brier score is in the legend; the lower panel shows how many
    predictions fall in each bin, since a bin with few points says little.
    """
    y = M.as_labels(y_true, "y_true")
    p = M.as_probabilities(y_prob)
    mean_p, frac, counts = M.reliability_curve(y, p, n_bins=n_bins)
    fig = new_figure(5, 6)
    ax, hax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ":", color="gray", label="perfectly calibrated")
    ax.plot(mean_p, frac, "o-", label=f"model (Brier {M.brier_score(y, p):.3f})")
    style_reliability_axes(ax, "fraction positive")
    ax.set_title(title)
    edges = np.linspace(0, 1, n_bins + 1)
    hax.hist([p[y == 0], p[y == 1]], bins=edges, stacked=True, label=["negative", "positive"])
    hax.set_xlabel("predicted probability")
    hax.set_ylabel("count")
    hax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
