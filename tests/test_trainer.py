"""minicnn.trainer: train_step is the loop; fit (through Sequential.fit) learns, keeps its
promises (history, class weights, shuffling, seeds, datasets, dtypes), and fails safely
(NaN loss, Ctrl-C)."""

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from minicnn.callbacks import Callback, EarlyStopping
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.normalization import BatchNormalization
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.losses import BinaryCrossEntropy
from minicnn.model import Sequential
from minicnn.optimizers import SGD, Adam
from minicnn.trainer import InterruptGuard, train_step


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own Ctrl-C handler for each test, as in an interactive run. A job started in
    the background by a shell without job control inherits SIGINT ignored, which minicnn
    rightly leaves alone; the Ctrl-C tests need the handler a terminal gives."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def planted(n, size=16, seed=0):
    """Noise images; half of them (label 1) carry a bright 4x4 square at a random place."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, (n, size, size, 1)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.float32)
    rng.shuffle(y)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, size - 4, 2)
        x[i, r:r + 4, c:c + 4] += 1.5
    return x, y


def conv_model(seed=0, input_shape=(16, 16, 1), extra=()):
    return Sequential([Conv2D(8, 3), ReLU(), MaxPool2D(2), Conv2D(8, 3), ReLU(), *extra,
                       GlobalAveragePooling2D(), Dense(1)], input_shape=input_shape, seed=seed)


def dense_model(seed=0, dropout=False):
    layers = [Flatten(), Dense(8), ReLU()] + ([Dropout(0.5)] if dropout else []) + [Dense(1)]
    return Sequential(layers, input_shape=(4, 4, 1), seed=seed)


def tiny_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4, 4, 1)).astype(np.float32)
    y = (x[:, 0, 0, 0] + x[:, 1, 1, 0] > 0).astype(np.float32)
    return x, y


class RecordingLoss(BinaryCrossEntropy):
    """The real loss, keeping what fit passed to it."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, logits, y, sample_weight=None):
        self.calls.append((logits.copy(), np.array(y, copy=True),
                           None if sample_weight is None else np.array(sample_weight, copy=True)))
        return super().forward(logits, y, sample_weight)


# --- it learns ------------------------------------------------------------------------
def test_a_small_cnn_learns_a_planted_pattern():
    x, y = planted(96)
    model = conv_model()
    model.compile(Adam(0.01), metrics=["accuracy"])
    start = model.evaluate(x, y)["loss"]
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0, seed=0)
    end = model.evaluate(x, y)
    assert start > 0.6
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert end["loss"] < 0.25 * start, (start, end)
    assert end["accuracy"] >= 0.95


def _load_xrays(root, per_class=24, size=32):
    from PIL import Image

    x, y = [], []
    for label, cls in enumerate(["NORMAL", "PNEUMONIA"]):
        files = sorted((Path(root) / "train" / cls).glob("*.jpeg"))[:per_class]
        for f in files:
            with Image.open(f) as image:
                x.append(np.asarray(image.convert("L").resize((size, size), Image.BILINEAR),
                                    dtype=np.float32) / 255.0)
            y.append(label)
    return np.stack(x)[..., None], np.array(y, dtype=np.float32)


@pytest.mark.skipif(not os.environ.get("MINICNN_DATA"),
                    reason="MINICNN_DATA is unset: no real X-rays to train on")
def test_a_tiny_cnn_fits_a_few_dozen_real_xrays():
    x, y = _load_xrays(os.environ["MINICNN_DATA"])
    assert x.shape == (48, 32, 32, 1) and y.sum() == 24
    model = Sequential([Conv2D(8, 3), ReLU(), MaxPool2D(2), Conv2D(16, 3), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(16), ReLU(), Dense(1)], input_shape=(32, 32, 1), seed=0)
    model.compile(Adam(3e-3), metrics=["accuracy"])
    start = model.evaluate(x, y)["loss"]
    model.fit(x, y, epochs=15, batch_size=16, verbose=0, seed=0)
    end = model.evaluate(x, y)
    assert end["loss"] < 0.5 * start, (start, end)
    assert end["accuracy"] >= 0.85


