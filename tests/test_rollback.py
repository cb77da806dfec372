"""minicnn.rollback: an update that overflows the weights is undone, and fit says where (issue 19, item 4).

The attack: a learning rate so large that SGD's update p - lr * g overflows float32 while
the loss of the batch (computed before the update) is finite. Before the fix the update
was kept; the error came one step later, blamed the loss, and said the weights had not
changed while they were inf.
"""

import numpy as np
import pytest

from minicnn import Sequential
from minicnn.callbacks import Callback, LearningRateScheduler
from minicnn.layers import BatchNormalization, Dense, Flatten, ReLU
from minicnn.optimizers import SGD, Adam
from minicnn.rollback import StepSnapshot, first_non_finite


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4, 4, 1)).astype(np.float32)
    return x, (x[:, 0, 0, 0] > 0).astype(np.float32)


def bn_model(seed=0):
    return Sequential([Flatten(), Dense(8), BatchNormalization(), ReLU(), Dense(1)],
                      input_shape=(4, 4, 1), seed=seed)


class AfterEachEpoch(Callback):
    """Copies of the weights (with BatchNorm's statistics) and the optimizer's memory."""

    def __init__(self):
        super().__init__()
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.saved.append((self.model.get_weights(), optimizer.iterations,
                           [s["velocity"].copy() for s in optimizer.slots]))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_update_that_overflows_the_weights_is_undone_and_named():
    x, y = data()
    model = bn_model()
    model.compile(SGD(0.01, momentum=0.9))
    recorder = AfterEachEpoch()
    # Epoch 1 trains normally; epoch 2 uses a learning rate that overflows float32 at its
    # first update (a class weight of 20 makes the gradient large enough).
    schedule = LearningRateScheduler(lambda epoch, lr: 0.01 if epoch == 0 else 3e38)
    with pytest.raises(FloatingPointError) as error:
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, class_weight={0: 1.0, 1: 20.0},
                  callbacks=[schedule, recorder], verbose=0)
    message = str(error.value)
    assert "fit: the update at epoch 2, step 1/3 made " in message
    assert "non-finite" in message and "was finite" in message and "undone" in message
    assert "lower learning rate" in message
    assert len(recorder.saved) == 1
    weights, iterations, velocities = recorder.saved[0]
    # Everything is as it was before that step: the weights, BatchNorm's moving
    # statistics (updated by the bad step's forward pass), SGD's velocity and step count.
    for now, before in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(now, before)
    assert model.optimizer.iterations == iterations == 3
    for slot, before in zip(model.optimizer.slots, velocities):
        np.testing.assert_array_equal(slot["velocity"], before)
    assert first_non_finite(model) is None
    # The model is still usable: a sane learning rate trains on from there.
    model.optimizer.learning_rate = 0.01
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_train_on_batch_undoes_an_overflowing_first_update_including_new_optimizer_slots():
    x, y = data(8)
    model = bn_model()
    model.compile(SGD(3e38, momentum=0.9))
    before = model.get_weights()
    with pytest.raises(FloatingPointError, match=r"train_on_batch: the update at epoch 1, "
                                                 r"step 1/1 made .* non-finite"):
        model.train_on_batch(x, y, sample_weight=np.full(8, 20.0))
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)
    # The slots the failed step created are gone, as if it had never run.
    assert model.optimizer.slots == [] and model.optimizer.iterations == 0


def test_snapshot_restores_adam_moments_and_the_step_count_in_place():
    x, y = data(8)
    model = bn_model()
    model.compile(Adam(0.01))
    model.train_on_batch(x, y)
    params = model.trainable_params()
    slots = model.optimizer.slots
    moments = [(s["m"], s["v"]) for s in slots]
    snapshot = StepSnapshot(model)
    snapshot.save()
    expected = model.get_weights(), [(m.copy(), v.copy()) for m, v in moments]
    model.train_on_batch(x, 1 - y)  # changes weights, moments, BatchNorm statistics, t
    assert model.optimizer.iterations == 2
    snapshot.restore()
    assert model.optimizer.iterations == 1
    for now, then in zip(model.get_weights(), expected[0]):
        np.testing.assert_array_equal(now, then)
    for (m, v), (m0, v0), slot in zip(moments, expected[1], model.optimizer.slots):
        assert slot["m"] is m and slot["v"] is v  # the same arrays, written back in place
        np.testing.assert_array_equal(m, m0)
        np.testing.assert_array_equal(v, v0)
    assert all(a is b for a, b in zip(model.trainable_params(), params))
    # The next step after a restore is the step that would have been taken.
    twin = bn_model()
    twin.compile(Adam(0.01))
    twin.train_on_batch(x, y)
    model.train_on_batch(x, 1 - y)
    twin.train_on_batch(x, 1 - y)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_finite_check_sees_one_bad_value_and_no_false_alarm_from_an_overflowing_sum():
    model = bn_model()
    model.compile(SGD(0.1, momentum=0.9))
    model.train_on_batch(*data(8))
    assert first_non_finite(model) is None
    big = model.layers[1].params["W"]
    big[...] = 3e38  # every value finite, but their float32 sum overflows to inf
    with np.errstate(over="ignore"):
        assert not np.isfinite(big.sum())
    assert first_non_finite(model) is None
    big[0, 0] = np.nan
    assert first_non_finite(model) == "dense.W"
    big[0, 0] = 0.0
    model.optimizer.slots[2]["velocity"][1] = -np.inf  # the optimizer's memory counts too
    assert first_non_finite(model) == "SGD.slots[2]['velocity']"


def test_restore_needs_a_save():
    with pytest.raises(RuntimeError, match="save"):
        StepSnapshot(bn_model()).restore()
