"""Tests for minicnn.metrics (the package): one face for every name its files define."""

import importlib

import pytest

from minicnn import metrics as M

# The names minicnn.metrics exported when it was one file; the package may add, never drop.
NAMES_OF_THE_ONE_FILE = {
    "accuracy", "precision", "recall", "sensitivity", "specificity", "f1_score",
    "confusion_matrix", "roc_curve", "roc_auc", "precision_recall_curve",
    "average_precision", "choose_threshold", "bootstrap_ci", "brier_score",
    "reliability_curve", "summarize", "get_streaming_metric", "StreamingAccuracy",
    "StreamingPrecision", "StreamingRecall", "StreamingAUC",
    "as_labels", "as_scores", "as_probabilities", "check_pair", "ratio",
    "multiclass_confusion_matrix", "multiclass_accuracy", "per_class_sensitivity",
    "per_class_recall", "per_class_specificity", "per_class_precision", "per_class_f1",
    "macro_f1", "weighted_f1", "one_vs_rest_roc_curves", "one_vs_rest_roc_auc", "macro_roc_auc",
    "top_k_accuracy", "StreamingCategoricalAccuracy", "StreamingSparseCategoricalAccuracy",
    "StreamingMacroAUC",
}

FILES = ["checks", "thresholded", "auc", "curves", "operating_point", "calibration", "bootstrap",
         "summary", "class_checks", "multiclass", "one_vs_rest", "streaming"]


def test_every_name_of_the_one_file_is_still_exported():
    assert NAMES_OF_THE_ONE_FILE <= set(M.__all__)
    assert len(M.__all__) == len(set(M.__all__))
    for name in M.__all__:
        assert callable(getattr(M, name)), name


@pytest.mark.parametrize("file", FILES)
def test_the_package_exports_each_files_names_as_the_same_objects(file):
    module = importlib.import_module(f"minicnn.metrics.{file}")
    assert module.__doc__ and module.__all__, f"{file}.py needs a docstring and an __all__"
    for name in module.__all__:
        assert callable(getattr(module, name)), f"{file}.{name}"
        if name in M.__all__:
            assert getattr(M, name) is getattr(module, name), f"{file}.{name}"
