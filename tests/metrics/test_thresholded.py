"""Tests for minicnn.metrics.thresholded: the confusion matrix and its ratios, by hand and against scikit-learn."""

import pytest

from metrics_support import binary_cases_for_scikit_learn
from minicnn import metrics as M


def test_confusion_and_thresholded_metrics_by_hand():
    y = [1, 1, 0, 0, 1]
    p = [1, 0, 0, 1, 1]
    cm = M.confusion_matrix(y, p)
    assert cm.tolist() == [[1, 1], [1, 2]]              # tn fp / fn tp
    assert M.accuracy(y, p) == pytest.approx(3 / 5)
    assert M.precision(y, p) == pytest.approx(2 / 3)
    assert M.recall(y, p) == pytest.approx(2 / 3)
    assert M.sensitivity(y, p) == M.recall(y, p)
    assert M.specificity(y, p) == pytest.approx(1 / 2)
    assert M.f1_score(y, p) == pytest.approx(2 / 3)


def test_zero_division_rule_gives_zero():
    assert M.precision([1, 0], [0, 0]) == 0.0           # nothing predicted positive
    assert M.recall([0, 0], [1, 0]) == 0.0              # no positive example
    assert M.specificity([1, 1], [1, 0]) == 0.0         # no negative example
    assert M.f1_score([0, 0], [0, 0]) == 0.0            # tp = fp = fn = 0


def test_confusion_and_ratios_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    for y, s in binary_cases_for_scikit_learn():
        pred = (s >= 0.5).astype(int)
        assert M.confusion_matrix(y, pred).tolist() == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
        for mine, theirs in [(M.accuracy, skm.accuracy_score),
                             (M.precision, lambda a, b: skm.precision_score(a, b, zero_division=0)),
                             (M.recall, lambda a, b: skm.recall_score(a, b, zero_division=0)),
                             (M.f1_score, lambda a, b: skm.f1_score(a, b, zero_division=0))]:
            assert mine(y, pred) == pytest.approx(theirs(y, pred))
