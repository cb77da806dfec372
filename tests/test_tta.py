"""Test-time augmentation (minicnn/tta.py): fixed views and the averaged prediction."""

import numpy as np
import pytest

from minicnn import Sequential, data
from minicnn.layers import Dense, Flatten
from minicnn.tta import FixedZoom, predict_averaged


def small_model(shape=(8, 8, 1)):
    model = Sequential([Flatten(), Dense(1)], input_shape=shape, seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def batch(n=5, h=8, w=8, seed=0):
    return (np.random.default_rng(seed).random((n, h, w, 1)) * 255).astype(np.float32)


def test_fixed_zoom_is_random_zoom_with_a_fixed_draw():
    x = batch()
    view = FixedZoom(0.9, 1.1, fill_mode="constant")
    same = data.RandomZoom((-0.1, -0.1), (0.1, 0.1), fill_mode="constant", seed=3)(x)
    np.testing.assert_allclose(view(x), same, atol=1e-5)
    np.testing.assert_allclose(FixedZoom(1.0)(x), x, atol=1e-4)   # zoom 1 is the identity
    assert np.array_equal(view(x), view(x))                        # deterministic


def test_average_of_no_views_is_the_plain_prediction():
    model, x = small_model(), batch()
    np.testing.assert_array_equal(predict_averaged(model, x, []), model.predict(x))


def test_average_is_the_mean_over_the_image_and_its_views_for_arrays_and_datasets():
    model, x = small_model(), batch(n=6)
    views = [FixedZoom(0.9), FixedZoom(1.0, 1.2)]
    prepare = data.PerImageStandardization()
    by_hand = (model.predict(prepare(x)) + model.predict(prepare(views[0](x)))
               + model.predict(prepare(views[1](x)))) / 3
    np.testing.assert_allclose(predict_averaged(model, x, views, prepare), by_hand, rtol=1e-5)
    ds = data.array_dataset(x, np.zeros(6), batch_size=4, shuffle=False)
    np.testing.assert_allclose(predict_averaged(model, ds, views, prepare), by_hand, rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{"height_zoom": 0}, {"height_zoom": "big"},
                                    {"height_zoom": 1.0, "fill_mode": "mirror"}])
def test_fixed_zoom_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="FixedZoom"):
        FixedZoom(**kwargs)
