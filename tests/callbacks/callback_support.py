"""What the callback tests share: a tiny model and data, and two recording callbacks."""

import numpy as np

from minicnn.callbacks import Callback
from minicnn.layers.activations import ReLU
from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.optimizers import SGD



def model_and_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, 3, 1)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.float32)
    model = Sequential([Flatten(), Dense(4), ReLU(), Dense(1)], input_shape=(3, 3, 1), seed=seed)
    model.compile(SGD(0.1))
    return model, x, y


class Inject(Callback):
    """Puts a scripted value into the epoch logs (before later callbacks read them)
    and snapshots the weights at the end of each epoch."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.model is not None))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, step, logs=None):
        self.calls.append(("batch_end", step, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))
