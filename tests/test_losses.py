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
