"""Tests for minicnn.metrics.bootstrap: repeatable intervals that cover the estimate."""

import numpy as np
import pytest

from minicnn import metrics as M


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
