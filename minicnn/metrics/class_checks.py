"""Input checks for the K-class metrics: class labels, rows of class scores, the number of classes.

K classes are numbered 0..K-1. ``y_true`` holds integer labels, shape (N,) or (N, 1),
or one-hot rows (N, K); ``y_pred`` integer predictions (N,); ``y_score`` one row of K
scores per example (N, K). K is ``num_classes`` when given, else ``y_score.shape[1]``
(or the one-hot columns), else 1 + the largest label seen. A refusal is a ValueError
that names the argument and what was found, as the binary checks' (``checks``).
"""

import numpy as np

from .checks import numeric_without_nan

__all__ = ["class_labels", "class_scores", "resolve_num_classes", "labels_and_predictions",
           "labels_and_class_scores"]


def class_labels(y, name, num_classes=None, allow_one_hot=False):
    """Integer class labels (N,) int64 from (N,), (N, 1) or one-hot (N, K); ValueError naming ``name``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and allow_one_hot:
        ok = (np.issubdtype(y.dtype, np.number) or y.dtype == bool) and y.size \
            and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        if not ok:
            raise ValueError(f"{name}: a 2-D {name} must be one-hot rows (a single 1 per row), "
                             f"got shape {y.shape}; or pass integer labels of shape (N,)")
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(f"{name}: one-hot rows have {y.shape[1]} columns but there are "
                             f"{num_classes} classes")
        return np.argmax(y, axis=1).astype(np.int64)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected integer labels of shape (N,) or (N, 1)"
                         f"{' or one-hot (N, K)' if allow_one_hot else ''}, got {y.shape}")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
    if num_classes is not None:
        bad |= y >= num_classes
    if bad.any():
        allowed = f"0..{num_classes - 1}" if num_classes is not None else "0, 1, 2, ..."
        raise ValueError(f"{name}: class labels must be whole numbers in {allowed}, "
                         f"found {np.unique(y[bad])[:5].tolist()}")
    return y.astype(np.int64)


def class_scores(y_score, name="y_score"):
    """(N, K) float64 scores without NaN, K >= 2; ValueError naming ``name``."""
    s = np.asarray(y_score)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"{name}: expected one row of K >= 2 class scores per example, shape "
                         f"(N, K), got {s.shape}" + ("; for one score per example use the binary "
                                                      "functions (roc_auc, ...)" if s.ndim == 1 or
                                                      (s.ndim == 2 and s.shape[1] == 1) else ""))
    return numeric_without_nan(s, name)


def resolve_num_classes(num_classes, *label_arrays):
    """``num_classes`` checked (an integer >= 2), or 1 + the largest label in ``label_arrays`` when None."""
    if num_classes is None:
        return int(max(int(a.max()) for a in label_arrays)) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return int(num_classes)


def labels_and_predictions(y_true, y_pred, num_classes):
    """``(y, p, K)``: labels and predictions as (N,) int64, checked as a pair, and the number of classes."""
    if num_classes is not None:
        resolve_num_classes(num_classes)                 # validate before using it
    elif np.ndim(y_true) == 2 and np.shape(y_true)[1] > 1:
        num_classes = np.shape(y_true)[1]                # one-hot rows say how many classes
    y = class_labels(y_true, "y_true", num_classes, allow_one_hot=True)
    p = class_labels(y_pred, "y_pred", num_classes)
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true has {y.shape[0]} entries but y_pred has {p.shape[0]}; "
                         "they must have the same length")
    if y.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty")
    return y, p, resolve_num_classes(num_classes, y, p)


def labels_and_class_scores(y_true, y_score):
    """``(y, s)``: labels (N,) int64 in 0..K-1 and scores (N, K) float64, checked as a pair."""
    s = class_scores(y_score)
    y = class_labels(y_true, "y_true", s.shape[1], allow_one_hot=True)
    if y.shape[0] != s.shape[0]:
        raise ValueError(f"y_true has {y.shape[0]} entries but y_score has {s.shape[0]} rows; "
                         "they must have the same length")
    if y.shape[0] == 0:
        raise ValueError("y_true and y_score are empty")
    return y, s
