"""Tests for minicnn.metrics.operating_point: choose_threshold by hand and as a property."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_support import S4, Y4, labels_and_int_scores
from minicnn import metrics as M


def test_choose_threshold_by_hand():
    assert M.choose_threshold(Y4, S4, target_sensitivity=0.5) == 0.8
    assert M.choose_threshold(Y4, S4, target_sensitivity=0.6) == 0.35
    assert M.choose_threshold(Y4, S4, target_sensitivity=1.0) == 0.35
    # Youden's J: 0.5 at both 0.8 and 0.35; the tie goes to the higher threshold.
    assert M.choose_threshold(Y4, S4) == 0.8


def test_choose_threshold_reaches_a_target_like_0_95_exactly():
    # 20 positives at scores 1..20, 20 negatives at 0.5 ... 19.5: 19/20 = 0.95 must count as reached.
    y = np.r_[np.ones(20), np.zeros(20)]
    s = np.r_[np.arange(1, 21), np.arange(20) + 0.5]
    t = M.choose_threshold(y, s, target_sensitivity=0.95)
    assert t == 2.0
    assert M.recall(y, (s >= t).astype(int)) == pytest.approx(0.95)


def test_choose_threshold_rejects_bad_target():
    with pytest.raises(ValueError, match="target_sensitivity"):
        M.choose_threshold(Y4, S4, target_sensitivity=1.5)
    with pytest.raises(ValueError, match="target_sensitivity"):
        M.choose_threshold(Y4, S4, target_sensitivity=0)


@settings(deadline=None, max_examples=60)
@given(labels_and_int_scores(), st.floats(0.05, 1.0))
def test_confusion_counts_and_chosen_threshold(ys, target):
    y, s = ys
    t = M.choose_threshold(y, s, target_sensitivity=target)
    pred = (s >= t).astype(int)
    cm = M.confusion_matrix(y, pred)
    assert cm.sum() == len(y) and (cm >= 0).all()
    assert cm[1].sum() == y.sum()                                     # row 1 = the positives
    assert M.recall(y, pred) >= target - 1e-12
    higher = s[s > t]
    if higher.size:                                                   # the next higher score misses it
        assert M.recall(y, (s >= higher.min()).astype(int)) < target - 1e-12
    j = M.choose_threshold(y, s)
    fpr, tpr, _ = M.roc_curve(y, s)
    pj = (s >= j).astype(int)
    assert M.recall(y, pj) - (1 - M.specificity(y, pj)) == pytest.approx((tpr - fpr).max())