# --- history -----------------------------------------------------------------------------
def test_history_has_loss_metrics_and_val_twins_per_epoch():
    x, y = tiny_data()
    model = dense_model()
    model.compile(SGD(0.1), metrics=["accuracy", "auc", "precision", "recall"])
    history = model.fit(x, y, epochs=3, batch_size=10, validation_data=(x[:10], y[:10]), verbose=0)
    names = ["loss", "accuracy", "auc", "precision", "recall"]
    assert list(history.history) == names + [f"val_{n}" for n in names]
    assert all(len(v) == 3 for v in history.history.values())
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert history.epoch == [0, 1, 2]
    assert history.params == {"epochs": 3, "steps": 3, "batch_size": 10, "verbose": 0}
    assert history.interrupted is False and model.history is history
    # val_ values are those of evaluate on the validation data after the last epoch.
    final = model.evaluate(x[:10], y[:10])
    assert history.history["val_loss"][-1] == pytest.approx(final["loss"])
    assert history.history["val_auc"][-1] == pytest.approx(final["auc"])


def test_training_loss_is_the_mean_over_examples_of_the_losses_before_each_step():
    x, y = tiny_data(10)
    model = dense_model()
    loss = RecordingLoss()
    model.compile(SGD(0.1), loss=loss)
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    # batches of 4, 4, 2: each batch mean weighted by its size
    batch_losses = [BinaryCrossEntropy().forward(z, t) for z, t, _ in loss.calls]
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / 10
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)


# --- class weights ---------------------------------------------------------------------------
def test_class_weight_gives_the_hand_computed_weighted_loss():
    x, y = tiny_data(12)
    model = dense_model()
    z = model.predict_logits(x).astype(np.float64).ravel()  # the weights before the only step
    per_example = np.logaddexp(0, z) - y * z
    model.compile(SGD(0.1), loss=RecordingLoss())
    history = model.fit(x, y, epochs=1, batch_size=12, class_weight={0: 0.25, 1: 3.0}, verbose=0)
    w = np.where(y == 1, 3.0, 0.25)
    assert history.history["loss"][0] == pytest.approx(np.mean(w * per_example), rel=1e-5)
    _, labels_seen, weights_seen = model.loss.calls[0]  # the batch is shuffled
    assert weights_seen.shape == (12,)  # one weight per example, whatever the labels' shape
    np.testing.assert_array_equal(weights_seen, np.where(labels_seen.ravel() == 1, 3.0, 0.25))
    # and it differs from the unweighted loss: the weights were really used
    assert abs(np.mean(w * per_example) - np.mean(per_example)) > 1e-3


def test_class_weight_changes_the_gradient_direction():
    """Weighting class 1 heavily pushes predictions up compared with weighting class 0."""
    x, y = tiny_data(24)
    means = []
    for class_weight in ({0: 1.0, 1: 10.0}, {0: 10.0, 1: 1.0}):
        model = dense_model()
        model.compile(SGD(0.05))
        model.fit(x, y, epochs=3, batch_size=8, class_weight=class_weight, verbose=0, seed=0)
        means.append(model.predict(x).mean())
    assert means[0] > means[1] + 0.1


