"""minicnn.batches.Batches: arrays and datasets become one stream of cast, weighted batches."""

import numpy as np
import pytest

from minicnn.batches import Batches


def test_arrays_are_cut_into_batches_cast_to_the_dtype_and_shuffled_together():
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    y = np.arange(10) % 2
    batches = Batches(x, y, np.arange(10.0), batch_size=4, shuffle=True,
                      rng=np.random.default_rng(0), dtype=np.float64)
    assert len(batches) == 3 and batches.batch_size == 4
    seen = []
    for images, labels, weights in batches:
        assert images.dtype == labels.dtype == weights.dtype == np.float64
        # One permutation for all three: each image keeps its label and its weight.
        np.testing.assert_array_equal(images.reshape(-1) % 2, labels)
        np.testing.assert_array_equal(images.reshape(-1), weights)
        seen += images.reshape(-1).tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert [len(b[0]) for b in batches] == [4, 4, 2]


def test_class_weight_is_folded_into_the_weights():
    x = np.zeros((4, 2), np.float32)
    y = np.array([0, 1, 1, 0])
    (_, _, weights), = Batches(x, y, batch_size=4, class_weight={0: 1.0, 1: 3.0})
    np.testing.assert_array_equal(weights, [1, 3, 3, 1])
    (_, _, weights), = Batches(x, y, [2, 2, 1, 1], batch_size=4, class_weight={0: 1.0, 1: 3.0})
    np.testing.assert_array_equal(weights, [2, 6, 3, 1])
    with pytest.raises(ValueError, match=r"no weight for label\(s\) \[1\.0\]"):
        list(Batches(x, y, batch_size=4, class_weight={0: 1.0}))
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        Batches(x, y, class_weight={0: -1.0, 1: 1.0})


def test_bad_arrays_are_named():
    x = np.zeros((4, 3, 3, 1))
    with pytest.raises(ValueError, match="y has shape"):
        Batches(x, np.zeros(3), what="fit")
    with pytest.raises(ValueError, match="the labels\\) is required"):
        Batches(x, what="fit")
    with pytest.raises(ValueError, match="ONE example"):
        Batches(np.zeros((3, 3, 1)), np.zeros(3), example_shape=(3, 3, 1))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Batches(x, np.zeros(4), batch_size=0)


class Closing:
    def __init__(self, batches, log):
        self.batches, self.log = iter(batches), log

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.batches)

    def close(self):
        self.log.append("closed")


class Dataset:
    def __init__(self, batches):
        self.batches, self.log = batches, []

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return Closing(self.batches, self.log)


def test_a_dataset_keeps_its_batches_and_is_closed_even_when_a_pass_stops_early():
    x, y = np.ones((3, 2), np.uint8), np.array([0, 1, 1])
    dataset = Dataset([(x, y), (x, y, np.array([1, 2, 3])), x])
    batches = Batches(dataset, dtype=np.float32, need_labels=False)
    assert len(batches) == 3 and batches.batch_size is None
    got = list(batches)
    assert got[0][0].dtype == np.float32 and got[1][2].tolist() == [1, 2, 3]
    assert got[2][1] is None and dataset.log == ["closed"]
    epoch = iter(batches)
    next(epoch)
    epoch.close()  # as fit does when a step fails or Ctrl-C comes
    assert dataset.log == ["closed", "closed"]
    with pytest.raises(ValueError, match="batch 2 of the dataset has no labels"):
        list(Batches(dataset, need_labels=True))
    with pytest.raises(ValueError, match="put sample weights in the batches"):
        Batches(dataset, sample_weight=np.ones(3))
