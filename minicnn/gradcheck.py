"""Numerical gradient checking: does a layer's ``backward`` agree with its ``forward``?

The idea fits in one line. For a scalar function L(theta), the central difference

    dL/dtheta_i  ~=  (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)

has error O(eps^2). We make a scalar out of any layer by summing its output against a
fixed random array ``g`` of the output's shape: L = sum(forward(x) * g). Then
dL/d(output) = g, so ``backward(g)`` must return dL/dx and fill dL/dparams, and we can
compare each one with its central difference. Everything runs in float64, where
eps = 1e-6 leaves a relative error near 1e-9 for a correct backward and near 1 for a
wrong one.

Use it on your own layer in one call::

    from minicnn.gradcheck import gradient_check
    errors = gradient_check(MyLayer(), x)      # {"x": 3e-10, "W": 2e-10, ...}
    assert max(errors.values()) < 1e-6

Keep inputs away from kinks (ReLU at 0, ties in max-pool): a central difference that
straddles a kink measures neither side's slope.
"""

import numpy as np

__all__ = ["gradient_check", "loss_gradient_check", "numerical_gradient", "relative_error"]


def relative_error(analytic, numeric):
    """||a - n|| / max(||a|| + ||n||, tiny): scale-free, 0 when equal, about 1 when unrelated."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    denominator = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-30)
    return float(np.linalg.norm(analytic - numeric) / denominator)


def numerical_gradient(f, array, eps=1e-6, indices=None):
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``array`` is perturbed in place, one element at a time, and restored.
    ``indices`` (flat positions) limits the check to a sample of elements; the rest
    of the returned gradient stays 0.
    """
    grad = np.zeros_like(array, dtype=np.float64)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, array), "array must be contiguous to perturb in place"
    for i in range(flat.size) if indices is None else indices:
        original = flat[i]
        flat[i] = original + eps
        f_plus = f()
        flat[i] = original - eps
        f_minus = f()
        flat[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _sample(size, max_checks, rng):
    if max_checks is None or size <= max_checks:
        return None
    return rng.choice(size, size=max_checks, replace=False)


def _replay_randomness(layer):
    """A function that resets ``layer.rng`` so every forward draws the same numbers."""
    rng = getattr(layer, "rng", None)
    if not isinstance(rng, np.random.Generator):
        return lambda: None
    saved = rng.bit_generator.state
    return lambda: setattr(rng.bit_generator, "state", saved)


def gradient_check(layer, x, training=False, eps=1e-6, max_checks=None, seed=0):
    """Compare ``layer.backward`` with central differences; return relative errors.

    Parameters
    ----------
    layer : Layer
        Built or not; its parameters are converted to float64 for the check.
    x : array, shape (batch, ...)
        The input. Converted to a float64 copy.
    training : bool
        Passed to ``forward`` (Dropout and BatchNormalization differ by mode).
    eps : float
        Step of the central difference.
    max_checks : int or None
        Check at most this many randomly chosen elements of each array (None: all).
    seed : int
        Seeds the random upstream gradient and the sampled elements.

    Returns
    -------
    dict
        ``{"x": err, <param name>: err, ...}``, each a relative error in [0, 1].
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    if not layer.built:
        layer.build(x.shape[1:], rng=np.random.default_rng(seed), dtype=np.float64)
    for name in layer.params:
        layer.params[name] = np.ascontiguousarray(layer.params[name], dtype=np.float64)
        layer.grads[name] = np.zeros_like(layer.params[name])
    for name in layer.state:
        layer.state[name] = np.array(layer.state[name], dtype=np.float64)
    replay = _replay_randomness(layer)
    saved_state = {k: v.copy() for k, v in layer.state.items()}

    def restore_state():
        # BatchNormalization updates its moving statistics on every training forward;
        # restoring them keeps each evaluation of L identical.
        for k, v in saved_state.items():
            layer.state[k][...] = v

    replay()
    out = layer.forward(x, training=training)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g.copy())
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}

    def loss():
        replay()
        restore_state()
        return float(np.sum(layer.forward(x, training=training) * g))

    errors = {}
    for name, array in [("x", x)] + list(layer.params.items()):
        idx = _sample(array.size, max_checks, rng)
        numeric = numerical_gradient(loss, array, eps, idx)
        a = analytic[name]
        if idx is not None:
            a, numeric = a.reshape(-1)[idx], numeric.reshape(-1)[idx]
        errors[name] = relative_error(a, numeric)
    restore_state()
    return errors


def loss_gradient_check(loss, logits, y, eps=1e-6, **forward_kwargs):
    """Check ``loss.backward()`` against central differences of ``loss.forward``.

    ``loss.forward(logits, y, **forward_kwargs)`` must return a scalar and
    ``loss.backward()`` dL/dlogits. Returns the relative error.
    """
    logits = np.array(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    loss.forward(logits, y, **forward_kwargs)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: float(loss.forward(logits, y, **forward_kwargs)), logits, eps)
    return relative_error(analytic, numeric)
