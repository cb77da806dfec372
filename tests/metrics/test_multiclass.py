"""Tests for minicnn.metrics.multiclass: K-class counts, per-class ratios, F1 and top-k."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from metrics_support import multiclass_case
from minicnn import metrics as M

MC = settings(deadline=None, max_examples=60)


@MC
@given(case=multiclass_case())
def test_multiclass_counts_and_ratios_equal_scikit_learn(case):
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    y, pred, _, k = case
    labels = list(range(k))
    cm = M.multiclass_confusion_matrix(y, pred, num_classes=k)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, pred, labels=labels))
    assert cm.dtype == np.int64 and cm.sum() == len(y)
    kw = {"labels": labels, "zero_division": 0}
    np.testing.assert_allclose(M.per_class_sensitivity(y, pred, k), skm.recall_score(y, pred, average=None, **kw))
    np.testing.assert_allclose(M.per_class_precision(y, pred, k), skm.precision_score(y, pred, average=None, **kw))
    np.testing.assert_allclose(M.per_class_f1(y, pred, k), skm.f1_score(y, pred, average=None, **kw))
    assert M.macro_f1(y, pred, k) == pytest.approx(skm.f1_score(y, pred, average="macro", **kw), abs=1e-12)
    assert M.weighted_f1(y, pred, k) == pytest.approx(skm.f1_score(y, pred, average="weighted", **kw), abs=1e-12)
    assert M.multiclass_accuracy(y, pred, k) == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    # specificity: scikit-learn's one-vs-rest 2x2 matrices [[tn, fp], [fn, tp]] per class
    mcm = skm.multilabel_confusion_matrix(y, pred, labels=labels)
    tn, fp = mcm[:, 0, 0], mcm[:, 0, 1]
    expected = np.divide(tn, tn + fp, out=np.zeros(k), where=(tn + fp) > 0)
    np.testing.assert_allclose(M.per_class_specificity(y, pred, k), expected)


@MC
@given(case=multiclass_case(), top=st.integers(1, 6))
def test_top_k_accuracy_equals_scikit_learn_without_ties(case, top):
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    y, _, scores, k = case
    scores = scores + np.random.default_rng(len(y)).random(scores.shape) * 1e-3  # break the ties
    # scikit-learn reads K = 2 as a binary problem with one score column, and warns for k >= K
    assume(2 < k and top < k)
    expected = skm.top_k_accuracy_score(y, scores, k=top, labels=list(range(k)))
    assert M.top_k_accuracy(y, scores, k=top) == pytest.approx(expected, abs=1e-12)
    assert M.top_k_accuracy(y, scores, k=1) == pytest.approx(
        M.multiclass_accuracy(y, scores.argmax(axis=1), k), abs=1e-12)


def test_multiclass_hand_worked_case_and_degenerate_classes():
    # 4 classes; class 3 never occurs and is never predicted; class 2 is never predicted.
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    cm = M.multiclass_confusion_matrix(y, pred, num_classes=4)
    np.testing.assert_array_equal(cm, [[2, 1, 0, 0], [1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(M.per_class_sensitivity(y, pred, 4), [2 / 3, 1 / 2, 0, 0])
    np.testing.assert_allclose(M.per_class_precision(y, pred, 4), [2 / 4, 1 / 4, 0, 0])
    # specificity of class 0: of the 5 non-0 examples, 3 were not called 0
    np.testing.assert_allclose(M.per_class_specificity(y, pred, 4), [3 / 5, 3 / 6, 5 / 5, 8 / 8])
    f1 = [2 * 2 / (4 + 2 + 1), 2 / (2 + 3 + 1), 0, 0]
    np.testing.assert_allclose(M.per_class_f1(y, pred, 4), f1)
    assert M.macro_f1(y, pred, 4) == pytest.approx(np.mean(f1))          # absent class 3 counts 0
    assert M.macro_f1(y, pred) == pytest.approx(np.mean(f1[:3]))         # K inferred as 3
    assert M.weighted_f1(y, pred, 4) == pytest.approx((3 * f1[0] + 2 * f1[1]) / 8)
    assert M.multiclass_accuracy(y, pred) == pytest.approx(3 / 8)
    # one-hot truth is read by its argmax
    np.testing.assert_array_equal(M.multiclass_confusion_matrix(np.eye(4)[y], pred), cm)
    # AUC for an absent class is undefined: the error names it
    scores = np.random.default_rng(0).random((8, 4))
    with pytest.raises(ValueError, match="class 3: it is absent"):
        M.macro_roc_auc(y, scores)
    with pytest.raises(ValueError, match="class 0: it is the only class"):
        M.one_vs_rest_roc_curves(np.zeros(3, int), np.random.default_rng(0).random((3, 2)))


def test_two_classes_agree_with_the_binary_functions():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 50)
    s = rng.standard_normal(50) + y
    pred = (s >= 0.5).astype(int)
    np.testing.assert_array_equal(M.multiclass_confusion_matrix(y, pred), M.confusion_matrix(y, pred))
    assert M.per_class_sensitivity(y, pred)[1] == pytest.approx(M.sensitivity(y, pred))
    assert M.per_class_specificity(y, pred)[1] == pytest.approx(M.specificity(y, pred))
    assert M.per_class_precision(y, pred)[1] == pytest.approx(M.precision(y, pred))
    two_column = np.stack([-s, s], axis=1)
    assert M.macro_roc_auc(y, two_column) == pytest.approx(M.roc_auc(y, s), abs=1e-12)
    fpr, tpr, _ = M.one_vs_rest_roc_curves(y, two_column)[1]
    b_fpr, b_tpr, _ = M.roc_curve(y, s)
    np.testing.assert_array_equal(fpr, b_fpr)
    np.testing.assert_array_equal(tpr, b_tpr)


def test_top_k_counts_a_tie_at_the_boundary_in_favour_and_ties_in_auc_count_half():
    scores = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.1]])
    y = np.array([1, 0, 2])
    # example 0: class 0 ties class 1 at the top -> a top-1 hit; example 2: all tie -> a hit
    assert M.top_k_accuracy(y, scores, k=1) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(y, scores, k=2) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(y, scores, k=3) == 1.0
    assert M.top_k_accuracy(y, scores, k=10) == 1.0
    equal = np.ones((4, 3))
    np.testing.assert_allclose(M.one_vs_rest_roc_auc([0, 1, 2, 0], equal), 0.5)  # all tied: 1/2
