"""lanes.run: every piece once, errors passed on, and OpenBLAS's thread count put back."""

import random
import threading
import time

import pytest

from minicnn.kernels import lanes


@pytest.fixture
def two_lanes(monkeypatch):
    if lanes.blas_threads() is None:
        pytest.skip("this OpenBLAS has no openblas_set_num_threads_local: run() uses one lane")
    monkeypatch.setattr(lanes, "lanes", lambda count: min(2, count))


def test_every_piece_runs_once_and_errors_are_passed_on(two_lanes):
    done = []
    lanes.run(lambda lane, piece: done.append((lane, piece)), 50)
    assert sorted(piece for _, piece in done) == list(range(50))
    assert {lane for lane, _ in done} <= {0, 1}

    def fails(lane, piece):
        if piece == 7:
            raise ValueError("piece 7")

    with pytest.raises(ValueError, match="piece 7"):
        lanes.run(fails, 20)


def test_a_lane_runs_openblas_on_one_thread(two_lanes):
    seen = set()
    lanes.run(lambda lane, piece: seen.add(lanes.blas_threads()), 8, fixed=True)
    assert seen == {1}


def test_the_thread_count_is_put_back_whichever_lane_finishes_last(two_lanes):
    """The products after a job run on the count from before it, every time.

    In a pthreads OpenBLAS the count is one for the process. A lane that put back what it
    saw when it started would leave 1 behind whenever the lane that started second (and
    saw the 1 the first had set) finished last; the products after the job would then
    run on 1 thread or on all of them by timing, and their float sums differ in the last
    bits. Drawn delays make either lane start second and either finish last.
    """
    before = lanes.blas_threads()
    delays = random.Random(0)
    after = []
    for _ in range(30):
        waits = [delays.choice([0.0, 0.001, 0.004]) for _ in range(4)]
        lanes.run(lambda lane, piece: time.sleep(waits[piece]), 4, fixed=True)
        after.append(lanes.blas_threads())
    assert after == [before] * 30
    with pytest.raises(ValueError):
        lanes.run(lambda lane, piece: (_ for _ in ()).throw(ValueError(piece)), 4)
    assert lanes.blas_threads() == before


def test_jobs_from_two_threads_take_turns(two_lanes):
    """Each job runs whole, alone: two would fight over the thread count."""
    running, overlaps = [0], []
    guard = threading.Lock()

    def work(lane, piece):
        with guard:
            running[0] += 1
        time.sleep(0.002)
        with guard:
            running[0] -= 1
            overlaps.append(running[0])

    before = lanes.blas_threads()
    threads = [threading.Thread(target=lanes.run, args=(work, 6)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlaps) == 12 and max(overlaps) <= 1  # at most the two lanes of one job
    assert lanes.blas_threads() == before


def test_one_blas_thread_sets_one_and_puts_the_count_back(two_lanes):
    before = lanes.blas_threads()
    with lanes.one_blas_thread():
        assert lanes.blas_threads() == 1
        with lanes.one_blas_thread():          # nested on the same thread
            assert lanes.blas_threads() == 1
        assert lanes.blas_threads() == 1
    assert lanes.blas_threads() == before


def test_a_lane_may_call_the_gemm_kernels(two_lanes):
    """gemm.matmul inside a job's work (lane 0 holds the lock, lane 1 is a pool thread)."""
    import numpy as np
    from minicnn.kernels import gemm

    a, b = np.arange(12.0).reshape(3, 4), np.arange(8.0).reshape(4, 2)
    results = {}
    lanes.run(lambda lane, piece: results.setdefault(piece, gemm.matmul.fast(a, b)), 6)
    assert sorted(results) == list(range(6))
    for product in results.values():
        np.testing.assert_array_equal(product, a @ b)


def test_a_training_step_leaves_openblas_as_it_found_it():
    import numpy as np
    from minicnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from minicnn.model import Sequential

    before = lanes.blas_threads()
    model = Sequential([Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(1)],
                       input_shape=(16, 16, 1), seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).standard_normal((8, 16, 16, 1)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    model.predict(x, verbose=0)
    assert lanes.blas_threads() == before