# --- shuffling and seeds ---------------------------------------------------------------------
def test_shuffling_keeps_each_image_with_its_label():
    """Regression: labels shuffled apart from their images.

    Image i holds the value i in its first pixel; with a model whose logit is exactly
    that pixel (and a learning rate of 0) the loss sees (logit, label) pairs, which
    must satisfy label == f(logit) for the labelling f used to make the data.
    """
    n = 40
    x = np.zeros((n, 4, 4, 1), np.float32)
    x[:, 0, 0, 0] = np.arange(n)
    f = lambda i: ((i * 7) % 3 == 0).astype(np.float32)  # noqa: E731  (an arbitrary labelling)
    y = f(np.arange(n))
    model = Sequential([Flatten(), Dense(1)], input_shape=(4, 4, 1), seed=0)
    dense = model.layers[1]
    dense.params["W"][...] = 0
    dense.params["W"][0, 0] = 1
    dense.params["b"][...] = 0
    loss = RecordingLoss()
    model.compile(SGD(0.0), loss=loss)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=True, verbose=0, seed=3)
    orders = []
    for epoch in range(2):
        ids = np.concatenate([z.ravel() for z, _, _ in loss.calls[epoch * 5:(epoch + 1) * 5]])
        labels = np.concatenate([t.ravel() for _, t, _ in loss.calls[epoch * 5:(epoch + 1) * 5]])
        np.testing.assert_array_equal(labels, f(ids.astype(int)))  # pairs intact
        assert sorted(ids.astype(int)) == list(range(n))  # each example exactly once
        orders.append(ids)
    assert not np.array_equal(orders[0], np.arange(n))  # it did shuffle
    assert not np.array_equal(orders[0], orders[1])  # a new order every epoch


def test_shuffle_false_keeps_the_order():
    x, y = tiny_data(10)
    model = dense_model()
    model.compile(SGD(0.0), loss=RecordingLoss())
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_array_equal(np.concatenate([t.ravel() for _, t, _ in model.loss.calls]), y)


def test_the_same_seeds_give_the_same_run_with_dropout():
    x, y = tiny_data(32)

    def run(fit_seed):
        model = dense_model(seed=5, dropout=True)
        model.compile(Adam(0.01), metrics=["auc"])
        history = model.fit(x, y, epochs=3, batch_size=8, validation_data=(x, y), verbose=0, seed=fit_seed)
        return history.history, model.get_weights()

    h1, w1 = run(1)
    h2, w2 = run(1)
    h3, w3 = run(2)
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert h1["loss"] != h3["loss"]  # another shuffling seed: another run


def test_labels_shaped_n_or_n1_train_identically():
    x, y = tiny_data(16)
    results = []
    for labels in (y, y[:, None]):
        model = dense_model()
        model.compile(SGD(0.1))
        results.append(model.fit(x, labels, epochs=2, batch_size=5, verbose=0, seed=0).history["loss"])
    assert results[0] == results[1]


# --- datasets -----------------------------------------------------------------------------
class BatchDataset:
    """A minimal dataset: len() and one pass of (images, labels) batches per iteration."""

    def __init__(self, x, y, batch_size, fail_at=None):
        self.x, self.y, self.batch_size, self.fail_at = x, y, batch_size, fail_at
        self.passes = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        self.passes += 1
        for step, start in enumerate(range(0, len(self.x), self.batch_size)):
            if self.fail_at == (self.passes, step):
                raise KeyboardInterrupt  # as if Ctrl-C arrived while loading this batch
            yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]


