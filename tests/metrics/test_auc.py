"""Tests for minicnn.metrics.auc: the rank AUC by hand, as the pairwise definition, and against scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings

from metrics_support import binary_cases_for_scikit_learn, labels_and_int_scores
from minicnn import metrics as M


def test_auc_ties_count_half():
    # positive 0.5 vs negatives 0.5 (tie, 1/2) and 0.2 (win, 1); positive 0.9 wins both: (1.5 + 2) / 4
    assert M.roc_auc([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.2]) == pytest.approx(3.5 / 4)


def test_all_scores_equal_give_auc_one_half():
    assert M.roc_auc([0, 1, 1, 0, 1], np.full(5, 0.3)) == 0.5


def _auc_by_pairs(y, s):
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


@settings(deadline=None, max_examples=60)
@given(labels_and_int_scores())
def test_auc_equals_the_pairwise_definition_with_ties(ys):
    y, s = ys
    assert M.roc_auc(y, s) == pytest.approx(_auc_by_pairs(y, s))
    fpr, tpr, _ = M.roc_curve(y, s)
    assert M.roc_auc(y, s) == pytest.approx(np.trapezoid(tpr, fpr))


@settings(deadline=None, max_examples=60)
@given(labels_and_int_scores())
def test_auc_invariant_to_strictly_increasing_transform(ys):
    y, s = ys
    # 2 s^3 + s + 7 is strictly increasing on the integers and exact in float64.
    assert M.roc_auc(y, 2.0 * s ** 3 + s + 7) == pytest.approx(M.roc_auc(y, s))
    assert M.roc_auc(y, np.exp(s / 3.0)) == pytest.approx(M.roc_auc(y, s))


@settings(deadline=None, max_examples=60)
@given(labels_and_int_scores())
def test_flipping_labels_or_scores_gives_one_minus_auc(ys):
    y, s = ys
    auc = M.roc_auc(y, s)
    assert M.roc_auc(1 - y, s) == pytest.approx(1 - auc)
    assert M.roc_auc(y, -s) == pytest.approx(1 - auc)


def test_auc_matches_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    for y, s in binary_cases_for_scikit_learn():
        assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
