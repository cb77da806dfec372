"""BackupAndRestore: an interrupted run resumed equals the uninterrupted one."""

import numpy as np
import pytest

from minicnn.callbacks import Callback
from minicnn.layers.activations import ReLU
from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.optimizers import SGD

from callback_support import model_and_data


# --- BackupAndRestore: an interrupted run resumed equals the uninterrupted one -----------------
def resumable_model(seed=3, optimizer="adam"):
    from minicnn.layers.dropout import Dropout
    from minicnn.layers.normalization import BatchNormalization
    from minicnn.optimizers import Adam

    model = Sequential([Flatten(), Dense(6), BatchNormalization(), ReLU(), Dropout(0.3), Dense(1)],
                       input_shape=(3, 3, 1), seed=seed)
    model.compile(Adam(0.05, use_ema=True, ema_momentum=0.8) if optimizer == "adam"
                  else SGD(0.1, momentum=0.9), metrics=["accuracy"])
    return model


def resume_data(n=40):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(n, 3, 3, 1)).astype(np.float32)
    return x, (x[:, 1, 1, 0] + 0.3 * x[:, 0, 0, 0] > 0).astype(np.float32)


class Interrupt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"interrupted before epoch {epoch}")


def assert_same_run(model, history, reference, reference_history):
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.epoch == reference_history.epoch
    assert history.history == reference_history.history


@pytest.mark.parametrize("seed, optimizer", [(5, "adam"), (None, "sgd")])
def test_backup_and_restore_resumes_bit_for_bit(tmp_path, seed, optimizer):
    from minicnn.callbacks import BackupAndRestore

    x, y = resume_data()
    fit = dict(epochs=6, batch_size=8, validation_data=(x[:16], y[:16]), seed=seed, verbose=0)
    reference = resumable_model(optimizer=optimizer)
    reference_history = reference.fit(x, y, **fit)

    backup = tmp_path / "backup"
    model = resumable_model(optimizer=optimizer)
    with pytest.raises(RuntimeError, match="before epoch 4"):
        model.fit(x, y, callbacks=[BackupAndRestore(backup), Interrupt(4)], **fit)
    assert (backup / "backup.npz").is_file()
    fresh = resumable_model(optimizer=optimizer)   # a new process would start from scratch
    restore = BackupAndRestore(backup)
    started = []

    class FirstEpoch(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.append(epoch)

    history = fresh.fit(x, y, callbacks=[restore, FirstEpoch()], **fit)
    assert restore.restored_epoch == 4 and started == [4, 5]
    assert_same_run(fresh, history, reference, reference_history)
    assert not backup.exists()  # deleted once training completed


def test_backup_survives_a_killed_process(tmp_path):
    """The first run is killed (SIGKILL, no cleanup at all) after epoch 2's backup."""
    import os
    import subprocess
    import sys
    import textwrap

    from minicnn.callbacks import BackupAndRestore

    backup = tmp_path / "backup"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = [{os.getcwd()!r}, {os.path.dirname(__file__)!r}]
        from test_backup import resumable_model, resume_data
        from minicnn.callbacks import BackupAndRestore, Callback

        class Kill(Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 2:
                    os.kill(os.getpid(), signal.SIGKILL)

        x, y = resume_data()
        resumable_model().fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0,
                              callbacks=[BackupAndRestore({str(backup)!r}), Kill()])
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == -9, run.stderr
    x, y = resume_data()
    reference = resumable_model()
    reference_history = reference.fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0)
    resumed = resumable_model()
    history = resumed.fit(x, y, epochs=5, batch_size=8, seed=1, verbose=0,
                          callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [0, 1, 2, 3, 4]
    assert_same_run(resumed, history, reference, reference_history)


def test_backup_is_kept_after_ctrl_c_and_refused_for_another_model(tmp_path):
    from minicnn.callbacks import BackupAndRestore

    class CtrlC(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    x, y = resume_data()
    backup = tmp_path / "b"
    history = resumable_model().fit(x, y, epochs=4, verbose=0,
                                    callbacks=[BackupAndRestore(backup), CtrlC()])
    assert history.interrupted and (backup / "backup.npz").is_file()
    other, _, _ = model_and_data()
    with pytest.raises(ValueError, match=r"BackupAndRestore: the backup .*backup.npz.* another model"):
        other.fit(*model_and_data()[1:], callbacks=[BackupAndRestore(backup)], verbose=0)
    sgd = resumable_model(optimizer="sgd")
    with pytest.raises(ValueError, match="made with Adam; this model is compiled with SGD"):
        sgd.fit(x, y, callbacks=[BackupAndRestore(backup)], verbose=0)
    plain = resumable_model()
    plain.save(backup / "backup.npz")  # a model file, not a backup
    with pytest.raises(ValueError, match="holds no training state"):
        plain.fit(x, y, callbacks=[BackupAndRestore(backup)], verbose=0)


def test_backup_and_restore_with_a_shuffled_dataset_and_an_augmentation(tmp_path):
    from minicnn.callbacks import BackupAndRestore
    from minicnn.data import RandomFlip, array_dataset

    x, y = resume_data(48)

    def pipeline():  # what a new process builds again: same seeds, fresh objects
        flip = RandomFlip(seed=8)
        data = array_dataset(x * 100 + 128, y, batch_size=8, shuffle=True, seed=4)
        return flip, data.map(lambda images, labels: (flip(images) / 255.0, labels))

    flip, ds = pipeline()
    reference = resumable_model()
    reference_history = reference.fit(ds, epochs=5, verbose=0)

    flip, ds = pipeline()
    with pytest.raises(RuntimeError):
        resumable_model().fit(ds, epochs=5, verbose=0, callbacks=[
            BackupAndRestore(tmp_path / "b", generators={"flip": flip}), Interrupt(3)])
    flip, ds = pipeline()
    resumed = resumable_model()
    history = resumed.fit(ds, epochs=5, verbose=0,
                          callbacks=[BackupAndRestore(tmp_path / "b", generators={"flip": flip})])
    assert ds.epochs_started == 5 and history.epoch == [0, 1, 2, 3, 4]
    assert_same_run(resumed, history, reference, reference_history)
    with pytest.raises(ValueError, match=r"generators\['flip'\] is 3"):
        BackupAndRestore(tmp_path, generators={"flip": 3})
