"""Tests for minicnn.metrics.streaming: the per-epoch metrics equal the batch functions on the epoch."""

import math

import numpy as np
import pytest

from metrics_support import softmax_rows
from minicnn import metrics as M


# --- one probability per example ----------------------------------------------------
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


# --- K classes ---------------------------------------------------------------------------
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
