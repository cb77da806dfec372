"""SGD and Adam: hand-computed sequences, bias correction, weight decay, against PyTorch.

The fused Adam kernel against its NumPy reference: ``tests/kernels/test_adam.py``.
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minicnn import optimizers
from minicnn.kernels import backend
from minicnn.optimizers import SGD, Adam

FAST = settings(deadline=None, max_examples=25)


def run(optimizer, p0, gradients):
    """Apply ``gradients`` one step each to a copy of ``p0``; return the trajectory."""
    p = np.array(p0, dtype=np.float64)
    path = []
    for g in gradients:
        optimizer.step([p], [np.array(g, dtype=np.float64)])
        path.append(p.copy())
    return np.array(path)


# --- SGD ------------------------------------------------------------------------------
def test_sgd_plain_steps():
    path = run(SGD(learning_rate=0.1), [1.0, -1.0], [[1.0, 2.0], [0.5, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(path, [[0.9, -1.2], [0.85, -1.1], [0.85, -1.1]], rtol=1e-15)


def test_sgd_momentum_by_hand():
    # v1 = -0.1, p = -0.1;  v2 = 0.9*-0.1 - 0.1 = -0.19, p = -0.29;  v3 = -0.271, p = -0.561
    path = run(SGD(learning_rate=0.1, momentum=0.9), [0.0], [[1.0]] * 3)
    np.testing.assert_allclose(path[:, 0], [-0.1, -0.29, -0.561], rtol=1e-14)


def test_sgd_nesterov_by_hand():
    # step 1: v = -0.1, p += 0.9*v - 0.1 = -0.19;  step 2: v = -0.19, p += -0.171 - 0.1 -> -0.461
    path = run(SGD(learning_rate=0.1, momentum=0.9, nesterov=True), [0.0], [[1.0]] * 2)
    np.testing.assert_allclose(path[:, 0], [-0.19, -0.461], rtol=1e-14)


# --- Adam -----------------------------------------------------------------------------
def adam_by_hand(p, gradients, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    """Scalar Adam written out with Python floats, one line per formula."""
    m = v = 0.0
    out = []
    for t, g in enumerate(gradients, start=1):
        p = p - lr * wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_adam_first_steps_by_hand(kernels, monkeypatch):
    monkeypatch.setattr(backend, "KERNELS", kernels)
    opt = Adam(learning_rate=0.01)
    gradients = [1.0, -2.0, 0.5, 3.0]
    path = run(opt, [0.3], [[g] for g in gradients])
    np.testing.assert_allclose(path[:, 0], adam_by_hand(0.3, gradients, lr=0.01), rtol=1e-12)
    # Step 2 written out as numbers: m = -0.11, v = 0.004999,
    # m_hat = -0.11/0.19, v_hat = 0.004999/0.001999 (not /0.1 and /0.001: the classic bug)
    step2 = 0.01 * (-0.11 / 0.19) / (math.sqrt(0.004999 / 0.001999) + 1e-7)
    assert path[1, 0] - path[0, 0] == pytest.approx(-step2, rel=1e-9)
    assert opt.iterations == 4


def test_adam_first_step_moves_each_parameter_by_lr_times_sign():
    # Bias correction makes the first step independent of the gradient's scale.
    g = np.array([1e-3, -0.5, 2.0, -300.0, 1e4])
    p = np.zeros(5)
    Adam(learning_rate=0.01).step([p], [g])
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-4)


def test_adam_weight_decay_is_decoupled():
    # With a zero gradient m = v = 0, so only the decay moves p: p <- p (1 - lr * wd).
    p = np.array([1.0, -2.0])
    Adam(learning_rate=0.01, weight_decay=0.1).step([p], [np.zeros(2)])
    np.testing.assert_allclose(p, [0.999, -1.998], rtol=1e-15)
    gradients = [0.2, -0.4, 1.0]
    path = run(Adam(learning_rate=0.05, weight_decay=0.3), [2.0], [[g] for g in gradients])
    np.testing.assert_allclose(path[:, 0], adam_by_hand(2.0, gradients, lr=0.05, wd=0.3), rtol=1e-12)


def test_learning_rate_can_change_between_steps():
    opt = Adam(learning_rate=0.1)
    p = np.array([1.0])
    opt.step([p], [np.array([1.0])])
    opt.learning_rate = 0.0  # e.g. a schedule
    before = p.copy()
    opt.step([p], [np.array([1.0])])
    np.testing.assert_array_equal(p, before)
    assert opt.iterations == 2
    opt.learning_rate = -1.0
    with pytest.raises(ValueError, match="learning_rate"):
        opt.step([p], [np.array([1.0])])


def test_state_is_per_parameter_position():
    opt = Adam(learning_rate=0.1)
    a, b = np.zeros(3), np.zeros((2, 2))
    opt.step([a, b], [np.ones(3), -np.ones((2, 2))])
    np.testing.assert_allclose(a, -0.1, rtol=1e-6)
    np.testing.assert_allclose(b, 0.1, rtol=1e-6)
    with pytest.raises(ValueError, match="changed"):
        opt.step([b, a], [np.ones((2, 2)), np.ones(3)])
    with pytest.raises(ValueError, match="changed"):
        opt.step([a], [np.ones(3)])
    opt.reset()
    assert opt.iterations == 0
    opt.step([a], [np.ones(3)])  # a fresh start is fine


def test_updates_happen_in_place_and_keep_float32():
    for opt in (Adam(), SGD(momentum=0.9, nesterov=True), SGD()):
        p = np.ones((4, 3), np.float32)
        same = p
        opt.step([p], [np.full((4, 3), 0.5, np.float64)])  # float64 grads are cast, not promoted
        assert p is same and p.dtype == np.float32 and np.all(p < 1)
        assert all(a.dtype == np.float32 for s in opt.slots for a in s.values() if isinstance(a, np.ndarray))


def test_adam_correct_with_numba_disabled():
    code = (
        "import numpy as np; from minicnn.optimizers import Adam\n"
        "p = np.zeros(3, np.float32); Adam(learning_rate=0.5).step([p], [np.array([1., -2., 0.], np.float32)])\n"
        "assert np.allclose(p, [-0.5, 0.5, 0.0]), p; print('ok')\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --- against PyTorch ------------------------------------------------------------------
def torch_trajectory(torch, make, p0, gradients):
    tp = torch.tensor(p0, requires_grad=True)
    opt = make([tp])
    path = []
    for g in gradients:
        opt.zero_grad()
        tp.grad = torch.tensor(g)
        opt.step()
        path.append(tp.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("case", ["adam", "adamw", "sgd", "momentum", "nesterov"])
def test_matches_torch(case):
    torch = pytest.importorskip("torch", reason="torch is an optional reference")
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(6)
    gradients = [rng.standard_normal(6) for _ in range(6)]
    ours, theirs = {
        "adam": (Adam(learning_rate=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-7)),
        "adamw": (Adam(learning_rate=0.01, weight_decay=0.1),
                  lambda ps: torch.optim.AdamW(ps, lr=0.01, eps=1e-7, weight_decay=0.1)),
        "sgd": (SGD(learning_rate=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        "momentum": (SGD(learning_rate=0.1, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
        "nesterov": (SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    }[case]
    np.testing.assert_allclose(run(ours, p0, gradients), torch_trajectory(torch, theirs, p0, gradients),
                               rtol=1e-10, atol=1e-12)


# --- construction and bad input -------------------------------------------------------
@pytest.mark.parametrize("cls, kwargs, match", [
    (Adam, {"learning_rate": -1e-3}, "learning_rate"),
    (Adam, {"learning_rate": float("nan")}, "learning_rate"),
    (Adam, {"learning_rate": "0.001"}, "learning_rate"),
    (Adam, {"beta_1": 1.0}, "beta_1"),
    (Adam, {"beta_2": 1.5}, "beta_2"),
    (Adam, {"epsilon": -1e-7}, "epsilon"),
    (Adam, {"weight_decay": -0.1}, "weight_decay"),
    (SGD, {"momentum": 1.5}, "momentum"),
    (SGD, {"momentum": -0.5}, "momentum"),
    (SGD, {"learning_rate": None}, "learning_rate"),
])
def test_rejects_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_step_rejects_misaligned_lists_and_shapes():
    opt = SGD()
    with pytest.raises(ValueError, match="2 params but 1 grads"):
        opt.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"grads\[0\]"):
        opt.step([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="float numpy array"):
        opt.step([[0.0, 1.0]], [np.zeros(2)])


def test_get_and_config():
    assert isinstance(optimizers.get("adam"), Adam) and isinstance(optimizers.get("SGD"), SGD)
    mine = Adam(learning_rate=0.5)
    assert optimizers.get(mine) is mine
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get("rmsprop")
    assert Adam().get_config() == {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999,
                                   "epsilon": 1e-7, "weight_decay": 0.0, "use_ema": False,
                                   "ema_momentum": 0.99, "ema_overwrite_frequency": None}
    assert SGD(momentum=0.5).get_config() == {"learning_rate": 0.01, "momentum": 0.5, "nesterov": False,
                                              "use_ema": False, "ema_momentum": 0.99,
                                              "ema_overwrite_frequency": None}
    assert Adam(**Adam(learning_rate=0.2).get_config()).learning_rate == 0.2
