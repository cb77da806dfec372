"""minicnn.display.to_display: any image as float RGB in [0, 1], each range read as meant."""

import numpy as np
import pytest

from minicnn.display import to_display


def test_to_display_reads_ranges():
    u8 = np.array([[0, 255]], dtype=np.uint8)
    np.testing.assert_allclose(to_display(u8)[..., 0], [[0, 1]])
    np.testing.assert_allclose(to_display(np.array([[0.0, 0.5]]))[..., 1], [[0, 0.5]])     # [0, 1] float
    np.testing.assert_allclose(to_display(np.array([[0.0, 127.5]]))[..., 2], [[0, 0.5]])   # [0, 255] float
    np.testing.assert_allclose(to_display(np.array([[-1.0, 1.0]]))[..., 0], [[0, 1]])      # standardised
    assert to_display(np.zeros((4, 5, 1), np.float32)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="image"):
        to_display(np.zeros((4, 5, 2)))
