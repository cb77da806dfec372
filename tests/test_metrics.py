"""Tests for minicnn.metrics: hand-worked cases, properties, and scikit-learn where installed."""

import math

import numpy as np
import pytest

from minicnn import metrics as M


# --- streaming metrics used by fit ---------------------------------------------------
def test_streaming_names_and_keys():
    for name in ("accuracy", "auc", "precision", "recall"):
        m = M.get_streaming_metric(name)
        assert m.name == name
    assert M.get_streaming_metric("AUC").name == "auc"


def test_streaming_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="accuracy.*auc.*precision.*recall"):
        M.get_streaming_metric("f1")
    with pytest.raises(ValueError):
        M.get_streaming_metric(3)


def test_streaming_object_passes_through():
    m = M.StreamingRecall()
    assert M.get_streaming_metric(m) is m


def test_streaming_counts_match_batch_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=101)
    p = rng.random(101).astype(np.float32)
    p[:3] = 0.5                                   # exactly at the threshold: predicted positive
    ms = [M.get_streaming_metric(n) for n in ("accuracy", "precision", "recall", "auc")]
    for m in ms:
        m.reset()
        for start in range(0, 101, 16):           # batches, the last one short, shapes (B, 1)
            m.update(y[start:start + 16, None], p[start:start + 16, None])
    pred = (p >= 0.5).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    assert ms[0].result() == pytest.approx(np.mean(pred == y))
    assert ms[1].result() == pytest.approx(tp / (tp + fp))
    assert ms[2].result() == pytest.approx(tp / (tp + fn))
    assert ms[3].result() == pytest.approx(M.roc_auc(y, p))


def test_streaming_reset_forgets():
    m = M.get_streaming_metric("accuracy")
    m.update([1, 1], [0.9, 0.9])
    m.reset()
    m.update([1, 1], [0.1, 0.1])
    assert m.result() == 0.0


def test_streaming_auc_nan_until_both_classes():
    m = M.get_streaming_metric("auc")
    assert math.isnan(m.result())
    m.update(np.ones((4, 1)), np.full((4, 1), 0.7))
    assert math.isnan(m.result())
    m.update([0, 0], [0.2, 0.8])
    # positives 0.7 x4 vs negatives 0.2 and 0.8: each positive beats one of two -> 0.5
    assert m.result() == pytest.approx(0.5)


def test_streaming_zero_division_is_zero():
    p = M.get_streaming_metric("precision")
    p.update([1, 0], [0.1, 0.2])                  # nothing predicted positive
    assert p.result() == 0.0
    r = M.get_streaming_metric("recall")
    r.update([0, 0], [0.9, 0.2])                  # no positive example
    assert r.result() == 0.0


