"""Steps 4 and 5 (examples/chest_xray/evaluation.py): the threshold and its fallbacks."""

import argparse

import numpy as np
import pytest

from chest_xray import evaluation

ARGS = argparse.Namespace(bootstrap=20, seed=0)


def test_threshold_is_the_highest_that_reaches_the_target_on_validation():
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.4, 0.7, 0.3, 0.6, 0.8, 0.9])
    t = evaluation.choose_threshold(evaluation.Scores(y, p), 0.75)
    assert t == pytest.approx(0.6)                       # 3 of 4 positives at p >= 0.6
    assert ((p >= t) & (y == 1)).sum() / 4 >= 0.75


def test_one_class_validation_falls_back_to_one_half_and_says_so(capsys):
    t = evaluation.choose_threshold(evaluation.Scores(np.ones(4), np.full(4, 0.9)), 0.95)
    assert t == 0.5 and "one class only" in capsys.readouterr().err


def test_summarize_notes_one_class_instead_of_an_undefined_auc():
    one = evaluation.summarize(evaluation.Scores(np.zeros(3), np.full(3, 0.2)), 0.5, ARGS)
    assert one == {"threshold": 0.5, "n": 3, "note": "one class only"}
    y = np.array([0, 1] * 10)
    both = evaluation.summarize(evaluation.Scores(y, y * 0.8 + 0.1), 0.5, ARGS)
    assert both["auc"] == 1.0 and both["threshold"] == 0.5 and both["n"] == 20
