"""What the metrics tests share: a hand-worked case, hypothesis strategies, scikit-learn's cases."""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Four examples worked by hand: negatives 0.1, 0.4; positives 0.35, 0.8.
Y4 = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


@st.composite
def labels_and_int_scores(draw, max_n=40):
    """Labels with both classes and small integer scores (many ties)."""
    n = draw(st.integers(2, max_n))
    y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    assume(0 < y.sum() < n)
    s = draw(hnp.arrays(np.int64, n, elements=st.integers(-6, 6)))
    return y, s


def binary_cases_for_scikit_learn():
    """The random (y, s) pairs every binary comparison with scikit-learn uses: both classes,
    sizes 2..59, scores either tied (multiples of 1/7) or continuous; always the same ones."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(2, 60))
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        s = rng.integers(0, 8, n) / 7.0 if rng.random() < 0.5 else rng.random(n)
        yield y, s


@st.composite
def multiclass_case(draw, min_n=1):
    """(y_true, y_pred, y_score, K): labels, predictions and scores; scores may tie."""
    k = draw(st.integers(2, 6))
    n = draw(st.integers(min_n, 60))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    if draw(st.booleans()):  # often some classes absent: the degenerate cases
        y = np.minimum(y, draw(st.integers(0, k - 1)))
    pred = np.where(rng.random(n) < 0.5, y, rng.integers(0, k, n))
    scores = rng.standard_normal((n, k)) + 2.0 * np.eye(k)[y]
    if draw(st.booleans()):
        scores = np.round(scores)  # many ties
    return y, pred, scores, k


def softmax_rows(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