def test_streaming_rejects_bad_batches():
    m = M.get_streaming_metric("accuracy")
    with pytest.raises(ValueError, match="y_true"):
        m.update([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="y_prob"):
        m.update([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="same length"):
        m.update([0, 1, 1], [0.1, 0.2])


# --- hand-worked cases ---------------------------------------------------------------
Y4 = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


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


def test_auc_ties_count_half():
    # positive 0.5 vs negatives 0.5 (tie, 1/2) and 0.2 (win, 1); positive 0.9 wins both: (1.5 + 2) / 4
    assert M.roc_auc([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.2]) == pytest.approx(3.5 / 4)


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


def test_brier_and_reliability_by_hand():
    assert M.brier_score([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    y = [0, 0, 1, 1, 1]
    p = [0.1, 0.15, 0.2, 0.9, 1.0]
    mean_p, frac, counts = M.reliability_curve(y, p, n_bins=2)
    np.testing.assert_allclose(mean_p, [0.15, 0.95])
    np.testing.assert_allclose(frac, [1 / 3, 1.0])
    assert counts.tolist() == [3, 2]
    with pytest.raises(ValueError, match="y_prob.*\\[0, 1\\]"):
        M.brier_score([0, 1], [-0.5, 2.0])


# --- degenerate input ------------------------------------------------------------------
def test_one_class_auc_is_an_error_not_a_number():
    with pytest.raises(ValueError, match="only one class"):
        M.roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="only one class"):
        M.roc_curve([0, 0], [0.2, 0.5])
    with pytest.raises(ValueError, match="no positive"):
        M.average_precision([0, 0], [0.2, 0.5])


def test_all_scores_equal_give_auc_one_half():
    assert M.roc_auc([0, 1, 1, 0, 1], np.full(5, 0.3)) == 0.5


@pytest.mark.parametrize("fn", [M.roc_auc, M.roc_curve, M.average_precision, M.choose_threshold])
def test_nan_scores_are_refused_by_name(fn):
    with pytest.raises(ValueError, match="y_score.*NaN"):
        fn([0, 1, 1], [0.1, np.nan, 0.3])


@pytest.mark.parametrize("fn", [M.roc_auc, M.accuracy, M.confusion_matrix, M.brier_score])
def test_mismatched_lengths_are_refused(fn):
    with pytest.raises(ValueError, match="same length"):
        fn([0, 1, 1], [0, 1])


def test_labels_outside_0_1_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="y_true.*0 or 1.*2"):
        M.roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y_pred.*0 or 1"):
        M.accuracy([0, 1], [0.3, 0.7])                   # probabilities where labels belong
    with pytest.raises(ValueError, match="y_score.*shape"):
        M.roc_auc([0, 1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])


def test_column_vectors_and_bools_are_accepted():
    assert M.roc_auc(Y4[:, None], S4[:, None].astype(np.float32)) == pytest.approx(0.75)
    assert M.accuracy(np.array([True, False]), [1, 0]) == 1.0


# --- bootstrap ---------------------------------------------------------------------------
def test_bootstrap_is_repeatable_and_sensible():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(0, 1.0, 300)
    a = M.bootstrap_ci("auc", y, s, n=300, seed=7)
    assert a == M.bootstrap_ci(M.roc_auc, y, s, n=300, seed=7)        # same draws, name or callable
    assert a != M.bootstrap_ci("auc", y, s, n=300, seed=8)
    auc = M.roc_auc(y, s)
    assert a[0] < auc < a[1]
    assert 0.03 < a[1] - a[0] < 0.2                                   # ~ +-2 standard errors at N=300
    narrow = M.bootstrap_ci("auc", y, s, n=300, seed=7, alpha=0.5)
    assert a[0] < narrow[0] < narrow[1] < a[1]


def test_bootstrap_thresholded_names_use_the_threshold():
    y = np.array([0, 0, 0, 1, 1, 1] * 10)
    s = np.array([0.1, 0.2, 0.6, 0.4, 0.7, 0.9] * 10)
    lo, hi = M.bootstrap_ci("recall", y, s, n=200, seed=0, threshold=0.3)
    assert lo == hi == 1.0                                            # every positive >= 0.3
    lo, hi = M.bootstrap_ci("specificity", y, s, n=200, seed=0, threshold=0.95)
    assert lo == hi == 1.0
    with pytest.raises(ValueError, match="not callable"):
        M.bootstrap_ci("kappa", y, s)


def test_bootstrap_skips_one_class_resamples_and_says_when_too_many():
    # With two examples, a resample holds one class half the time; n=1 makes it all or nothing.
    outcomes = []
    for seed in range(12):
        try:
            M.bootstrap_ci("auc", [0, 1], [0.2, 0.8], n=1, seed=seed)
            outcomes.append("ok")
        except ValueError as err:
            assert "only one class" in str(err)
            outcomes.append("skipped")
    assert set(outcomes) == {"ok", "skipped"}


def test_summarize_has_every_key_and_agrees_with_the_functions():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.5 * y + rng.random(200) * 0.6, 0, 1)
    d = M.summarize(y, p, threshold=0.4, n_bootstrap=100, seed=1)
    pred = (p >= 0.4).astype(int)
    assert d["auc"] == pytest.approx(M.roc_auc(y, p))
    assert d["specificity"] == pytest.approx(M.specificity(y, pred))
    assert d["f1"] == pytest.approx(M.f1_score(y, pred))
    assert d["confusion_matrix"] == M.confusion_matrix(y, pred).tolist()
    assert d["auc_ci"] == list(M.bootstrap_ci("auc", y, p, n=100, seed=1))
    for k in ("accuracy", "precision", "recall", "specificity", "f1", "average_precision"):
        lo, hi = d[k + "_ci"]
        assert 0.0 <= lo <= hi <= 1.0
    import json
    json.dumps(d)                                                     # plain Python types only


# --- properties ----------------------------------------------------------------------------
from hypothesis import assume, given, settings                       # noqa: E402
from hypothesis import strategies as st                              # noqa: E402
from hypothesis.extra import numpy as hnp                            # noqa: E402


@st.composite
def labels_and_int_scores(draw, max_n=40):
    """Labels with both classes and small integer scores (many ties)."""
    n = draw(st.integers(2, max_n))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    assume(0 < y.sum() < n)
    s = draw(hnp.arrays(np.int64, n, elements=st.integers(-6, 6)))
    return y, s


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


@settings(deadline=None, max_examples=40)
@given(labels_and_int_scores())
def test_average_precision_bounds(ys):
    y, s = ys
    ap = M.average_precision(y, s)
    assert 0.0 <= ap <= 1.0
    assert M.average_precision(y, y + 0.0) == pytest.approx(1.0)     # perfect ranking


# --- scikit-learn, the reference, when installed ----------------------------------------------
def test_matches_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    from sklearn.calibration import calibration_curve
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(2, 60))
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        s = rng.integers(0, 8, n) / 7.0 if rng.random() < 0.5 else rng.random(n)
        pred = (s >= 0.5).astype(int)
        fpr, tpr, thr = M.roc_curve(y, s)
        fpr2, tpr2, thr2 = skm.roc_curve(y, s, drop_intermediate=False)
        np.testing.assert_allclose(fpr, fpr2)
        np.testing.assert_allclose(tpr, tpr2)
        np.testing.assert_array_equal(thr, thr2)
        assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
        p, r, t = M.precision_recall_curve(y, s)
        p2, r2, t2 = skm.precision_recall_curve(y, s)
        np.testing.assert_allclose(p, p2)
        np.testing.assert_allclose(r, r2)
        np.testing.assert_allclose(t, t2)
        assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))
        assert M.confusion_matrix(y, pred).tolist() == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()
        for mine, theirs in [(M.accuracy, skm.accuracy_score),
                             (M.precision, lambda a, b: skm.precision_score(a, b, zero_division=0)),
                             (M.recall, lambda a, b: skm.recall_score(a, b, zero_division=0)),
                             (M.f1_score, lambda a, b: skm.f1_score(a, b, zero_division=0))]:
            assert mine(y, pred) == pytest.approx(theirs(y, pred))
        assert M.brier_score(y, s) == pytest.approx(skm.brier_score_loss(y, s))
        mp, fp_, _ = M.reliability_curve(y, s, n_bins=5)
        prob_true, prob_pred = calibration_curve(y, s, n_bins=5)
        np.testing.assert_allclose(mp, prob_pred)
        np.testing.assert_allclose(fp_, prob_true)


