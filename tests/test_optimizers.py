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


# --- weight averaging (Keras's use_ema) ---------------------------------------------------
def test_ema_against_a_hand_computed_average():
    # plain SGD, lr 0.1, p0 = 1, gradients 1, 2, 3, 4: p = 0.9, 0.7, 0.4, 0.0 (unchanged by EMA)
    # average (momentum 0.5): 0.9 (a copy at step 1), 0.8, 0.6, 0.3
    opt = SGD(0.1, use_ema=True, ema_momentum=0.5)
    p, averages = np.array([1.0]), []
    for g in [1.0, 2.0, 3.0, 4.0]:
        opt.step([p], [np.array([g])])
        averages.append(opt.slots[0]["average"][0])
    np.testing.assert_allclose(p, [0.0], atol=1e-15)
    np.testing.assert_allclose(averages, [0.9, 0.8, 0.6, 0.3], rtol=1e-14)
    opt.finalize_variable_values([p])
    np.testing.assert_allclose(p, [0.3], rtol=1e-14)


def test_ema_overwrites_the_weights_every_frequency_steps():
    # as above with overwriting every 2 steps: step 2 sets p = 0.8; step 3: p = 0.5,
    # average = 0.65; step 4: p = 0.1, average = 0.375, and p is overwritten with it
    opt = SGD(0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    p, trajectory = np.array([1.0]), []
    for g in [1.0, 2.0, 3.0, 4.0]:
        opt.step([p], [np.array([g])])
        trajectory.append((p[0], opt.slots[0]["average"][0]))
    np.testing.assert_allclose(trajectory, [(0.9, 0.9), (0.8, 0.8), (0.5, 0.65), (0.375, 0.375)],
                               rtol=1e-14)


def test_adam_ema_is_the_average_of_its_own_trajectory():
    rng = np.random.default_rng(0)
    p0, gradients = rng.normal(size=5), rng.normal(size=(6, 5))
    trajectory = run(Adam(0.05), p0, gradients)           # EMA does not change the steps ...
    opt = Adam(0.05, use_ema=True, ema_momentum=0.9)
    np.testing.assert_array_equal(run(opt, p0, gradients), trajectory)
    average = trajectory[0].copy()                         # ... and averages them, by hand
    for w in trajectory[1:]:
        average = 0.9 * average + 0.1 * w
    np.testing.assert_allclose(opt.slots[0]["average"], average, rtol=1e-13)
    assert opt.get_state()["slots"][0].keys() == {"m", "v", "average"}


def test_fit_ends_with_the_average_and_leaves_batchnorm_statistics_alone():
    from minicnn.layers.activations import ReLU
    from minicnn.layers.dense import Dense, Flatten
    from minicnn.layers.normalization import BatchNormalization
    from minicnn.model import Sequential

    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 2, 2, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2, 3)) > 0).astype(np.float32)

    def fitted(optimizer):
        model = Sequential([Flatten(), Dense(4), BatchNormalization(), ReLU(), Dense(1)],
                           input_shape=(2, 2, 1), seed=0)
        model.compile(optimizer)
        weights = []

        from minicnn.callbacks import Callback

        class Raw(Callback):
            def on_epoch_end(self, epoch, logs=None):
                weights.append([p.copy() for p in self.model.trainable_params()])

        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, callbacks=[Raw()], verbose=0)
        return model, weights[-1]

    plain, raw = fitted(Adam(0.05))
    averaged, raw_ema = fitted(Adam(0.05, use_ema=True, ema_momentum=0.8))
    for a, b in zip(raw, raw_ema):           # the same steps during training
        np.testing.assert_array_equal(a, b)
    for p, slots in zip(averaged.trainable_params(), averaged.optimizer.slots):
        np.testing.assert_array_equal(p, slots["average"])  # then the average replaces them
    assert not all(np.array_equal(a, b) for a, b in zip(averaged.trainable_params(), raw_ema))
    for layer_plain, layer_ema in zip(plain.layers, averaged.layers):  # moving stats: not averaged
        for key in layer_plain.state:
            np.testing.assert_array_equal(layer_plain.state[key], layer_ema.state[key])


@pytest.mark.parametrize("kwargs, match", [
    ({"ema_momentum": 1.5}, "ema_momentum"), ({"ema_momentum": -0.1}, "ema_momentum"),
    ({"ema_overwrite_frequency": 0}, "ema_overwrite_frequency"),
    ({"ema_overwrite_frequency": 2.5}, "ema_overwrite_frequency"),
    ({"ema_overwrite_frequency": True}, "ema_overwrite_frequency"),
])
def test_ema_arguments_are_checked(kwargs, match):
    for cls in (SGD, Adam):
        with pytest.raises(ValueError, match=match):
            cls(use_ema=True, **kwargs)


def test_get_and_set_state_round_trip_and_check_names():
    rng = np.random.default_rng(0)
    p0, gradients = rng.normal(size=(3, 2)), rng.normal(size=(4, 3, 2))
    a = SGD(0.1, momentum=0.9)
    run(a, p0, gradients[:2])
    b = SGD(0.1, momentum=0.9)
    b.set_state(a.get_state())
    assert b.iterations == 2
    np.testing.assert_array_equal(run(a, p0, gradients[2:]), run(b, p0, gradients[2:]))
    with pytest.raises(ValueError, match=r"SGD.set_state: slot 0 has unknown array\(s\) \['m'\]"):
        SGD().set_state({"iterations": 1, "slots": [{"m": np.zeros(2)}]})
    with pytest.raises(ValueError, match="iterations must be an integer"):
        Adam().set_state({"iterations": -2, "slots": []})
