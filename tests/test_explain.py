"""Grad-CAM: exact on a model where the answer is known in closed form, and it finds a planted pattern."""

import numpy as np
import pytest

from minicnn import Sequential
from minicnn.explain import grad_cam, overlay, pick_outcome_examples, upsample_bilinear
from minicnn.layers.activations import ReLU, Sigmoid
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.pooling import GlobalAveragePooling2D, MaxPool2D
from minicnn.optimizers import Adam


def cam_model(extra=(), seed=0, dtype=np.float64):
    return Sequential([Conv2D(4, 3, padding="same"), ReLU(), GlobalAveragePooling2D(), Dense(1), *extra],
                      input_shape=(9, 11, 2), seed=seed, dtype=dtype)


def test_matches_the_closed_form_for_conv_relu_gap_dense():
    # logit = sum_k v_k mean_ij A_ijk + c, so dlogit/dA_ijk = v_k / (h w) and the Grad-CAM map is
    # ReLU(sum_k v_k A_ijk) / (h w): after per-image normalisation, ReLU(A @ v) / max.
    model = cam_model()
    x = np.random.default_rng(1).normal(size=(5, 9, 11, 2))
    heat = grad_cam(model, x)
    A = np.maximum(model.layers[0].forward(x), 0)
    v = model.layers[3].params["W"][:, 0]
    expected = np.maximum(A @ v, 0)
    expected /= expected.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(heat, expected, atol=1e-12)


def test_shape_range_dtype_and_float32():
    x = np.random.default_rng(2).normal(size=(3, 9, 11, 2)).astype(np.float32)
    heat = grad_cam(cam_model(dtype=np.float32), x)
    assert heat.shape == (3, 9, 11)
    assert heat.min() >= 0 and heat.max() <= 1
    assert np.allclose(heat.max(axis=(1, 2)), 1.0)
    assert grad_cam(cam_model(dtype=np.float32), x[0]).shape == (1, 9, 11)     # one image


def test_final_sigmoid_is_skipped_to_explain_the_logit():
    x = np.random.default_rng(3).normal(size=(2, 9, 11, 2))
    np.testing.assert_allclose(grad_cam(cam_model(extra=[Sigmoid()]), x), grad_cam(cam_model(), x))


