"""The example's two models (examples/chest_xray/models.py): layers, sizes, settings, and that they train."""

import numpy as np
import pytest

from chest_xray import models
from minicnn.layers import BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D
from minicnn.losses import BinaryCrossEntropy
from minicnn.optimizers import Adam


def test_original_cnn_sizes_and_initialisation():
    model = models.original_cnn((224, 224, 3), seed=0)
    assert model.count_params() == 11_169_089
    convs = [layer for layer in model.layers if isinstance(layer, Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.kernel_initializer == "glorot_uniform" for c in convs)
    assert models.original_cnn((224, 224, 1), seed=0).count_params() == 11_168_513  # grayscale


def test_batchnorm_cnn_layers_and_momentum():
    model = models.batchnorm_cnn((64, 64, 1), seed=0)
    norms = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
    assert len(norms) == 4 and all(n.momentum == 0.9 for n in norms)
    assert any(isinstance(layer, GlobalAveragePooling2D) for layer in model.layers)
    assert isinstance(model.layers[-1], Dense) and model.layers[-1].units == 1
    assert model.count_params() < 300_000


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_each_model_learns_a_planted_pattern(name):
    # A bright square marks class 1: a few Adam steps on 16 images must cut the loss.
    rng = np.random.default_rng(0)
    x = rng.random((16, 48, 48, 1), dtype=np.float32)
    y = (np.arange(16) % 2).astype(np.float32).reshape(-1, 1)
    x[y[:, 0] == 1, 12:30, 12:30, :] += 2.0
    model = models.MODELS[name]((48, 48, 1), seed=0)
    model.compile(optimizer=Adam(1e-3), loss=BinaryCrossEntropy(from_logits=True))
    first = model.train_on_batch(x, y)
    for _ in range(25):
        last = model.train_on_batch(x, y)
    assert last < 0.5 * first


def test_build_compiles_with_adam_and_the_loss_on_logits():
    model = models.build("batchnorm", (48, 48, 1), seed=0, learning_rate=3e-4)
    assert model.optimizer.learning_rate == 3e-4
    assert isinstance(model.loss, BinaryCrossEntropy) and model.loss.from_logits
    assert model.input_shape == (48, 48, 1)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_a_three_class_head_changes_only_the_last_layer(name):
    from minicnn.losses import SparseCategoricalCrossEntropy

    binary = models.build(name, (48, 48, 1), seed=0, learning_rate=1e-3)
    three = models.build(name, (48, 48, 1), seed=0, learning_rate=1e-3, num_classes=3)
    assert [type(l) for l in binary.layers] == [type(l) for l in three.layers]
    assert binary.layers[-1].units == 1 and three.layers[-1].units == 3
    # The same weights below the head (same seed); the head has 3 units of the same fan-in.
    for b, t in zip(binary.layers[:-1], three.layers[:-1]):
        assert b.params.keys() == t.params.keys()
        for key in b.params:
            np.testing.assert_array_equal(b.params[key], t.params[key])
    fan_in = binary.layers[-1].params["W"].shape[0]
    assert three.count_params() - binary.count_params() == 2 * (fan_in + 1)
    assert isinstance(three.loss, SparseCategoricalCrossEntropy) and three.loss.from_logits
    assert [m.name for m in three.metrics] == ["accuracy", "auc"]        # auc: macro one-vs-rest
    p = three.predict(np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32))
    assert p.shape == (4, 3) and np.allclose(p.sum(axis=1), 1.0)
