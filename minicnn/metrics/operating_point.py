"""Choosing the operating point: the threshold a screen uses, picked on validation data.

A model gives scores; a screen needs a yes or no. Where to cut trades sensitivity
against specificity, so the threshold is chosen from the ROC curve: either the most
specific cut that still finds a target fraction of the positives, or the cut that
maximises Youden's J = sensitivity + specificity - 1.
"""

import numpy as np

from .curves import roc_curve

__all__ = ["choose_threshold"]


def choose_threshold(y_true, y_score, target_sensitivity=None):
    """Threshold for ``y_score >= threshold`` chosen on a validation set.

    With ``target_sensitivity`` (in (0, 1]): the *highest* threshold whose
    sensitivity on this set is at least the target. Raising the threshold only
    loses positives, so the highest such one keeps the most specificity. The
    result is always one of the scores (the lowest score gives sensitivity 1,
    so a target is always reachable).

    With ``target_sensitivity=None``: the threshold maximising Youden's
    J = sensitivity + specificity - 1 = tpr - fpr. Ties go to the highest
    threshold among the maximisers (the more specific choice).

    Choose on validation data, never on the test set you report: a threshold
    tuned on the test set makes its sensitivity an optimistic estimate.

    Returns
    -------
    float, one of the values of ``y_score``
    """
    fpr, tpr, thr = roc_curve(y_true, y_score)
    fpr, tpr, thr = fpr[1:], tpr[1:], thr[1:]      # drop the inf point: it predicts nothing
    if target_sensitivity is None:
        return float(thr[np.argmax(tpr - fpr)])     # argmax takes the first = highest threshold
    t = float(target_sensitivity)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"target_sensitivity must be in (0, 1], got {target_sensitivity!r}")
    # tpr rises as the threshold falls: the first index reaching the target is the highest threshold.
    # A tiny tolerance keeps e.g. target 0.95 reachable when tpr is 19/20 computed as 0.9499999.
    return float(thr[np.argmax(tpr >= t - 1e-12)])
