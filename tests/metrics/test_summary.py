"""Tests for minicnn.metrics.summary: summarize agrees with the single functions and is JSON-ready."""

import json

import numpy as np
import pytest

from minicnn import metrics as M


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
    json.dumps(d)                                                     # plain Python types only
