"""Sequential with K output units, end to end (issue 17): fit with integer or one-hot labels,
class_weight for K classes, predict rows that sum to 1, evaluate's accuracy and macro AUC,
minicnn's own K-class datasets."""

import numpy as np
import pytest

from minicnn import Sequential
from minicnn import metrics as M
from minicnn.data import array_dataset
from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from minicnn.layers.softmax import stable_softmax
from minicnn.losses import CategoricalCrossEntropy, SparseCategoricalCrossEntropy
from minicnn.optimizers import SGD, Adam


def planted(n, rng):
    """12x12 noise; class 1 adds a bright 3x3 square, class 2 a dark one, class 0 nothing."""
    x = rng.normal(0.0, 0.3, (n, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 3, n)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, 10, 2)
        x[i, r:r + 3, c:c + 3, 0] += 2.0 if y[i] == 1 else -2.0
    return x, y


def conv_model(seed=0):
    return Sequential([Conv2D(8, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3)],
                      input_shape=(12, 12, 1), seed=seed)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_categorical_cross_entropy_learns_the_pattern(label_smoothing):
    """Only what fit does for any loss: one-hot labels to the loss, its gradient back."""
    rng = np.random.default_rng(0)
    x_train, y_train = planted(600, rng)
    x_test, y_test = planted(300, rng)
    model = conv_model()
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


@pytest.mark.parametrize("loss, one_hot", [("sparse_categorical_crossentropy", False),
                                           ("categorical_crossentropy", True)])
def test_a_three_class_model_learns_a_planted_pattern_through_fit(loss, one_hot):
    rng = np.random.default_rng(0)
    x_train, y_train = planted(600, rng)
    x_test, y_test = planted(300, rng)
    labels = (lambda y: np.eye(3, dtype=np.float32)[y]) if one_hot else (lambda y: y)
    model = conv_model()
    model.compile(optimizer=Adam(0.01), loss=loss, metrics=["accuracy", "auc"])
    history = model.fit(x_train, labels(y_train), epochs=6, batch_size=32, verbose=0, seed=0,
                        validation_data=(x_test, labels(y_test)))
    assert set(history.history) == {"loss", "accuracy", "auc", "val_loss", "val_accuracy",
                                    "val_auc"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    p = model.predict(x_test)
    assert p.shape == (300, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = M.multiclass_accuracy(y_test, p.argmax(axis=1))
    assert accuracy > 0.9, accuracy
    assert M.per_class_sensitivity(y_test, p.argmax(axis=1), 3).min() > 0.8
    # evaluate: the accuracy and the macro one-vs-rest AUC of predict's probabilities.
    logs = model.evaluate(x_test, labels(y_test), batch_size=64)
    assert logs["accuracy"] == pytest.approx(accuracy)
    assert logs["auc"] == pytest.approx(M.macro_roc_auc(y_test, p), rel=1e-6)
    assert logs["auc"] > 0.97
    assert history.history["val_accuracy"][-1] == pytest.approx(logs["accuracy"])
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    assert logs["auc"] == pytest.approx(
        sklearn_metrics.roc_auc_score(y_test, p, multi_class="ovr", average="macro"), rel=1e-6)


class RecordingSparseLoss(SparseCategoricalCrossEntropy):
    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, logits, y, sample_weight=None):
        self.calls.append((np.array(y, copy=True), np.array(sample_weight, copy=True)))
        return super().forward(logits, y, sample_weight)


@pytest.mark.parametrize("one_hot", [False, True])
def test_class_weight_for_three_classes_gives_the_hand_computed_loss(one_hot):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 2, 2, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 2, 1, 0, 2, 2, 2, 1, 0, 2])
    model = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=0)
    z = model.predict_logits(x).astype(np.float64)
    per_example = np.log(np.exp(z).sum(axis=1)) - z[np.arange(12), y]  # logsumexp(z) - z_y
    class_weight = {0: 0.5, 1: 2.0, 2: 3.0}
    w = np.array([class_weight[c] for c in y])
    labels = np.eye(3)[y] if one_hot else y
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    # learning rate 0: the loss of the one step is that of the weights above
    model.compile(SGD(0.0), loss=loss)
    plain = model.fit(x, labels, batch_size=12, verbose=0).history["loss"][0]
    weighted = model.fit(x, labels, batch_size=12, class_weight=class_weight,
                         verbose=0).history["loss"][0]
    assert plain == pytest.approx(per_example.mean(), rel=1e-5)
    assert weighted == pytest.approx(np.mean(w * per_example), rel=1e-5)
    assert abs(weighted - plain) > 0.1
    with pytest.raises(ValueError, match=r"class_weight .* no weight for label\(s\) \[2(\.0)?\]"):
        model.fit(x, labels, class_weight={0: 1.0, 1: 1.0}, verbose=0)


def test_the_loss_gets_integer_labels_as_they_are_and_one_weight_per_example():
    x = np.random.default_rng(2).normal(size=(6, 2, 2, 1)).astype(np.float32)
    y = np.array([[2], [0], [1], [1], [0], [2]])  # (N, 1) integer labels stay integers
    model = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1), seed=0)
    model.compile(SGD(0.1), loss=RecordingSparseLoss())
    model.fit(x, y, batch_size=6, shuffle=False, class_weight={0: 1.0, 1: 2.0, 2: 4.0}, verbose=0)
    labels, weights = model.loss.calls[0]
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_array_equal(weights, [4, 1, 2, 2, 1, 4])
    assert weights.shape == (6,)


def test_predict_gives_softmax_rows_and_a_softmax_layer_is_not_applied_twice():
    x = np.random.default_rng(3).normal(size=(5, 12, 12, 1)).astype(np.float32) * 10
    model = conv_model()
    p = model.predict(x)  # no compile needed: K = 3 units mean a softmax
    np.testing.assert_allclose(p, stable_softmax(model.predict_logits(x)), rtol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    ends_in_softmax = Sequential(conv_model().layers + [Softmax()], input_shape=(12, 12, 1),
                                 seed=0)
    np.testing.assert_array_equal(ends_in_softmax.predict(x), ends_in_softmax.predict_logits(x))
    binary = Sequential([Flatten(), Dense(1)], input_shape=(12, 12, 1), seed=0)
    p1 = binary.predict(x)
    assert p1.shape == (5, 1)
    np.testing.assert_allclose(p1, 1 / (1 + np.exp(-binary.predict_logits(x))), rtol=1e-6)


@pytest.mark.parametrize("label_mode, loss", [("int", "sparse_categorical_crossentropy"),
                                              ("categorical", "categorical_crossentropy")])
def test_minicnn_datasets_with_k_class_labels_train_and_evaluate(label_mode, loss):
    rng = np.random.default_rng(4)
    x, y = planted(96, rng)
    train = array_dataset(x, y, batch_size=32, seed=0, label_mode=label_mode)
    model = conv_model()
    model.compile(Adam(0.01), loss=loss, metrics=["accuracy", "auc"])
    history = model.fit(train, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    logs = model.evaluate(array_dataset(x, y, batch_size=32, shuffle=False, label_mode=label_mode))
    p = model.predict(x)
    assert logs["accuracy"] == pytest.approx(M.multiclass_accuracy(y, p.argmax(axis=1)))
