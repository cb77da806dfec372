"""The monitored quantity's mode: auto follows the name, as Keras's."""

import pytest

from minicnn.callbacks.monitor import resolve_mode


@pytest.mark.parametrize("monitor, mode", [
    ("val_loss", "min"), ("loss", "min"), ("val_auc", "max"), ("accuracy", "max"),
    ("val_precision", "max"), ("val_recall", "max"), ("val_brier", "min"),
])
def test_auto_mode_follows_the_monitored_name(monitor, mode):
    assert resolve_mode("auto", monitor) == mode
    assert resolve_mode("min", monitor) == "min"
