"""LearningRateScheduler sets the rate each epoch and refuses bad ones."""

import pytest

from minicnn.callbacks import Callback, LearningRateScheduler

from callback_support import model_and_data


def test_learning_rate_scheduler_sets_the_rate_used_each_epoch():
    model, x, y = model_and_data()
    seen = []

    class SeeRate(Callback):
        def on_batch_end(self, step, logs=None):
            seen.append(self.model.optimizer.learning_rate)

    schedule = LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5 ** epoch)
    history = model.fit(x, y, epochs=3, batch_size=12, callbacks=[schedule, SeeRate()], verbose=0)
    assert seen == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    assert history.history["learning_rate"] == [0.2, 0.1, 0.05]
    # The schedule receives the current rate: a multiplicative decay works.
    model.optimizer.learning_rate = 1.0
    model.fit(x, y, epochs=3, callbacks=[LearningRateScheduler(lambda e, lr: lr * 0.1)], verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(1e-3)


def test_learning_rate_scheduler_rejects_bad_rates():
    model, x, y = model_and_data()
    with pytest.raises(ValueError, match="schedule"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="finite"):
        model.fit(x, y, callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))], verbose=0)
    with pytest.raises(ValueError, match="not a number"):
        model.fit(x, y, callbacks=[LearningRateScheduler(lambda e, lr: "fast")], verbose=0)
