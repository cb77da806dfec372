"""Tests for minicnn.metrics.curves: ROC and precision-recall curves and AP, by hand and against scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings

from metrics_support import S4, Y4, binary_cases_for_scikit_learn, labels_and_int_scores
from minicnn import metrics as M


def test_roc_curve_by_hand():
    fpr, tpr, thr = M.roc_curve(Y4, S4)
    assert thr[0] == np.inf
    np.testing.assert_allclose(thr[1:], [0.8, 0.4, 0.35, 0.1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    assert M.roc_auc(Y4, S4) == pytest.approx(0.75)
    assert M.roc_auc(Y4, S4) == pytest.approx(np.trapezoid(tpr, fpr))


def test_precision_recall_and_ap_by_hand():
    prec, rec, thr = M.precision_recall_curve(Y4, S4)
    np.testing.assert_allclose(thr, [0.1, 0.35, 0.4, 0.8])
    np.testing.assert_allclose(prec, [0.5, 2 / 3, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(rec, [1.0, 1.0, 0.5, 0.5, 0.0])
    # AP = 0.5 * 1 (first positive at the top) + 0.5 * 2/3 (second at rank 3)
    assert M.average_precision(Y4, S4) == pytest.approx(0.5 + 0.5 * 2 / 3)


@settings(deadline=None, max_examples=40)
@given(labels_and_int_scores())
def test_average_precision_bounds(ys):
    y, s = ys
    ap = M.average_precision(y, s)
    assert 0.0 <= ap <= 1.0
    assert M.average_precision(y, y + 0.0) == pytest.approx(1.0)     # perfect ranking


def test_curves_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    for y, s in binary_cases_for_scikit_learn():
        fpr, tpr, thr = M.roc_curve(y, s)
        fpr2, tpr2, thr2 = skm.roc_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(fpr, fpr2)
        np.testing.assert_allclose(tpr, tpr2)
        np.testing.assert_array_equal(thr, thr2)
        p, r, t = M.precision_recall_curve(y, s)
        p2, r2, t2 = skm.precision_recall_curve(y, s)
        np.testing.assert_allclose(p, p2)
        np.testing.assert_allclose(r, r2)
        np.testing.assert_allclose(t, t2)
        assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))
