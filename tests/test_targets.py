"""minicnn.targets: which labels fit a model, checked before the first update (issue 19, item 5).

Written as the attacks: labels {0, 2} and {-1, 1} on a binary model, 0.5 where it is not
allowed, 3-class labels on a binary model, a class number K or more, rows that are not
distributions. Before the fix ``fit`` trained on all of them (or failed after the first
update with an error that named no argument, epoch or step). Each attack must be refused
with a ValueError that names ``y`` (or the epoch and step of a dataset batch) and must
leave the model untouched: weights, BatchNorm statistics, optimizer steps.
"""

import numpy as np
import pytest

from minicnn import Sequential
from minicnn import metrics as M
from minicnn import targets
from minicnn.layers import BatchNormalization, Dense, Flatten, Softmax
from minicnn.losses import BinaryCrossEntropy, CategoricalCrossEntropy
from minicnn.optimizers import SGD


def model_with(units, loss, metrics=None):
    model = Sequential([Flatten(), BatchNormalization(), Dense(units)], input_shape=(3, 3, 1),
                       seed=0)
    model.compile(SGD(0.1), loss=loss, metrics=metrics)
    return model


def images(n=12, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3, 3, 1)).astype(np.float32)


def assert_refused_untouched(model, pattern, fit=None):
    before = model.get_weights()
    with pytest.raises(ValueError, match=pattern):
        (fit or (lambda: None))()
    assert model.optimizer.iterations == 0
    for now, then in zip(model.get_weights(), before):  # BatchNorm's statistics included
        np.testing.assert_array_equal(now, then)


BINARY_ATTACKS = [
    (np.array([0, 2] * 6), [], r"fit: y: labels of a binary model .* must be in \[0, 1\] .*"
                               r"found \[2\].*Dense\(K\)"),
    (np.array([-1, 1] * 6), [], r"fit: y: .* found \[-1\].*map them to 0/1"),
    (np.array([0, 1, 2] * 4), ["auc"], r"fit: y: .* found \[2\].*sparse_categorical"),
    (np.array([0.5, 1.0] * 6), ["accuracy"], r"fit: y: .* must be 0 or 1 \(the metric\(s\) "
                                             r"\['accuracy'\].*found \[0.5\]"),
    (np.array([0.5, 1.5] * 6), [], r"fit: y: .* in \[0, 1\] \(0/1, or soft labels\); found \[1.5\]"),
    (np.eye(3)[[0, 1, 2] * 4], [], r"fit: y: a model with one output unit .* got \(12, 3\).*"
                                   r"one-hot rows of 3 classes"),
    (np.array([0, np.nan] * 6), [], r"fit: y: labels must be finite, found \[nan\]"),
]


@pytest.mark.parametrize("y, metrics, pattern", BINARY_ATTACKS)
def test_fit_refuses_labels_that_do_not_fit_a_binary_model_before_any_update(y, metrics, pattern):
    model = model_with(1, "binary_crossentropy", metrics)
    assert_refused_untouched(model, pattern,
                             lambda: model.fit(images(), y, batch_size=4, verbose=0))


CLASS_ATTACKS = [
    ("sparse_categorical_crossentropy", np.array([0, 1, 3] * 4),
     r"fit: y: class labels of a model with K = 3 .* 0\.\.2, found \[3\]"),
    ("sparse_categorical_crossentropy", np.array([0, 1, -1] * 4), r"found \[-1\]"),
    ("sparse_categorical_crossentropy", np.array([0, 0.5, 2] * 4), r"found \[0.5\]"),
    ("sparse_categorical_crossentropy", np.eye(3)[[0, 1, 2] * 4],
     r"fit: y: SparseCategoricalCrossEntropy takes integer labels .* categorical_crossentropy"),
    ("categorical_crossentropy", np.array([0, 1, 2] * 4),
     r"fit: y: CategoricalCrossEntropy takes one-hot rows .* sparse_categorical_crossentropy"),
    ("categorical_crossentropy", 2 * np.eye(3)[[0, 1, 2] * 4],
     r"fit: y: each row .* a distribution .* row 0 is \[2.0, 0.0, 0.0\]"),
    ("categorical_crossentropy", np.tile([[1.5, -0.5, 0.0]], (12, 1)), r"row 0 is \[1.5, -0.5"),
    ("categorical_crossentropy", np.eye(4)[[0, 1, 2] * 4], r"fit: y: a model with 3 output units"),
]


