"""Figures for a K-class model: the K x K confusion matrix, one-vs-rest ROC and calibration curves.

The same conventions as ``minicnn.plots`` (whose helpers these use): each function
draws one figure on an Agg canvas (never ``pyplot``), writes it as a PNG to ``path``
(creating the folder) and returns ``path`` as a string, or, without a ``path``,
returns the ``matplotlib.figure.Figure`` (shown inline by a notebook). Labels and scores follow
the K-class section of ``minicnn.metrics``: integer labels 0..K-1 (or one-hot rows),
one row of K scores per example.
"""

import numpy as np

from . import metrics as M
from .metrics.class_checks import labels_and_class_scores
from .plots import new_figure, save_figure, style_reliability_axes, style_roc_axes

__all__ = ["multiclass_confusion_matrix_plot", "one_vs_rest_roc_plot", "one_vs_rest_calibration_plot"]


def _names(class_names, k):
    if class_names is None:
        return [str(c) for c in range(k)]
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names but there are {k} classes")
    return names


def multiclass_confusion_matrix_plot(y_true, y_pred, path=None, class_names=None, num_classes=None,
                                     title="Confusion matrix"):
    """The K x K confusion matrix: counts, and the share of each true class in every cell.

    Rows are the truth, columns the prediction. Cells are shaded by their row rate, so
    the diagonal reads as each class's sensitivity (recall); the title adds the
    accuracy and the macro F1. ``class_names`` (K names, in label order) default to
    the label numbers; K comes from ``num_classes``, else from ``class_names``, else
    from the labels.
    """
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    cm = M.multiclass_confusion_matrix(y_true, y_pred, num_classes)
    k = cm.shape[0]
    names = _names(class_names, k)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    side = 1.4 * k + 2.0
    fig = new_figure(side + 0.4, side)
    ax = fig.subplots()
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            color = "white" if rates[i, j] > 0.6 else "black"
            ax.text(j, i, f"{cm[i, j]}\n{100 * rates[i, j]:.1f}%", ha="center", va="center",
                    color=color, fontsize=9)
    ax.set_xticks(range(k), [f"predicted\n{n}" for n in names], fontsize=8)
    ax.set_yticks(range(k), [f"true {n}" for n in names], fontsize=8, rotation=90, va="center")
    accuracy = np.trace(cm) / cm.sum()
    ax.set_title(f"{title}\naccuracy {accuracy:.3f}, macro F1 "
                 f"{M.macro_f1(y_true, y_pred, k):.3f} (row % = share of the true class)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def one_vs_rest_roc_plot(y_true, y_score, path=None, class_names=None, title="One-vs-rest ROC curves"):
    """One ROC curve per class (that class against all the others), AUC in the legend.

    The title gives the macro AUC (the mean of the K curves' areas). Every class must
    be present in ``y_true``: a curve for an absent class is undefined (ValueError
    naming it, from ``metrics.one_vs_rest_roc_curves``).
    """
    curves = M.one_vs_rest_roc_curves(y_true, y_score)
    aucs = M.one_vs_rest_roc_auc(y_true, y_score)
    names = _names(class_names, len(curves))
    fig = new_figure(5.5, 5.5)
    ax = fig.subplots()
    for (fpr, tpr, _), auc, name in zip(curves, aucs, names):
        ax.plot(fpr, tpr, lw=2, label=f"{name} vs rest: AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance")
    style_roc_axes(ax)
    ax.set_title(f"{title}\nmacro AUC {float(np.mean(aucs)):.3f}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def one_vs_rest_calibration_plot(y_true, y_prob, path=None, class_names=None, n_bins=10,
                                 title="Calibration, one class against the rest"):
    """One reliability curve per class: observed share of class c against the predicted P(c).

    For class c the films are binned by ``y_prob[:, c]`` (``n_bins`` equal bins of [0, 1],
    as ``metrics.reliability_curve``); a point on the diagonal means "of the films given
    P(c) = 0.8, 80% are truly c". The legend gives each class's Brier score,
    mean((p_c - [y = c])^2), and the title their sum, the K-class Brier score
    mean(sum_c (p_c - [y = c])^2): 0 is perfect, 2 is sure and always wrong, and P = 1 / K
    for every class gives (K - 1) / K. The lower panel counts the films in each bin of
    each class, since a bin with few films says little.

    ``y_prob``: (N, K) probabilities (a softmax output: each row in [0, 1] and summing to
    1, within 1e-4); logits or rows that do not sum to 1 are refused, as a curve of them
    would mean nothing.
    """
    y, p = labels_and_class_scores(y_true, y_prob)
    if p.min() < 0.0 or p.max() > 1.0 or np.abs(p.sum(axis=1) - 1.0).max() > 1e-4:
        raise ValueError("y_prob: expected probabilities, each row in [0, 1] and summing to 1 "
                         "(pass softmax(logits), not logits)")
    k = p.shape[1]
    names = _names(class_names, k)
    briers = [M.brier_score(y == c, p[:, c]) for c in range(k)]
    fig = new_figure(5.5, 6.5)
    ax, hax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ":", color="gray", label="perfectly calibrated")
    edges = np.linspace(0, 1, n_bins + 1)
    for c, (name, brier) in enumerate(zip(names, briers)):
        mean_p, frac, _ = M.reliability_curve(y == c, p[:, c], n_bins=n_bins)
        line, = ax.plot(mean_p, frac, "o-", label=f"{name} (Brier {brier:.3f})")
        hax.hist(p[:, c], bins=edges, histtype="step", lw=1.5, color=line.get_color())
    style_reliability_axes(ax, "fraction truly of the class")
    ax.set_title(f"{title}\nK-class Brier score {sum(briers):.3f}", fontsize=10)
    hax.set_xlabel("predicted probability of the class")
    hax.set_ylabel("films")
    fig.tight_layout()
    return save_figure(fig, path)
