"""TerminateOnNaN stops gracefully instead of raising."""

import numpy as np
import pytest

from minicnn.callbacks import Callback

from callback_support import model_and_data


# --- TerminateOnNaN ---------------------------------------------------------------------------
def test_terminate_on_nan_stops_gracefully_instead_of_raising(capsys):
    from minicnn.callbacks import CallbackList, NaNGuard, TerminateOnNaN

    model, x, y = model_and_data(12)
    x = x.copy()
    x[8:] = np.nan  # the third batch of 4 is NaN
    before_ends = []

    class AtEnd(Callback):
        def on_train_end(self, logs=None):
            before_ends.append(dict(logs))

    history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False,
                        callbacks=[TerminateOnNaN(), AtEnd()], verbose=0)
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    assert before_ends and all(np.isfinite(w).all() for w in model.get_weights())
    listed = CallbackList([TerminateOnNaN()], model, {}, verbose=0)
    assert sum(isinstance(c, NaNGuard) for c in listed.callbacks) == 1  # fit's guard not added
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        model.fit(x, y, batch_size=4, shuffle=False, callbacks=[TerminateOnNaN(raise_error=True)],
                  verbose=0)
