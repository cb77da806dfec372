"""A 3-class model learns a planted pattern with the softmax losses (the library part of issue 17).

Uses only what ``Sequential`` does for any loss: ``fit`` passes one-hot labels of the
output's shape to the loss and back-propagates its gradient. The K-class niceties of
``fit`` (class_weight for K classes, integer labels, K-class metrics, ``predict`` with a
softmax) are exercised in ``tests/test_model_multiclass.py``.
"""

import numpy as np
import pytest

from minicnn import Sequential
from minicnn import metrics as M
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from minicnn.layers.softmax import stable_softmax
from minicnn.losses import CategoricalCrossEntropy
from minicnn.optimizers import Adam


def planted(n, rng):
    """12x12 noise; class 1 adds a bright 3x3 square, class 2 a dark one, class 0 nothing."""
    x = rng.normal(0.0, 0.3, (n, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 3, n)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, 10, 2)
        x[i, r:r + 3, c:c + 3, 0] += 2.0 if y[i] == 1 else -2.0
    return x, y


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_three_class_model_learns_a_planted_pattern(label_smoothing):
    rng = np.random.default_rng(0)
    x_train, y_train = planted(600, rng)
    x_test, y_test = planted(300, rng)
    model = Sequential([Conv2D(8, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3)],
                       input_shape=(12, 12, 1), seed=0)
    model.compile(optimizer=Adam(learning_rate=0.01),
                  loss=CategoricalCrossEntropy(label_smoothing=label_smoothing))
    history = model.fit(x_train, np.eye(3, dtype=np.float32)[y_train], epochs=6, batch_size=32,
                        verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    p = stable_softmax(model.predict_logits(x_test))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = M.multiclass_accuracy(y_test, p.argmax(axis=1))
    assert accuracy > 0.9, accuracy
    assert M.macro_roc_auc(y_test, p) > 0.97
    assert M.per_class_sensitivity(y_test, p.argmax(axis=1), 3).min() > 0.8
