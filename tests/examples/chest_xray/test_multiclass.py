"""--task 3class's evaluation (examples/chest_xray/multiclass.py): the figures and the headline.

Every figure is checked against scikit-learn where installed and against a hand count; the
intervals are bootstrap percentiles that hold the point value.
"""

import numpy as np
import pytest

from chest_xray import multiclass

NAMES = ["NORMAL", "BACTERIA", "VIRUS"]


def drawn(n=300, seed=0):
    """Labels and softmax probabilities of a useful but imperfect model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, p


def test_a_hand_example_of_the_two_clinical_figures():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[.8, .1, .1],    # normal, called normal
                  [.2, .5, .3],    # normal, called bacteria (a false alarm for pneumonia)
                  [.1, .6, .3],    # bacteria, right
                  [.5, .2, .3],    # bacteria called normal; P(B) < P(V): wrong kind too
                  [.1, .2, .7],    # virus, right
                  [.6, .3, .1]])   # virus called normal; P(B) > P(V): wrong kind
    f = multiclass.figures(y, p, NAMES)
    pn = f["pneumonia_vs_normal"]
    assert (pn["n_pneumonia"], pn["n_normal"]) == (4, 2)
    assert pn["sensitivity"] == 2 / 4 and pn["specificity"] == 1 / 2
    # AUC of 1 - P(NORMAL): pairs (sick, normal) with the sick film scoring higher, ties half.
    s = 1 - p[:, 0]
    pairs = [(i, j) for i in range(6) for j in range(6) if y[i] != 0 and y[j] == 0]
    auc = np.mean([1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0 for i, j in pairs])
    assert pn["auc"] == pytest.approx(auc)
    bv = f["bacterial_vs_viral"]
    assert (bv["n"], bv["n_bacteria"], bv["n_virus"]) == (4, 2, 2)
    assert bv["accuracy"] == 2 / 4                     # films 2 and 4 told apart right
    assert f["confusion_matrix"] == [[1, 1, 0], [1, 1, 0], [1, 0, 1]]
    assert f["accuracy"] == 3 / 6


def test_the_figures_equal_scikit_learns():
    sk = pytest.importorskip("sklearn.metrics")
    y, p = drawn()
    f = multiclass.figures(y, p, NAMES)
    called = p.argmax(axis=1)
    assert f["accuracy"] == pytest.approx(sk.accuracy_score(y, called))
    assert f["confusion_matrix"] == sk.confusion_matrix(y, called, labels=[0, 1, 2]).tolist()
    recall = sk.recall_score(y, called, average=None, labels=[0, 1, 2])
    precision = sk.precision_score(y, called, average=None, labels=[0, 1, 2], zero_division=0)
    f1 = sk.f1_score(y, called, average=None, labels=[0, 1, 2])
    for c, name in enumerate(NAMES):
        r = f["per_class"][name]
        assert r["n"] == int((y == c).sum())
        assert r["sensitivity"] == pytest.approx(recall[c])
        assert r["precision"] == pytest.approx(precision[c])
        assert r["f1"] == pytest.approx(f1[c])
        assert r["specificity"] == pytest.approx(sk.recall_score(y != c, called != c))
        assert r["auc"] == pytest.approx(sk.roc_auc_score(y == c, p[:, c]))
    assert f["macro_f1"] == pytest.approx(sk.f1_score(y, called, average="macro"))
    assert f["weighted_f1"] == pytest.approx(sk.f1_score(y, called, average="weighted"))
    assert f["macro_auc"] == pytest.approx(sk.roc_auc_score(y, p, multi_class="ovr"))
    sick = y != 0
    assert f["pneumonia_vs_normal"]["auc"] == pytest.approx(sk.roc_auc_score(sick, 1 - p[:, 0]))
    among = y != 0
    viral = y[among] == 2
    assert f["bacterial_vs_viral"]["accuracy"] == pytest.approx(
        np.mean(viral == (p[among, 2] > p[among, 1])))
    assert f["bacterial_vs_viral"]["auc"] == pytest.approx(
        sk.roc_auc_score(viral, p[among, 2] / (p[among, 1] + p[among, 2])))


def test_bootstrap_intervals_hold_the_value_and_repeat_for_a_seed():
    y, p = drawn(200, seed=1)
    s = multiclass.summarize(multiclass.ClassScores(y, p), NAMES, n_bootstrap=200, seed=3)
    for node in [s, s["pneumonia_vs_normal"], s["bacterial_vs_viral"], *s["per_class"].values()]:
        for key, value in list(node.items()):
            if isinstance(value, float) and not key.endswith("_ci"):
                lo, hi = node[key + "_ci"]
                assert lo <= value <= hi or np.isclose(value, lo) or np.isclose(value, hi), key
    again = multiclass.summarize(multiclass.ClassScores(y, p), NAMES, n_bootstrap=200, seed=3)
    assert again == s
    assert "accuracy_ci" not in multiclass.summarize(multiclass.ClassScores(y, p), NAMES, 0)


def test_a_class_missing_from_the_films_gives_none_not_an_error():
    y = np.array([0, 0, 1, 1])                       # no viral film (the official val/)
    p = np.array([[.7, .2, .1], [.2, .5, .3], [.1, .8, .1], [.3, .3, .4]])
    f = multiclass.figures(y, p, NAMES)
    assert f["per_class"]["VIRUS"]["auc"] is None and f["macro_auc"] is None
    assert f["bacterial_vs_viral"]["auc"] is None and f["per_class"]["VIRUS"]["n"] == 0
    assert multiclass.headline({"test": f, "class_names": NAMES}) is None


def test_the_headline_agrees_with_the_confusion_matrix():
    y, p = drawn(240, seed=2)
    results = {"test": multiclass.summarize(multiclass.ClassScores(y, p), NAMES, 50),
               "class_names": NAMES, "kermany_bacterial_vs_viral_accuracy": 0.907}
    h = multiclass.headline(results)
    cm = np.array(results["test"]["confusion_matrix"])
    for c, row in enumerate(h["classes"]):
        assert row["n"] == cm[c].sum() and row["found"] == cm[c, c]
        assert row["wrongly_called"] == cm[:, c].sum() - cm[c, c]
        assert row["n_others"] == cm.sum() - cm[c].sum()
        assert row["found_per_100"] == round(100 * cm[c, c] / cm[c].sum())
        assert row["wrongly_called_per_100"] == round(
            100 * (cm[:, c].sum() - cm[c, c]) / (cm.sum() - cm[c].sum()))
    assert "of 100 children with viral pneumonia it calls about" in h["text"]
    assert "Bacterial vs viral, among the" in h["text"] and "90.7%" in h["text"]


def test_grad_cam_examples_are_the_surest_right_then_wrong_calls():
    y = np.array([0, 1, 1, 2, 1, 0])
    p = np.array([[.1, .8, .1], [.1, .7, .2], [.2, .6, .2], [.1, .9, 0.], [.5, .4, .1],
                  [.3, .4, .3]])
    # Called BACTERIA: films 0, 1, 2, 3, 5. Right (truly bacteria): 1 (.7), 2 (.6);
    # wrong: 3 (.9), 0 (.8), 5 (.4).
    assert multiclass.pick_for_class(y, p, 1, per_kind=2) == [1, 2, 3, 0]
    assert multiclass.pick_for_class(y, p, 2, per_kind=2) == []