def test_fit_accepts_a_dataset_for_training_and_validation():
    x, y = tiny_data(20)
    dataset = BatchDataset(x, y, 6)
    model = dense_model()
    model.compile(SGD(0.1), metrics=["accuracy"])
    history = model.fit(dataset, epochs=3, validation_data=BatchDataset(x, y, 7), verbose=0)
    assert dataset.passes == 3
    assert history.params["steps"] == 4 and history.params["batch_size"] is None
    assert len(history.history["val_loss"]) == 3
    # the same data as arrays without shuffling gives the same run
    reference = dense_model()
    reference.compile(SGD(0.1), metrics=["accuracy"])
    expected = reference.fit(x, y, epochs=3, batch_size=6, shuffle=False, validation_data=(x, y),
                             verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(history.history["val_loss"], expected.history["val_loss"], rtol=1e-6)


def test_fit_trains_on_a_prefetching_minicnn_dataset():
    from minicnn.data import array_dataset

    x, y = planted(64, size=12)
    pixels = np.clip(x * 100 + 100, 0, 255).astype(np.uint8)  # as images on disk would be
    train = array_dataset(pixels, y, batch_size=16, seed=0).map(lambda a, b: (a / 255.0, b)).prefetch(2)
    model = conv_model(input_shape=(12, 12, 1))
    model.compile(Adam(0.01), metrics=["accuracy"])
    interrupt = InterruptAt(epoch=6, step=1)
    history = model.fit(train, epochs=8, callbacks=[interrupt], verbose=0)
    assert history.epoch == list(range(6)) and history.interrupted
    assert history.history["loss"][-1] < 0.9 * history.history["loss"][0]  # it trains
    # predict on the images-only twin equals predict on the arrays
    images_only = array_dataset(pixels, None, batch_size=16, shuffle=False, label_mode=None)
    np.testing.assert_allclose(model.predict(images_only.map(lambda a: a / 255.0)),
                               model.predict(pixels / np.float32(255)), rtol=1e-6, atol=1e-7)


def test_dataset_batches_may_carry_sample_weights_and_bad_batches_are_named():
    x, y = tiny_data(8)
    model = dense_model()
    model.compile(SGD(0.0), loss=RecordingLoss())
    w = np.arange(8, dtype=np.float32)
    model.fit([(x[:4], y[:4], w[:4]), (x[4:], y[4:], w[4:])], verbose=0)
    np.testing.assert_array_equal(model.loss.calls[1][2].ravel(), w[4:])
    with pytest.raises(ValueError, match="batch 1 of the dataset is a str"):
        model.fit([(x[:4], y[:4]), "oops"], verbose=0)
    with pytest.raises(ValueError, match="batch 0 of the dataset has no labels"):
        model.fit([x[:4]], verbose=0)


# --- dtypes ---------------------------------------------------------------------------------
def test_training_stays_float32_end_to_end():
    x, y = planted(16, size=8)
    model = conv_model(input_shape=(8, 8, 1), extra=[BatchNormalization()])
    loss = RecordingLoss()
    model.compile(Adam(0.01), loss=loss, metrics=["auc"])
    model.fit(x.astype(np.float64), y, epochs=1, batch_size=8, class_weight={0: 1, 1: 2}, verbose=0)
    for logits, labels, weights in loss.calls:
        assert logits.dtype == labels.dtype == weights.dtype == np.float32
    assert all(a.dtype == np.float32 for a in model._arrays())
    assert all(g.dtype == np.float32 for layer in model.layers for g in layer.grads.values())
    assert model.predict(x).dtype == np.float32


# --- failing safely: NaN ----------------------------------------------------------------------
class WeightRecorder(Callback):
    def __init__(self):
        super().__init__()
        self.after_step = []

    def on_batch_end(self, step, logs=None):
        self.after_step.append(self.model.get_weights())


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_a_non_finite_loss_stops_before_the_bad_step_with_epoch_and_step(bad_value):
    x, y = planted(24, size=8)
    x[20, 3, 3, 0] = bad_value  # in the 3rd batch (no shuffling)
    model = conv_model(input_shape=(8, 8, 1), extra=[BatchNormalization()])
    model.compile(Adam(0.01))
    recorder = WeightRecorder()
    with pytest.raises(FloatingPointError) as error:
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, callbacks=[recorder], verbose=0)
    message = str(error.value)
    assert "epoch 1, step 3/3" in message
    assert "lower" in message and "learning rate" in message and "check the data" in message
    # The weights (and BatchNorm's moving statistics) are those after the last good step.
    after_good_step = recorder.after_step[-1]
    assert len(recorder.after_step) == 2
    for now, then in zip(model.get_weights(), after_good_step):
        assert np.all(np.isfinite(now))
        np.testing.assert_array_equal(now, then)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_learning_rate_is_reported_not_silently_trained_on():
    x, y = tiny_data(16)
    model = dense_model()
    model.compile(SGD(1e30))
    with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+/2"):
        model.fit(x * 1e6, y, epochs=20, batch_size=8, verbose=0)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


