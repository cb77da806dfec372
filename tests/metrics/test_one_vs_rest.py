"""Tests for minicnn.metrics.one_vs_rest: K-class ROC curves and AUCs against scikit-learn."""

import numpy as np
import pytest
from hypothesis import assume, given, settings

from metrics_support import multiclass_case, softmax_rows
from minicnn import metrics as M


@settings(deadline=None, max_examples=60)
@given(case=multiclass_case())
def test_one_vs_rest_roc_and_auc_equal_scikit_learn(case):
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    y, _, scores, k = case
    counts = np.bincount(y, minlength=k)
    assume((counts > 0).all() and (counts < len(y)).all())
    curves = M.one_vs_rest_roc_curves(y, scores)
    assert len(curves) == k
    for c, (fpr, tpr, thr) in enumerate(curves):
        s_fpr, s_tpr, s_thr = skm.roc_curve(y == c, scores[:, c], drop_intermediate=False)
        np.testing.assert_allclose(fpr, s_fpr)
        np.testing.assert_allclose(tpr, s_tpr)
        np.testing.assert_array_equal(thr[1:], s_thr[1:])  # sklearn's first threshold differs by version
    per_class = [skm.roc_auc_score(y == c, scores[:, c]) for c in range(k)]
    np.testing.assert_allclose(M.one_vs_rest_roc_auc(y, scores), per_class, atol=1e-12)
    assert M.macro_roc_auc(y, scores) == pytest.approx(np.mean(per_class), abs=1e-12)
    # scikit-learn's multi-class form (probabilities rows summing to 1; K = 2 is its binary case)
    if k > 2:
        p = softmax_rows(scores)
        assert M.macro_roc_auc(y, p) == pytest.approx(
            skm.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(k))), abs=1e-12)