@pytest.mark.parametrize("loss, y, pattern", CLASS_ATTACKS)
def test_fit_refuses_labels_that_do_not_fit_a_three_class_model_before_any_update(loss, y, pattern):
    model = model_with(3, loss, ["accuracy"])
    assert_refused_untouched(model, pattern,
                             lambda: model.fit(images(), y, batch_size=4, verbose=0))


def test_soft_labels_need_a_loss_that_takes_them_and_no_metric_that_counts():
    # Soft labels ARE cross-entropy targets for BinaryCrossEntropy (documented there), so
    # 0.5 trains without metrics; the same labels with "accuracy" are refused above.
    model = model_with(1, "binary_crossentropy")
    history = model.fit(images(), np.array([0.5, 0.9, 0.0] * 4), batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and model.optimizer.iterations == 3
    one_hot_model = model_with(3, "categorical_crossentropy")
    soft = np.tile([[0.7, 0.2, 0.1]], (12, 1))
    one_hot_model.fit(images(), soft, batch_size=4, verbose=0)
    model = model_with(3, "categorical_crossentropy", ["accuracy"])
    assert_refused_untouched(model, r"fit: y: the metric\(s\) \['accuracy'\] need one-hot rows",
                             lambda: model.fit(images(), soft, batch_size=4, verbose=0))


def test_the_binary_loss_itself_refuses_labels_outside_zero_one():
    loss = BinaryCrossEntropy()
    z = np.zeros((3, 1))
    assert loss.forward(z, [0.0, 0.25, 1.0]) == pytest.approx(np.log(2))
    for bad in ([0, 2, 1], [-1, 0, 1], [0, np.nan, 1]):
        with pytest.raises(ValueError, match=r"BinaryCrossEntropy: y \(labels\) must be in \[0, 1\]"):
            loss.forward(z, bad)


class ListDataset:
    """Batches from a list; ``bad_at`` = (pass, step) replaces that batch's labels with ``bad``.

    When it hands out the bad batch it records the model's weights: the step before it
    is complete, the bad one has not started.
    """

    def __init__(self, x, y, batch_size, model, bad_at, bad):
        self.batches = [(x[i:i + batch_size], y[i:i + batch_size])
                        for i in range(0, len(x), batch_size)]
        self.model, self.bad_at, self.bad, self.passes = model, bad_at, bad, 0
        self.weights_then = None

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        self.passes += 1
        for step, (images_, labels) in enumerate(self.batches, start=1):
            if (self.passes, step) == self.bad_at:
                self.weights_then = self.model.get_weights()
                labels = self.bad
            yield images_, labels


def test_a_bad_dataset_batch_is_named_by_epoch_and_step_before_its_update():
    x = images(12)
    y = np.array([0, 1, 2] * 4, dtype=np.int32)  # as minicnn's datasets give label_mode="int"
    model = model_with(3, "sparse_categorical_crossentropy", ["accuracy", "auc"])
    dataset = ListDataset(x, y, 4, model, bad_at=(2, 2), bad=np.array([0, 3, 1, 2], np.int32))
    with pytest.raises(ValueError, match=r"fit: the labels at epoch 2, step 2/3: class labels .* "
                                         r"found \[3\]"):
        model.fit(dataset, epochs=3, verbose=0)
    assert model.optimizer.iterations == 4  # 3 steps of epoch 1, 1 of epoch 2
    for now, then in zip(model.get_weights(), dataset.weights_then):
        np.testing.assert_array_equal(now, then)


def test_validation_evaluate_and_train_on_batch_check_labels_too():
    x, y = images(12), np.array([0, 1] * 6)
    model = model_with(1, "binary_crossentropy", ["accuracy"])
    assert_refused_untouched(model, r"fit\(validation_data\): y: .* found \[2\]",
                             lambda: model.fit(x, y, validation_data=(x, 2 * y), verbose=0))
    with pytest.raises(ValueError, match=r"evaluate: y: .* found \[-1\]"):
        model.evaluate(x, 2 * y - 1)
    assert_refused_untouched(model, r"train_on_batch: y: .* found \[2\]",
                             lambda: model.train_on_batch(x, 2 * y))
    dataset = ListDataset(x, y, 4, model, bad_at=(1, 3), bad=np.array([0, 1, 0, 5]))
    with pytest.raises(ValueError, match=r"evaluate: the labels at batch 3/3: .* found \[5\]"):
        model.evaluate(dataset)


def test_labels_of_another_loss_object_are_checked_for_shape_only():
    class HingeLoss:  # labels -1/1 are this loss's business
        def forward(self, logits, y, sample_weight=None):
            self.grad = -np.asarray(y, logits.dtype).reshape(logits.shape) / len(logits)
            return float(np.mean(np.maximum(0, 1 - y.reshape(logits.shape) * logits)))

        def backward(self):
            return self.grad

    model = Sequential([Flatten(), Dense(1)], input_shape=(3, 3, 1), seed=0)
    model.compile(SGD(0.1), loss=HingeLoss())
    model.fit(images(), np.array([-1.0, 1.0] * 6), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="one output unit"):
        model.fit(images(), np.zeros((12, 2)), verbose=0)


# --- the head: probabilities and metrics -------------------------------------------------
def test_head_follows_the_last_layer_the_units_and_the_loss():
    logits3 = Sequential([Flatten(), Dense(3)], input_shape=(2, 2, 1))
    logits1 = Sequential([Flatten(), Dense(1)], input_shape=(2, 2, 1))
    softmax3 = Sequential([Flatten(), Dense(3), Softmax()], input_shape=(2, 2, 1))
    assert targets.head(logits3) == "softmax" and targets.head(logits1) == "sigmoid"
    assert targets.head(softmax3) is None and softmax3.outputs_probabilities
    assert targets.num_classes((3,)) == 3 and targets.num_classes((4, 4, 1)) is None

    class OwnSoftmaxLoss:
        activation = "softmax"

    logits1.loss = OwnSoftmaxLoss()
    assert targets.head(logits1) == "softmax"


def test_k_class_metric_names_and_refusals():
    sparse = model_with(3, "sparse_categorical_crossentropy", ["accuracy", "auc"])
    assert [type(m) for m in sparse.metrics] == [M.StreamingSparseCategoricalAccuracy,
                                                 M.StreamingMacroAUC]
    assert [m.name for m in sparse.metrics] == ["accuracy", "auc"]
    dense = model_with(3, "categorical_crossentropy", ["accuracy", "categorical_accuracy"])
    assert type(dense.metrics[0]) is M.StreamingCategoricalAccuracy
    assert [m.name for m in dense.metrics] == ["accuracy", "categorical_accuracy"]
    for name in ("precision", "recall"):
        with pytest.raises(ValueError, match=f"metric '{name}' is binary .* 3 output units.*"
                                             "per_class_"):
            model_with(3, "sparse_categorical_crossentropy", [name])
    with pytest.raises(ValueError, match="'macro_auc' is for K >= 2 classes"):
        model_with(1, "binary_crossentropy", ["macro_auc"])


def test_compile_refuses_a_loss_that_does_not_fit_the_output():
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy takes one output unit .* has 3.*"
                                         "sparse_categorical_crossentropy"):
        model_with(3, "binary_crossentropy")
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossEntropy needs K >= 2 output units"):
        model_with(1, "sparse_categorical_crossentropy")
    softmax = Sequential([Flatten(), Dense(3), Softmax()], input_shape=(3, 3, 1))
    with pytest.raises(ValueError, match=r"ends with a Softmax layer .* "
                                         r"CategoricalCrossEntropy\(from_logits=False\)"):
        softmax.compile(loss="categorical_crossentropy")
    softmax.compile(loss=CategoricalCrossEntropy(from_logits=False))
