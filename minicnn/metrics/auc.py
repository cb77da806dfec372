"""The exact ROC AUC, by ranks: the number the streaming AUC of ``fit`` also reports.

AUC is the probability that a random positive scores higher than a random negative,
ties counted half. Sorting once and giving each score its rank (ties sharing the mean
of their ranks) turns that count over all P x N pairs into one sum, the Mann-Whitney
U statistic:

    U = sum of the ranks of the positives - P (P + 1) / 2,    AUC = U / (P N)
"""

import numpy as np

from .checks import labels_and_scores, require_both_classes

__all__ = ["roc_auc"]


def _average_ranks(s):
    """Ranks 1..N of ``s`` (N,) in ascending order, tied values sharing their mean rank; float64 (N,)."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # Boundaries of runs of equal values in the sorted scores.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.shape[0]]               # exclusive
    mean_rank = (starts + ends + 1) / 2.0              # mean of ranks starts+1 .. ends
    ranks = np.empty(s.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(y_true, y_score):
    """Area under the ROC curve, exact, by the Mann-Whitney rank statistic.

    AUC is the probability that a random positive scores higher than a random
    negative, ties counted half:

        AUC = (sum of ranks of positives - P (P + 1) / 2) / (P N)

    with ranks 1..P+N in ascending score order and tied scores given their mean
    rank. This equals the trapezoidal area under ``roc_curve``. All scores equal
    gives 0.5. Only one class present raises ValueError (AUC is undefined).

    Parameters
    ----------
    y_true : array (N,) or (N, 1) of 0/1
    y_score : array (N,) or (N, 1) of scores, larger meaning "more likely 1"

    Returns
    -------
    float in [0, 1]
    """
    y, s = labels_and_scores(y_true, y_score)
    n_pos = require_both_classes(y, "ROC AUC")
    n_neg = y.shape[0] - n_pos
    ranks = _average_ranks(s)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
