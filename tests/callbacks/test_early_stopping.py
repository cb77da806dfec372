"""EarlyStopping (patience, min_delta, restore_best_weights) and BestWeights."""

import numpy as np
import pytest

from minicnn.callbacks import EarlyStopping

from callback_support import Inject, model_and_data


def test_bad_mode_and_patience_are_refused():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model, x, y = model_and_data()
    scores = [0.70, 0.80, 0.78, 0.79, 0.90, 0.95]  # best at epoch 1, then 2 epochs without gain
    inject = Inject("val_auc", scores)
    stopper = EarlyStopping(monitor="val_auc", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, batch_size=8, callbacks=[inject, stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1 and stopper.best == 0.80
    for now, best, last in zip(model.get_weights(), inject.weights[1], inject.weights[3]):
        np.testing.assert_array_equal(now, best)
    assert not all(np.array_equal(a, b) for a, b in zip(inject.weights[1], inject.weights[3]))


def test_early_stopping_min_delta_and_keras_patience_semantics():
    model, x, y = model_and_data()
    losses = [1.0, 0.95, 0.94, 0.93, 0.5]  # improvements smaller than min_delta=0.1 do not count
    stopper = EarlyStopping(monitor="val_metric_loss", patience=3, min_delta=0.1)
    history = model.fit(x, y, epochs=5, callbacks=[Inject("val_metric_loss", losses), stopper], verbose=0)
    assert history.epoch == [0, 1, 2, 3] and stopper.best == 1.0
    # patience=0 stops at the first epoch that does not improve (as in Keras)
    stopper = EarlyStopping(monitor="v", patience=0)
    history = model.fit(x, y, epochs=5, callbacks=[Inject("v", [3, 2, 2, 1, 0]), stopper], verbose=0)
    assert history.epoch == [0, 1, 2]


def test_early_stopping_without_the_monitored_key_warns_and_continues():
    model, x, y = model_and_data()
    with pytest.warns(RuntimeWarning, match="val_loss.*not in the logs"):
        history = model.fit(x, y, epochs=2, callbacks=[EarlyStopping()], verbose=0)
    assert history.epoch == [0, 1]


def test_best_weights_keeps_the_best_epoch_without_stopping():
    from minicnn.callbacks import BestWeights

    model, x, y = model_and_data()
    inject = Inject("val_auc", [0.7, 0.9, 0.6, 0.8, 0.5, 0.4, 0.3])
    keep = BestWeights(monitor="val_auc")
    history = model.fit(x, y, epochs=7, callbacks=[inject, keep], verbose=0)
    assert history.epoch == list(range(7)) and keep.best_epoch == 1 and keep.best == 0.9
    for now, best in zip(model.get_weights(), inject.weights[1]):
        np.testing.assert_array_equal(now, best)