# --- failing safely: Ctrl-C ----------------------------------------------------------------------
class InterruptAt(Callback):
    """Raises KeyboardInterrupt after step ``step`` of epoch ``epoch``, as a Ctrl-C would."""

    def __init__(self, epoch, step):
        super().__init__()
        self.at = (epoch, step)
        self.epoch = None
        self.weights_when_interrupted = None
        self.train_end_called = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, step, logs=None):
        if (self.epoch, step) == self.at:
            self.weights_when_interrupted = self.model.get_weights()
            raise KeyboardInterrupt

    def on_train_end(self, logs=None):
        self.train_end_called = True


def test_ctrl_c_from_a_callback_returns_the_history_and_a_usable_model(capsys):
    x, y = tiny_data(40)
    model = dense_model()
    model.compile(SGD(0.1), metrics=["accuracy"])
    interrupt = InterruptAt(epoch=1, step=2)
    history = model.fit(x, y, epochs=5, batch_size=8, validation_data=(x, y), callbacks=[interrupt],
                        verbose=0)
    assert history.interrupted is True
    assert history.epoch == [0] and len(history.history["loss"]) == 1  # only complete epochs
    assert interrupt.train_end_called
    for now, then in zip(model.get_weights(), interrupt.weights_when_interrupted):
        np.testing.assert_array_equal(now, then)
    assert "interrupted" in capsys.readouterr().err
    # The model goes on working: predict, evaluate, and more training.
    assert np.all(np.isfinite(model.predict(x)))
    assert np.isfinite(model.evaluate(x, y)["loss"])
    assert model.fit(x, y, epochs=1, verbose=0).interrupted is False


def test_ctrl_c_while_the_dataset_loads_a_batch_stops_cleanly():
    x, y = tiny_data(20)
    model = dense_model()
    model.compile(SGD(0.1))
    recorder = WeightRecorder()
    dataset = BatchDataset(x, y, 5, fail_at=(2, 1))  # 2nd pass, while loading its 2nd batch
    history = model.fit(dataset, epochs=3, callbacks=[recorder], verbose=0)
    assert history.interrupted and history.epoch == [0]
    assert len(recorder.after_step) == 4 + 1  # epoch 1, then one step of epoch 2
    for now, then in zip(model.get_weights(), recorder.after_step[-1]):
        np.testing.assert_array_equal(now, then)


class ClosingIterator:
    """An iterator with close(), like a prefetching dataset's (which stops a thread)."""

    def __init__(self, batches, log):
        self.batches, self.log = iter(batches), log

    def __next__(self):
        return next(self.batches)

    def __iter__(self):
        return self

    def close(self):
        self.log.append("closed")


class ClosingDataset:
    def __init__(self, batches):
        self.batches, self.log = batches, []

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        self.log.append("opened")
        return ClosingIterator(self.batches, self.log)


def test_dataset_iterators_are_closed_after_each_pass_and_on_ctrl_c_or_errors():
    x, y = tiny_data(20)
    dataset = ClosingDataset([(x[i:i + 5], y[i:i + 5]) for i in range(0, 20, 5)])
    model = dense_model()
    model.compile(SGD(0.1))
    model.fit(dataset, epochs=2, validation_data=dataset, verbose=0)
    model.evaluate(dataset)
    model.predict(dataset)
    assert dataset.log == ["opened", "closed"] * 6  # 2 x (train + validation), evaluate, predict
    dataset.log.clear()
    history = model.fit(dataset, epochs=2, callbacks=[InterruptAt(0, 1)], verbose=0)
    assert history.interrupted and dataset.log == ["opened", "closed"]
    dataset.log.clear()
    bad = ClosingDataset([(x[:5], y[:5]), (x[5:10] * np.nan, y[5:10])])
    with pytest.raises(FloatingPointError):
        model.fit(bad, verbose=0)
    assert bad.log == ["opened", "closed"]