# =====================================================================================
# More than two classes
# =====================================================================================
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

MC = settings(deadline=None, max_examples=60)


@st.composite
def multiclass_case(draw, min_n=1):
    """(y_true, y_pred, y_score, K): labels, predictions and scores; scores may tie."""
    k = draw(st.integers(2, 6))
    n = draw(st.integers(min_n, 60))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    if draw(st.booleans()):  # often some classes absent: the degenerate cases
        y = np.minimum(y, draw(st.integers(0, k - 1)))
    pred = np.where(rng.random(n) < 0.5, y, rng.integers(0, k, n))
    scores = rng.standard_normal((n, k)) + 2.0 * np.eye(k)[y]
    if draw(st.booleans()):
        scores = np.round(scores)  # many ties
    return y, pred, scores, k


def softmax_rows(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


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


def test_streaming_multiclass_metrics_accumulate_over_batches():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 40)
    p = softmax_rows(rng.standard_normal((40, 3)) + 1.5 * np.eye(3)[y])
    acc = M.get_streaming_metric("categorical_accuracy")
    sparse = M.get_streaming_metric("sparse_categorical_accuracy")
    auc = M.get_streaming_metric("macro_auc")
    assert (acc.name, sparse.name, auc.name) == ("categorical_accuracy", "sparse_categorical_accuracy",
                                                 "macro_auc")
    assert acc.result() == 0.0 and math.isnan(auc.result())
    auc.update(np.zeros(3, int), p[:3])                        # one class seen: nan, no error
    assert math.isnan(auc.result())
    auc.reset()
    for start in range(0, 40, 16):
        batch = slice(start, start + 16)
        acc.update(np.eye(3)[y[batch]], p[batch])              # one-hot labels
        sparse.update(y[batch, None], p[batch])                # integer labels (B, 1)
        auc.update(y[batch], p[batch])
    expected = M.multiclass_accuracy(y, p.argmax(axis=1))
    assert acc.result() == pytest.approx(expected) and sparse.result() == pytest.approx(expected)
    assert auc.result() == pytest.approx(M.macro_roc_auc(y, p))
    assert M.StreamingCategoricalAccuracy(name="accuracy").name == "accuracy"
    assert M.StreamingMacroAUC(name="auc").name == "auc"


@pytest.mark.parametrize("call, match", [
    (lambda: M.multiclass_confusion_matrix([0, 1], [0]), "same length"),
    (lambda: M.multiclass_confusion_matrix([], []), "empty"),
    (lambda: M.multiclass_confusion_matrix([0, 1.5], [0, 1]), "whole numbers"),
    (lambda: M.multiclass_confusion_matrix([0, -1], [0, 1]), "whole numbers"),
    (lambda: M.multiclass_confusion_matrix([0, 3], [0, 1], num_classes=3), r"0\.\.2"),
    (lambda: M.multiclass_confusion_matrix([0, 1], [0, 1], num_classes=1), "num_classes"),
    (lambda: M.multiclass_confusion_matrix([[0.5, 0.5]], [0]), "one-hot"),
    (lambda: M.multiclass_confusion_matrix(["a"], [0]), "dtype"),
    (lambda: M.macro_roc_auc([0, 1], [0.2, 0.8]), "K >= 2"),
    (lambda: M.macro_roc_auc([0, 1], [[0.2, np.nan], [0.1, 0.9]]), "NaN"),
    (lambda: M.macro_roc_auc([0, 1, 2], [[0.2, 0.8], [0.1, 0.9], [0.3, 0.7]]), r"0\.\.1"),
    (lambda: M.top_k_accuracy([0, 1], [[0.2, 0.8], [0.1, 0.9]], k=0), "k must be"),
])
def test_multiclass_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