def test_upsampled_from_a_pooled_layer_and_layer_choice():
    model = Sequential([Conv2D(3, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(4, 3, padding="same"),
                        ReLU(), Flatten(), Dense(1)], input_shape=(16, 12, 1), seed=0, dtype=np.float64)
    x = np.random.default_rng(4).normal(size=(2, 16, 12, 1))
    default = grad_cam(model, x)
    assert default.shape == (2, 16, 12)
    np.testing.assert_array_equal(default, grad_cam(model, x, layer=4))     # last conv block = its ReLU
    np.testing.assert_array_equal(default, grad_cam(model, x, layer=model.layers[4].name))
    np.testing.assert_array_equal(grad_cam(model, x, layer=-4), grad_cam(model, x, layer=3))
    assert not np.array_equal(grad_cam(model, x, layer=1), default)
    with pytest.raises(ValueError, match="feature maps"):
        grad_cam(model, x, layer=6)                                          # Dense: not 4-D
    with pytest.raises(ValueError, match="no layer named"):
        grad_cam(model, x, layer="nope")
    with pytest.raises(ValueError, match="input"):
        grad_cam(model, x[:, :8])
    dense_only = Sequential([Flatten(), Dense(1)], input_shape=(4, 4, 1), seed=0)
    with pytest.raises(ValueError, match="no Conv2D"):
        grad_cam(dense_only, np.zeros((1, 4, 4, 1)))


def test_all_zero_map_stays_zero_and_training_state_is_untouched():
    model = cam_model()
    x = np.random.default_rng(5).normal(size=(2, 9, 11, 2))
    params = {(i, k): p.copy() for i, l in enumerate(model.layers) for k, p in l.params.items()}
    for l in model.layers:
        for g in l.grads.values():
            g[...] = 7.0                                                     # as if mid-training
    heat = grad_cam(model, x)
    assert heat.max() > 0
    for i, l in enumerate(model.layers):
        for k, p in l.params.items():
            np.testing.assert_array_equal(p, params[(i, k)])
            assert (l.grads[k] == 7.0).all()
    model.layers[3].params["W"][...] = 0.0                                  # logit ignores the features
    zero = grad_cam(model, x)
    assert np.isfinite(zero).all() and (zero == 0).all()


def test_upsample_bilinear():
    a = np.random.default_rng(6).random((2, 3, 4))
    np.testing.assert_allclose(upsample_bilinear(a, (3, 4)), a)              # same size: identity
    np.testing.assert_allclose(upsample_bilinear(np.full((1, 2, 2), 0.3), (7, 5)), 0.3)
    up = upsample_bilinear(np.array([[[0.0, 1.0]]]), (1, 4))                 # half-pixel centres
    np.testing.assert_allclose(up, [[[0.0, 0.25, 0.75, 1.0]]])
    Image = pytest.importorskip("PIL.Image")
    img = a[0].astype(np.float32)
    pil = np.asarray(Image.fromarray(img, mode="F").resize((13, 10), Image.BILINEAR))
    np.testing.assert_allclose(upsample_bilinear(img[None], (10, 13))[0], pil, atol=1e-6)


def test_overlay():
    img = np.random.default_rng(7).integers(0, 256, (6, 5, 1)).astype(np.uint8)
    heat = np.linspace(0, 1, 30).reshape(6, 5)
    out = overlay(img, heat, alpha=0.4)
    assert out.shape == (6, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(overlay(img, heat, alpha=0.0), np.repeat(img, 3, axis=-1))
    assert not np.array_equal(out, overlay(img, heat[::-1], alpha=0.4))
    with pytest.raises(ValueError, match="heatmap"):
        overlay(img, heat[:5])
    with pytest.raises(ValueError, match="alpha"):
        overlay(img, heat, alpha=2)


def test_pick_outcome_examples():
    y = np.array([1, 1, 1, 0, 0, 0, 1])
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.05])
    idx, titles = pick_outcome_examples(y, p, 0.5, per_group=2)
    assert idx == [0, 1, 3, 6, 2, 4, 5]                 # TP by p desc, FP, FN by p asc, TN by p asc
    assert [t.split()[0] for t in titles] == ["TP", "TP", "FP", "FN", "FN", "TN", "TN"]
    assert titles[3] == "FN  p=0.050"
    idx, _ = pick_outcome_examples([1, 1], [0.9, 0.8], 0.5, per_group=5)
    assert idx == [0, 1]                                # empty groups are left out


# --- a trained model lights up the pattern it learned -------------------------------------------
SIZE, SQUARE = 24, 6