def test_empty_training_data_is_an_error():
    model = dense_model()
    model.compile(SGD(0.1))
    with pytest.raises(ValueError, match="no batches"):
        model.fit([], verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        model.fit(np.zeros((0, 4, 4, 1), np.float32), np.zeros(0), verbose=0)


def test_ctrl_c_still_restores_the_best_weights():
    x, y = tiny_data(24)
    model = dense_model()
    model.compile(SGD(0.1))
    stopper = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    history = model.fit(x, y, epochs=5, batch_size=8, callbacks=[stopper, InterruptAt(2, 1)], verbose=0)
    assert history.interrupted and history.epoch == [0, 1]
    assert stopper.best_epoch == 1
    for now, best in zip(model.get_weights(), stopper.best_weights):
        np.testing.assert_array_equal(now, best)


class SignalDuringStep(SGD):
    """SGD that receives a real SIGINT halfway through its parameter updates at step ``at``."""

    def __init__(self, learning_rate, at):
        super().__init__(learning_rate)
        self.at = at
        self.updated_after_signal = 0

    def _update(self, p, g, slots, lr):
        if self.iterations == self.at and self.updated_after_signal == 0:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # give Python the chance to run the signal handler here
                pass
        super()._update(p, g, slots, lr)
        if self.iterations == self.at:
            self.updated_after_signal += 1


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_a_real_sigint_during_the_optimizer_step_never_half_updates():
    x, y = tiny_data(24)
    model = dense_model()
    optimizer = SignalDuringStep(0.1, at=2)
    model.compile(optimizer)
    history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert history.interrupted
    assert optimizer.updated_after_signal == 4  # all of W1, b1, W2, b2: the step finished
    # Exactly two complete steps, as an uninterrupted run of two steps gives.
    reference = dense_model()
    reference.compile(SGD(0.1))
    reference.fit(x[:16], y[:16], epochs=1, batch_size=8, shuffle=False, verbose=0)
    for now, expected in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(now, expected)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


# --- train_step, alone -------------------------------------------------------------------------
def test_train_step_is_forward_loss_backward_update():
    # The four lines of train_step, written out by hand, give the same weights.
    x, y = tiny_data(8)
    model, by_hand = dense_model(), dense_model()
    model.compile(SGD(0.1))
    by_hand.compile(SGD(0.1))
    outputs, labels, loss = train_step(model, x, y)
    assert labels.shape == outputs.shape == (8, 1)
    logits = by_hand.forward(x, training=True)
    expected_loss = by_hand.loss.forward(logits, y.reshape(-1, 1))
    by_hand.backward(by_hand.loss.backward())
    by_hand.optimizer.step(by_hand.trainable_params(), by_hand.gradients())
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    for a, b in zip(model.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_train_step_never_applies_a_non_finite_loss():
    x, y = tiny_data(8)
    model = dense_model()
    model.compile(SGD(0.1))
    before = model.get_weights()
    _, _, loss = train_step(model, x * np.nan, y)
    assert not np.isfinite(loss) and model.optimizer.iterations == 0
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_train_on_batch_names_a_non_finite_loss_and_keeps_the_state():
    x, y = tiny_data(8)
    model = Sequential([Flatten(), BatchNormalization(), Dense(1)], input_shape=(4, 4, 1), seed=0)
    model.compile(SGD(0.1))
    state = [a.copy() for a in model.layers[1].state.values()]
    with pytest.raises(FloatingPointError, match=r"train_on_batch: the loss is nan .* step 1/1"):
        model.train_on_batch(x * np.nan, y)
    for a, b in zip(model.layers[1].state.values(), state):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_fit_sets_the_sigint_handler_once_per_run_not_per_step(monkeypatch):
    x, y = tiny_data(40)
    model = dense_model()
    model.compile(SGD(0.1))
    calls = []
    real = signal.signal
    monkeypatch.setattr(signal, "signal", lambda *a: calls.append(a[0]) or real(*a))
    model.fit(x, y, epochs=3, batch_size=4, verbose=0)  # 30 steps
    assert calls == [signal.SIGINT, signal.SIGINT]       # installed, then restored
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_outside_a_step_ctrl_c_is_raised_at_once_inside_it_after_the_step():
    with InterruptGuard() as guard:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        finished = False
        with pytest.raises(KeyboardInterrupt):
            with guard.step():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
                finished = True  # the step ran to its end before the interrupt
        assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
