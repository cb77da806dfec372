"""Input checks for the binary metrics: labels, scores and probabilities, refused by name.

Every binary metric starts here. ``y_true`` must hold labels in {0, 1} (bools too),
scores must be numbers without NaN, probabilities must also lie in [0, 1], and paired
arrays must have the same, non-zero, length. Shapes ``(N,)`` and ``(N, 1)`` are both
accepted and flattened to ``(N,)``. A refusal is a ValueError that names the argument
and says what was found, so the caller knows which array to fix.

``explain``, ``plots`` and the K-class checks (``class_checks``) use these too.
"""

import numpy as np

__all__ = ["as_labels", "as_scores", "as_probabilities", "numeric_without_nan", "check_pair",
           "labels_and_scores", "require_both_classes"]


def _one_column(a, name):
    """``a`` as a 1-D array: shape (N,) as is, (N, 1) flattened; else ValueError naming ``name``."""
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected shape (N,) or (N, 1), got {a.shape}")
    return a


def as_labels(y, name="y_true"):
    """Flatten ``y`` to a 1-D int64 array of 0/1, or raise ValueError naming ``name``."""
    y = _one_column(y, name)
    if y.dtype == bool:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{name}: expected numeric labels 0/1, got dtype {y.dtype}")
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        examples = np.unique(y[bad])[:5].tolist()
        raise ValueError(f"{name}: labels must be 0 or 1, found {examples}")
    return y.astype(np.int64)


def as_scores(s, name="y_score"):
    """Flatten ``s`` to a 1-D float64 array without NaN, or raise ValueError naming ``name``."""
    return numeric_without_nan(_one_column(s, name), name)


def numeric_without_nan(s, name):
    """``s`` as float64; ValueError naming ``name`` for non-numbers or NaN (binary or K-class scores)."""
    if not (np.issubdtype(s.dtype, np.number) or s.dtype == bool):
        raise ValueError(f"{name}: expected numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if np.isnan(s).any():
        raise ValueError(f"{name}: contains NaN at {int(np.isnan(s).sum())} position(s); "
                         "check the model's output (a diverged training gives NaN)")
    return s


def as_probabilities(y_prob):
    """``as_scores`` of ``y_prob`` that also refuses values outside [0, 1]."""
    p = as_scores(y_prob, "y_prob")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError(f"y_prob: probabilities must lie in [0, 1], got values in "
                         f"[{p.min():.4g}, {p.max():.4g}] (pass sigmoid(logits), not logits)")
    return p


def check_pair(a, b, name_a, name_b):
    """Raise ValueError unless 1-D ``a`` and ``b`` have the same, non-zero, length."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} entries but {name_b} has {b.shape[0]}; "
                         "they must have the same length")
    if a.shape[0] == 0:
        raise ValueError(f"{name_a} and {name_b} are empty")


def labels_and_scores(y_true, y_score, score_name="y_score"):
    """``y_true`` as 0/1 labels and ``y_score`` as scores, both (N,), checked as a pair."""
    y = as_labels(y_true, "y_true")
    s = as_scores(y_score, score_name)
    check_pair(y, s, "y_true", score_name)
    return y, s


def require_both_classes(y, what):
    """The number of positives in 0/1 labels ``y``; ValueError if ``y`` holds only one class.

    ``what`` names the quantity that needs both classes (AUC, the ROC curve, ...), so
    the message says what is undefined and why.
    """
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        only = "1 (positive)" if n_pos else "0 (negative)"
        raise ValueError(f"{what} is undefined when y_true holds only one class "
                         f"(all {y.shape[0]} labels are {only}); it needs both 0s and 1s")
    return n_pos