def planted(n, seed):
    """Noise images; every image has a bright thin bar (a distractor), positives also a dim square.

    The bar is brighter than the square, so "where is the brightest pixel" never finds the
    square: only a map that follows what the model uses for its decision does.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.1, (n, SIZE, SIZE, 1)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.float32)
    corners = np.zeros((n, 2), dtype=np.int64)
    for i in range(n):
        while True:
            r, c = rng.integers(0, SIZE - SQUARE + 1, 2)
            br, bc = rng.integers(0, SIZE), rng.integers(0, SIZE - 12 + 1)
            if not (r - 2 < br < r + SQUARE + 2 and bc + 12 > c - 2 and bc < c + SQUARE + 2):
                break
        x[i, br, bc:bc + 12, 0] += 1.0
        if y[i]:
            x[i, r:r + SQUARE, c:c + SQUARE, 0] += 0.6
            corners[i] = r, c
    return x, y, corners


def peaks_on_square(maps, corners):
    hits = 0
    for m, (r, c) in zip(maps, corners):
        i, j = np.unravel_index(np.argmax(m), m.shape)
        hits += (r - 1 <= i <= r + SQUARE) and (c - 1 <= j <= c + SQUARE)    # one pixel of slack
    return hits


def test_trained_model_heatmap_peaks_on_the_planted_square():
    x, y, _ = planted(320, seed=0)
    model = Sequential([Conv2D(8, 3, padding="same"), ReLU(), MaxPool2D(2), Conv2D(8, 3, padding="same"),
                        ReLU(), GlobalAveragePooling2D(), Dense(1)], input_shape=(SIZE, SIZE, 1), seed=0)
    model.compile(Adam(0.01), metrics=["auc"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=0)
    assert history.history["auc"][-1] > 0.95                               # it did learn the task
    xt, yt, corners = planted(60, seed=1)
    pos = yt == 1
    heat = grad_cam(model, xt[pos])
    assert heat.shape == (30, SIZE, SIZE) and heat.min() >= 0 and heat.max() <= 1
    assert peaks_on_square(xt[pos][..., 0], corners[pos]) <= 3              # brightness alone fails
    assert peaks_on_square(heat, corners[pos]) >= 24                        # Grad-CAM: most of 30


def test_class_index_explains_that_class_logit_of_a_k_class_model():
    from minicnn.layers import Softmax

    def k_model(extra=()):
        return Sequential([Conv2D(4, 3, padding="same"), ReLU(), GlobalAveragePooling2D(), Dense(3), *extra],
                          input_shape=(9, 11, 2), seed=5, dtype=np.float64)

    model = k_model()
    x = np.random.default_rng(6).normal(size=(4, 9, 11, 2))
    A = np.maximum(model.layers[0].forward(x), 0)
    V = model.layers[3].params["W"]                      # (4 channels, 3 classes)
    # the same closed form as for one logit, with column c of the Dense weights
    for c in range(3):
        expected = np.maximum(A @ V[:, c], 0)
        peak = expected.max(axis=(1, 2), keepdims=True)
        expected = np.divide(expected, peak, out=np.zeros_like(expected), where=peak > 0)
        np.testing.assert_allclose(grad_cam(model, x, class_index=c), expected, atol=1e-12)
    # None: each image's predicted class
    predicted = model.predict_logits(x).argmax(axis=1)
    per_class = np.stack([grad_cam(model, x, class_index=c) for c in range(3)])
    np.testing.assert_allclose(grad_cam(model, x), per_class[predicted, np.arange(4)], atol=1e-12)
    # a final Softmax is skipped: the map explains the logit, not the probability
    with_softmax = k_model(extra=[Softmax()])
    np.testing.assert_allclose(grad_cam(with_softmax, x, class_index=1), per_class[1], atol=1e-12)
    for bad in (3, -1, 1.0, True):
        with pytest.raises(ValueError, match="class_index"):
            grad_cam(model, x, class_index=bad)
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(cam_model(), x[..., :2], class_index=1)  # one output: only 0
    np.testing.assert_allclose(grad_cam(cam_model(), x, class_index=0), grad_cam(cam_model(), x))


def test_mass_inside_box_is_the_share_of_the_map_in_the_box():
    from minicnn.explain import box_pixels, mass_inside_box
    box = (0.25, 0.25, 0.75, 0.75)                       # the central quarter of the area
    assert box_pixels((8, 12), box) == (2, 6, 3, 9)
    inside, outside, even = np.zeros((8, 12)), np.zeros((8, 12)), np.ones((8, 12))
    inside[3, 5] = 0.7
    outside[0, 0] = 1.0
    shares = mass_inside_box(np.stack([inside, outside, even, np.zeros((8, 12))]), box)
    np.testing.assert_allclose(shares[:3], [1.0, 0.0, 0.25])
    assert np.isnan(shares[3])                          # no mass: no share, not 0 or 1
    half = np.zeros((8, 12))
    half[2, 3], half[7, 11] = 1.0, 3.0                  # a quarter of the mass inside
    assert mass_inside_box(half, box)[0] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="box"):
        mass_inside_box(even, (0.5, 0.2, 0.4, 0.8))
    with pytest.raises(ValueError, match="non-negative"):
        mass_inside_box(-even, box)
