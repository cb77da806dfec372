"""Tests for minicnn.metrics.calibration: Brier score and reliability curve, by hand and against scikit-learn."""

import numpy as np
import pytest

from metrics_support import binary_cases_for_scikit_learn
from minicnn import metrics as M


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


def test_calibration_matches_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is an optional reference")
    from sklearn.calibration import calibration_curve
    for y, s in binary_cases_for_scikit_learn():
        assert M.brier_score(y, s) == pytest.approx(skm.brier_score_loss(y, s))
        mp, fp_, _ = M.reliability_curve(y, s, n_bins=5)
        prob_true, prob_pred = calibration_curve(y, s, n_bins=5)
        np.testing.assert_allclose(mp, prob_pred)
        np.testing.assert_allclose(fp_, prob_true)
