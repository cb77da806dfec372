"""ModelCheckpoint: the best epoch, path fields, Keras's defaults, batch frequency."""

import numpy as np
import pytest

from minicnn.callbacks import ModelCheckpoint
from minicnn.model import Sequential

from callback_support import Inject, model_and_data


def test_model_checkpoint_keeps_the_best_epoch(tmp_path):
    model, x, y = model_and_data()
    inject = Inject("val_loss", [0.9, 0.5, 0.7, 0.6])
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, save_best_only=True, metadata={"threshold": 0.4})
    model.fit(x, y, epochs=4, callbacks=[inject, checkpoint], verbose=0)
    assert checkpoint.best_epoch == 1 and checkpoint.last_saved == str(path)
    best = Sequential.load(path)
    assert best.metadata == {"threshold": 0.4}
    for saved, at_best in zip(best.get_weights(), inject.weights[1]):
        np.testing.assert_array_equal(saved, at_best)


def test_model_checkpoint_formats_the_path_and_can_save_every_epoch(tmp_path):
    model, x, y = model_and_data()
    inject = Inject("val_auc", [0.6, 0.8, 0.7])
    pattern = str(tmp_path / "m-{epoch:02d}-{val_auc:.2f}.npz")
    every = ModelCheckpoint(pattern)  # Keras's default: every epoch
    best_auc = ModelCheckpoint(str(tmp_path / "best-{epoch}.npz"), monitor="val_auc",
                               save_best_only=True)
    model.fit(x, y, epochs=3, callbacks=[inject, every, best_auc], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("m-*")) == ["m-01-0.60.npz", "m-02-0.80.npz",
                                                           "m-03-0.70.npz"]
    assert sorted(p.name for p in tmp_path.glob("best-*")) == ["best-1.npz", "best-2.npz"]  # auc: max
    assert best_auc.best == 0.8


def test_model_checkpoint_names_a_bad_filepath_field(tmp_path):
    model, x, y = model_and_data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m-{val_acc}.npz"), save_best_only=False)
    with pytest.raises(ValueError, match=r"m-\{val_acc\}.npz.*'epoch' or keys of the logs: \['loss'\]"):
        model.fit(x, y, callbacks=[checkpoint], verbose=0)


# --- ModelCheckpoint with Keras's defaults ------------------------------------------------------
def test_model_checkpoint_defaults_save_every_epoch_without_validation(tmp_path):
    model, x, y = model_and_data()
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz")
    assert (checkpoint.monitor, checkpoint.save_best_only, checkpoint.save_weights_only,
            checkpoint.save_freq) == ("val_loss", False, False, "epoch")
    model.fit(x, y, epochs=3, callbacks=[checkpoint], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-1.npz", "ckpt-2.npz", "ckpt-3.npz"]
    assert Sequential.load(tmp_path / "ckpt-3.npz").optimizer.iterations == 3  # with the optimizer


def test_model_checkpoint_save_weights_only_leaves_out_the_optimizer(tmp_path):
    model, x, y = model_and_data()
    model.fit(x, y, callbacks=[ModelCheckpoint(tmp_path / "w.npz", save_weights_only=True)],
              verbose=0)
    loaded = Sequential.load(tmp_path / "w.npz")
    assert loaded.optimizer is None
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_batch_frequency_threshold_and_verbose(tmp_path, capsys):
    model, x, y = model_and_data(24)
    every = ModelCheckpoint(tmp_path / "b-{epoch}-{batch}.npz", save_freq=4)
    model.fit(x, y, epochs=2, batch_size=4, callbacks=[every], verbose=0)  # 6 batches per epoch
    assert sorted(p.name for p in tmp_path.glob("b-*")) == ["b-1-4.npz", "b-2-2.npz", "b-2-6.npz"]
    inject = Inject("val_loss", [0.9, 0.5, 0.7])
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, initial_value_threshold=0.6,
                           verbose=1)
    model.fit(x, y, epochs=3, callbacks=[inject, best], verbose=0)
    out = capsys.readouterr().out
    assert best.best_epoch == 1
    assert "Epoch 1: val_loss did not improve from 0.60000" in out
    assert "Epoch 2: val_loss improved from 0.60000 to 0.50000, saving model to" in out
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x.npz", save_freq=0)
