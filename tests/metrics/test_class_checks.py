"""Tests for minicnn.metrics.class_checks: bad K-class input raises a ValueError naming the problem."""

import numpy as np
import pytest

from minicnn import metrics as M


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
