"""Tests for minicnn.metrics.checks: bad or degenerate input is refused with a message naming it."""

import numpy as np
import pytest

from metrics_support import S4, Y4
from minicnn import metrics as M


def test_one_class_auc_is_an_error_not_a_number():
    with pytest.raises(ValueError, match="only one class"):
        M.roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="only one class"):
        M.roc_curve([0, 0], [0.2, 0.5])
    with pytest.raises(ValueError, match="no positive"):
        M.average_precision([0, 0], [0.2, 0.5])


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
