"""BinaryCrossEntropy: gradient, values against a naive formula, stability, weights, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn import losses
from minicnn.gradcheck import loss_gradient_check
from minicnn.losses import BinaryCrossEntropy

FAST = settings(deadline=None, max_examples=40)


def naive_bce(z, y, pos_weight=1.0, w=None):
    """The textbook formula in float64 via log(sigmoid): fine for moderate logits only."""
    z, y = np.ravel(z).astype(np.float64), np.ravel(y).astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-z))
    per_example = -(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))
    w = np.ones_like(z) if w is None else np.ravel(w)
    return np.sum(w * per_example) / z.size


@FAST
@given(batch=st.integers(1, 12), column=st.booleans(), soft=st.booleans(), weighted=st.booleans(),
       pos_weight=st.floats(0.1, 10.0), scale=st.floats(0.1, 10.0), seed=st.integers(0, 2**16))
def test_gradient_matches_central_differences(batch, column, soft, weighted, pos_weight, scale, seed):
    rng = np.random.default_rng(seed)
    shape = (batch, 1) if column else (batch,)
    logits = rng.standard_normal(shape) * scale
    y = rng.random(shape) if soft else rng.integers(0, 2, shape).astype(np.float64)
    kwargs = {"sample_weight": rng.uniform(0.1, 3.0, batch)} if weighted else {}
    err = loss_gradient_check(BinaryCrossEntropy(pos_weight=pos_weight), logits, y, **kwargs)
    assert err < 1e-6


@FAST
@given(batch=st.integers(1, 12), pos_weight=st.floats(0.1, 10.0), seed=st.integers(0, 2**16))
def test_probability_gradient_matches_central_differences(batch, pos_weight, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, (batch, 1))  # away from the clip at eps and 1 - eps
    y = rng.integers(0, 2, (batch, 1))
    err = loss_gradient_check(BinaryCrossEntropy(from_logits=False, pos_weight=pos_weight), p, y,
                              sample_weight=rng.uniform(0.1, 3.0, batch))
    assert err < 1e-6


@FAST
@given(batch=st.integers(1, 20), pos_weight=st.floats(0.1, 10.0), seed=st.integers(0, 2**16))
def test_values_match_the_naive_formula_where_it_is_safe(batch, pos_weight, seed):
    rng = np.random.default_rng(seed)
    # |z| <= 10: beyond it 1 - sigmoid(z) in the naive formula keeps too few digits to compare.
    z = rng.uniform(-10, 10, batch)
    y = rng.integers(0, 2, batch)
    w = rng.uniform(0, 2, batch)
    expected = naive_bce(z, y, pos_weight, w)
    loss = BinaryCrossEntropy(pos_weight=pos_weight)
    assert loss.forward(z, y, sample_weight=w) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    got32 = loss.forward(z.astype(np.float32), y, sample_weight=w.astype(np.float32))
    assert got32 == pytest.approx(naive_bce(z.astype(np.float32), y, pos_weight, w.astype(np.float32)),
                                  rel=1e-5, abs=1e-6)
    # probabilities in, same value out
    p = 1.0 / (1.0 + np.exp(-z))
    prob_loss = BinaryCrossEntropy(from_logits=False, pos_weight=pos_weight)
    assert prob_loss.forward(p, y, sample_weight=w) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_gradient_is_sigmoid_minus_label_over_batch():
    z = np.array([[-2.0], [0.0], [3.0], [0.5]])
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    loss = BinaryCrossEntropy()
    loss.forward(z, y)
    grad = loss.backward()
    assert grad.shape == z.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, (1 / (1 + np.exp(-z)) - y) / 4, rtol=1e-12)
    # pos_weight scales the positive term: d/dz of -pw*log(sigmoid(z)) = -pw*(1 - sigmoid(z))
    pw = BinaryCrossEntropy(pos_weight=3.0)
    pw.forward(np.array([0.0]), np.array([1.0]))
    np.testing.assert_allclose(pw.backward(), [-3.0 * 0.5], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_are_finite_and_raise_no_floating_point_error(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4, 88.8, -88.8, 800.0, -800.0], dtype)
    y = np.array([1, 1, 0, 0, 0, 1, 1, 0], dtype)
    loss = BinaryCrossEntropy(pos_weight=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # underflow, overflow, invalid, divide: all errors
            value = loss.forward(z, y, sample_weight=np.ones(8, dtype))
            grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == dtype
    # Wrong and sure: the loss is |z| (times pos_weight for a positive); right and sure: 0.
    expected = (0 + 2 * 1e4 + 1e4 + 0 + 88.8 + 2 * 88.8 + 0 + 0) / 8
    assert value == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(grad, np.array([0, -2, 1, 0, 1, -2, 0, 0]) / 8, rtol=1e-6, atol=1e-30)


def test_probabilities_of_exactly_zero_and_one_do_not_take_log_of_zero():
    p = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    y = np.array([0, 1, 1, 0])
    loss = BinaryCrossEntropy(from_logits=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            value = loss.forward(p, y)
            grad = loss.backward()
    # Keras clips to [1e-7, 1 - 1e-7] in the input's precision: a confident mistake costs
    # about -log(1e-7) = 16.1 (in float32, 1 - 1e-7 rounds to 1 - 1.19e-7).
    low = np.float32(1e-7)
    high = np.float32(1) - low
    expected = (-np.log(np.float64(low)) - np.log(1 - np.float64(high))) / 4
    assert value == pytest.approx(expected, rel=1e-6)
    assert np.all(np.isfinite(grad)) and grad.dtype == np.float32


def test_sample_weight_is_sum_over_batch_size():
    loss = BinaryCrossEntropy()
    z, y = np.array([0.3, -1.2, 2.0]), np.array([1, 0, 0])
    per_example = [naive_bce(z[i:i + 1], y[i:i + 1]) for i in range(3)]
    w = np.array([2.0, 0.0, 0.5])
    assert loss.forward(z, y, sample_weight=w) == pytest.approx(
        (2 * per_example[0] + 0.5 * per_example[2]) / 3, rel=1e-12)
    grad = loss.backward()
    assert grad[1] == 0.0
    assert loss.forward(z, y, sample_weight=np.ones(3)) == pytest.approx(loss.forward(z, y), rel=1e-15)


def test_float32_in_float32_out():
    loss = BinaryCrossEntropy(pos_weight=1.7)
    z = np.random.default_rng(0).standard_normal((5, 1)).astype(np.float32)
    value = loss.forward(z, np.array([1, 0, 1, 1, 0], np.uint8), sample_weight=np.linspace(0.5, 1, 5))
    assert type(value) is float
    grad = loss.backward()
    assert grad.dtype == np.float32 and grad.shape == (5, 1)
    for cached in loss._cache[:3]:  # logits, labels and weights kept in float32
        assert cached.dtype == np.float32


def test_backward_is_fresh_after_each_forward():
    loss = BinaryCrossEntropy()
    loss.forward(np.array([1.0, 2.0]), np.array([0, 0]))
    first = loss.backward()
    loss.forward(np.array([1.0, 2.0]), np.array([0, 0]))
    np.testing.assert_array_equal(loss.backward(), first)  # not doubled


def test_matches_torch_bce_with_logits():
    torch = pytest.importorskip("torch", reason="torch is an optional reference")
    rng = np.random.default_rng(3)
    z, y, w = rng.standard_normal(16) * 5, rng.integers(0, 2, 16).astype(np.float64), rng.random(16)
    tz = torch.tensor(z, requires_grad=True)
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        tz, torch.tensor(y), pos_weight=torch.tensor(2.5, dtype=torch.float64), reduction="none")
    (per * torch.tensor(w)).mean().backward()
    loss = BinaryCrossEntropy(pos_weight=2.5)
    assert loss.forward(z, y, sample_weight=w) == pytest.approx(float((per * torch.tensor(w)).mean().detach()), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("logits, y, w, match", [
    (np.zeros(4), np.zeros(3), None, "y"),
    (np.zeros((4, 1)), np.zeros((4, 2)), None, "y"),
    (np.zeros((4, 2)), np.zeros(8), None, "logits"),
    (np.zeros((2, 2, 1)), np.zeros(2), None, "logits"),
    (np.zeros(0), np.zeros(0), None, "logits"),
    (np.zeros(4), np.zeros(4), np.ones(5), "sample_weight"),
])
def test_bad_shapes_raise_value_error_naming_the_argument(logits, y, w, match):
    with pytest.raises(ValueError, match=match):
        BinaryCrossEntropy().forward(logits, y, sample_weight=w)


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "2", None])
def test_rejects_bad_pos_weight(bad):
    with pytest.raises(ValueError, match="pos_weight"):
        BinaryCrossEntropy(pos_weight=bad)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="forward"):
        BinaryCrossEntropy().backward()


def test_get_by_name_or_object_and_name_attribute():
    loss = losses.get("binary_crossentropy")
    assert isinstance(loss, BinaryCrossEntropy) and loss.from_logits and loss.pos_weight == 1.0
    assert loss.name == "loss"
    assert isinstance(losses.get("BCE"), BinaryCrossEntropy)
    mine = BinaryCrossEntropy(pos_weight=3.0)
    assert losses.get(mine) is mine
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("mse")
    assert mine.get_config() == {"from_logits": True, "pos_weight": 3.0}
    assert loss(np.zeros(2), np.ones(2)) == pytest.approx(np.log(2))  # callable like forward


# --- softmax cross-entropy (K classes) ----------------------------------------------------
from minicnn.losses import CategoricalCrossEntropy, SparseCategoricalCrossEntropy  # noqa: E402


def naive_softmax_ce(z, t, w=None):
    """log(softmax) computed the textbook way in float64: fine for moderate logits only."""
    z = np.asarray(z, np.float64)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    per_example = -np.sum(t * np.log(p), axis=1)
    w = np.ones(len(z)) if w is None else np.asarray(w)
    return np.sum(w * per_example) / len(z)


def smoothed(one_hot, s):
    return one_hot * (1 - s) + s / one_hot.shape[1]


def draw_case(rng, batch, k, scale):
    """Logits of spread ``scale`` (at most 3 in the gradient checks: a saturated softmax has
    gradients too small for central differences to resolve to 1e-6; extremes are tested apart)."""
    logits = rng.standard_normal((batch, k)) * scale
    labels = rng.integers(0, k, batch)
    return logits, labels, np.eye(k)[labels]


@FAST
@given(batch=st.integers(1, 12), k=st.integers(2, 10), smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
       weighted=st.booleans(), class_weighted=st.booleans(), soft=st.booleans(),
       scale=st.floats(0.1, 3.0), seed=st.integers(0, 2**16))
def test_categorical_gradient_matches_central_differences(batch, k, smoothing, weighted, class_weighted,
                                                         soft, scale, seed):
    rng = np.random.default_rng(seed)
    logits, _, y = draw_case(rng, batch, k, scale)
    if soft:  # non-negative rows that need not sum to 1: the general form sum(t) softmax(z) - t
        y = rng.uniform(0, 2, (batch, k))
    kwargs = {"sample_weight": rng.uniform(0.1, 3.0, batch)} if weighted else {}
    cw = rng.uniform(0.1, 3.0, k).tolist() if class_weighted else None
    loss = CategoricalCrossEntropy(label_smoothing=smoothing, class_weight=cw)
    assert loss_gradient_check(loss, logits, y, **kwargs) < 1e-6


@FAST
@given(batch=st.integers(1, 12), k=st.integers(2, 10), smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
       weighted=st.booleans(), column=st.booleans(), scale=st.floats(0.1, 3.0), seed=st.integers(0, 2**16))
def test_sparse_gradient_matches_central_differences(batch, k, smoothing, weighted, column, scale, seed):
    rng = np.random.default_rng(seed)
    logits, labels, _ = draw_case(rng, batch, k, scale)
    labels = labels[:, None] if column else labels
    kwargs = {"sample_weight": rng.uniform(0.1, 3.0, batch)} if weighted else {}
    loss = SparseCategoricalCrossEntropy(label_smoothing=smoothing, class_weight=rng.uniform(0.1, 3, k))
    assert loss_gradient_check(loss, logits, labels, **kwargs) < 1e-6


@FAST
@given(batch=st.integers(1, 12), k=st.integers(2, 10), smoothing=st.sampled_from([0.0, 0.2]),
       seed=st.integers(0, 2**16))
def test_probability_inputs_gradient_matches_central_differences(batch, k, smoothing, seed):
    rng = np.random.default_rng(seed)
    _, labels, y = draw_case(rng, batch, k, 1.0)
    # Positive scores away from the clip, deliberately NOT normalised: the loss renormalises.
    p = rng.uniform(0.05, 1.0, (batch, k))
    for loss, target in [(CategoricalCrossEntropy(from_logits=False, label_smoothing=smoothing), y),
                         (SparseCategoricalCrossEntropy(from_logits=False, label_smoothing=smoothing), labels)]:
        assert loss_gradient_check(loss, p, target, sample_weight=rng.uniform(0.1, 3, batch)) < 1e-6


@FAST
@given(batch=st.integers(1, 20), k=st.integers(2, 10), smoothing=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_softmax_losses_match_the_naive_formula_and_each_other(batch, k, smoothing, seed):
    rng = np.random.default_rng(seed)
    z, labels, y = draw_case(rng, batch, k, 5.0)
    w = rng.uniform(0, 2, batch)
    expected = naive_softmax_ce(z, smoothed(y, smoothing), w)
    dense = CategoricalCrossEntropy(label_smoothing=smoothing)
    sparse = SparseCategoricalCrossEntropy(label_smoothing=smoothing)
    assert dense.forward(z, y, sample_weight=w) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert sparse.forward(z, labels, sample_weight=w) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(sparse.backward(), dense.backward(), rtol=1e-12, atol=1e-15)
    # probabilities in, same value out (Keras renormalises, then clips only where p < 1e-7)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    if p.min() > 1e-7 and p.max() < 1 - 1e-7:
        prob = CategoricalCrossEntropy(from_logits=False, label_smoothing=smoothing)
        assert prob.forward(p, y, sample_weight=w) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_softmax_gradient_is_softmax_minus_one_hot_over_batch():
    z = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0], [-1.0, 3.0, 0.5], [0.3, 0.2, -4.0]])
    y = np.eye(3)[[0, 2, 1, 1]]
    loss = CategoricalCrossEntropy()
    loss.forward(z, y)
    grad = loss.backward()
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert grad.shape == z.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, (p - y) / 4, rtol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-16)  # each row of p - y sums to 0
    smooth = CategoricalCrossEntropy(label_smoothing=0.3)
    smooth.forward(z, y)
    np.testing.assert_allclose(smooth.backward(), (p - (0.7 * y + 0.1)) / 4, rtol=1e-12)


def test_keras_documented_values_for_probabilities():
    # keras.losses.CategoricalCrossentropy / SparseCategoricalCrossentropy docstring examples.
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    y_true = np.array([[0, 1, 0], [0, 0, 1]])
    for loss, labels in [(CategoricalCrossEntropy(from_logits=False), y_true),
                         (SparseCategoricalCrossEntropy(from_logits=False), np.array([1, 2]))]:
        assert loss(y_pred, labels) == pytest.approx(1.1769392, abs=1e-6)
        assert loss(y_pred, labels, sample_weight=np.array([0.3, 0.7])) == pytest.approx(0.8135988, abs=1e-6)
        assert np.all(np.isfinite(loss.backward()))
    # Keras's clip: a zero probability on the true class costs -log(1e-7), not inf.
    exact_zero = CategoricalCrossEntropy(from_logits=False)
    assert exact_zero(np.array([[1.0, 0.0]]), np.array([[0, 1]])) == pytest.approx(-np.log(1e-7), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [CategoricalCrossEntropy, SparseCategoricalCrossEntropy])
def test_softmax_losses_on_extreme_logits_are_finite_and_warning_free(dtype, cls):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4],
                  [800.0, -800.0, 88.8]], dtype)
    labels = np.array([1, 1, 0, 2, 0])
    y = labels if cls is SparseCategoricalCrossEntropy else np.eye(3, dtype=dtype)[labels]
    loss = cls(label_smoothing=0.1, class_weight=[1.0, 2.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            value = loss.forward(z, y, sample_weight=np.ones(5, dtype))
            grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == dtype
    # Without smoothing and weights: wrong and sure costs the logit gap, right and sure 0,
    # a tie between two classes log 2, three equal logits log 3.
    plain = cls()
    expected = (2e4 + 0 + np.log(2) + np.log(3) + 0) / 5
    with np.errstate(all="raise"):
        assert plain.forward(z, y) == pytest.approx(expected, rel=1e-6)
        np.testing.assert_allclose(plain.backward()[0], np.array([1, -1, 0]) / 5, atol=1e-7)


def test_softmax_losses_float32_in_float32_out():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4)).astype(np.float32)
    for loss, y in [(CategoricalCrossEntropy(label_smoothing=0.1), np.eye(4)[rng.integers(0, 4, 6)]),
                    (SparseCategoricalCrossEntropy(), rng.integers(0, 4, 6).astype(np.uint8))]:
        value = loss.forward(z, y, sample_weight=np.linspace(0.5, 1, 6))
        assert type(value) is float
        grad = loss.backward()
        assert grad.dtype == np.float32 and grad.shape == (6, 4)


def test_class_weight_scales_each_example_by_its_class():
    rng = np.random.default_rng(1)
    z, labels, y = draw_case(rng, 9, 3, 2.0)
    cw = [0.5, 2.0, 1.5]
    weighted = SparseCategoricalCrossEntropy(class_weight=cw)
    as_samples = SparseCategoricalCrossEntropy()
    per_example_weight = np.array(cw)[labels]
    assert weighted(z, labels) == pytest.approx(as_samples(z, labels, sample_weight=per_example_weight), rel=1e-12)
    np.testing.assert_allclose(weighted.backward(), as_samples.backward(), rtol=1e-12)
    # a dict {class: weight} is the same; one-hot labels take the class from the argmax
    assert CategoricalCrossEntropy(class_weight={0: 0.5, 1: 2.0, 2: 1.5})(z, y) == pytest.approx(
        weighted(z, labels), rel=1e-12)
    # class and sample weights multiply
    sw = rng.uniform(0, 2, 9)
    assert weighted(z, labels, sample_weight=sw) == pytest.approx(
        as_samples(z, labels, sample_weight=sw * per_example_weight), rel=1e-12)


def test_softmax_matches_torch_cross_entropy():
    torch = pytest.importorskip("torch", reason="torch is an optional reference")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    for k, s in [(2, 0.0), (3, 0.1), (7, 0.25), (10, 1.0)]:
        z, labels, y = draw_case(rng, 16, k, 4.0)
        tz = torch.tensor(z, requires_grad=True)
        expected = F.cross_entropy(tz, torch.tensor(labels), label_smoothing=s)
        expected.backward()
        for loss, target in [(SparseCategoricalCrossEntropy(label_smoothing=s), labels),
                             (CategoricalCrossEntropy(label_smoothing=s), y)]:
            assert loss(z, target) == pytest.approx(float(expected.detach()), rel=1e-12)
            np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), rtol=1e-9, atol=1e-15)
        # soft labels: torch takes class probabilities as the target too
        soft = rng.dirichlet(np.ones(k), 16)
        assert CategoricalCrossEntropy(label_smoothing=s)(z, soft) == pytest.approx(
            float(F.cross_entropy(torch.tensor(z), torch.tensor(soft), label_smoothing=s)), rel=1e-12)
        # class weights: torch's sum reduction divided by B is Keras's sum over batch size
        cw = rng.uniform(0.2, 3.0, k)
        tz = torch.tensor(z, requires_grad=True)
        weighted = F.cross_entropy(tz, torch.tensor(labels), weight=torch.tensor(cw), reduction="sum") / 16
        weighted.backward()
        loss = SparseCategoricalCrossEntropy(class_weight=cw)
        assert loss(z, labels) == pytest.approx(float(weighted.detach()), rel=1e-12)
        np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("cls, logits, y, w, match", [
    (CategoricalCrossEntropy, np.zeros((4, 3)), np.zeros((4, 2)), None, "one-hot"),
    (CategoricalCrossEntropy, np.zeros((4, 3)), np.zeros(4), None, "SparseCategoricalCrossEntropy"),
    (CategoricalCrossEntropy, np.zeros((4, 3)), np.full((4, 3), -1.0), None, ">= 0"),
    (CategoricalCrossEntropy, np.zeros((4, 1)), np.zeros((4, 1)), None, "BinaryCrossEntropy"),
    (CategoricalCrossEntropy, np.zeros(4), np.zeros(4), None, "logits"),
    (CategoricalCrossEntropy, np.zeros((0, 3)), np.zeros((0, 3)), None, "logits"),
    (CategoricalCrossEntropy, np.zeros((4, 3)), np.eye(3)[[0, 1, 2, 0]], np.ones(5), "sample_weight"),
    (SparseCategoricalCrossEntropy, np.zeros((4, 3)), np.array([0, 1, 3, 0]), None, r"0\.\.2"),
    (SparseCategoricalCrossEntropy, np.zeros((4, 3)), np.array([0, 1, 1.5, 0]), None, "whole numbers"),
    (SparseCategoricalCrossEntropy, np.zeros((4, 3)), np.array([0, -1, 1, 0]), None, "whole numbers"),
    (SparseCategoricalCrossEntropy, np.zeros((4, 3)), np.eye(3)[[0, 1, 2, 0]], None, "CategoricalCrossEntropy"),
    (SparseCategoricalCrossEntropy, np.zeros((4, 3)), np.array(["a"] * 4), None, "integers"),
])
def test_softmax_losses_refuse_bad_input_naming_the_argument(cls, logits, y, w, match):
    with pytest.raises(ValueError, match=match):
        cls().forward(logits, y, sample_weight=w)


def test_softmax_losses_refuse_bad_settings_and_bad_probabilities():
    for bad in (-0.1, 1.5, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="label_smoothing"):
            CategoricalCrossEntropy(label_smoothing=bad)
    for bad in ([1.0, -1.0], [], [[1.0, 2.0]], {1: 1.0, 2: 1.0}, [1.0, float("inf")]):
        with pytest.raises(ValueError, match="class_weight"):
            SparseCategoricalCrossEntropy(class_weight=bad)
    with pytest.raises(ValueError, match="class_weight has 2 weights"):
        SparseCategoricalCrossEntropy(class_weight=[1, 2])(np.zeros((2, 3)), [0, 1])
    for p in (np.array([[0.5, -0.1, 0.6]]), np.array([[0.0, 0.0, 0.0]]), np.array([[np.nan, 0.5, 0.5]])):
        with pytest.raises(ValueError, match="probabilities"):
            CategoricalCrossEntropy(from_logits=False)(p, np.array([[1, 0, 0]]))
    with pytest.raises(RuntimeError, match="forward"):
        SparseCategoricalCrossEntropy().backward()


def test_softmax_losses_by_name():
    cce = losses.get("categorical_crossentropy")
    assert isinstance(cce, CategoricalCrossEntropy) and cce.from_logits and cce.label_smoothing == 0.0
    scce = losses.get("Sparse_Categorical_Crossentropy")
    assert isinstance(scce, SparseCategoricalCrossEntropy) and scce.from_logits and scce.name == "loss"
    assert scce.get_config() == {"from_logits": True, "label_smoothing": 0.0, "class_weight": None}
    assert "label_smoothing=0.2" in repr(CategoricalCrossEntropy(label_smoothing=0.2))
    # the softmax that turns logits into probabilities (read by the ONNX export's head)
    assert cce.activation == "softmax" and scce.activation == "softmax"
    assert CategoricalCrossEntropy(from_logits=False).activation is None
