"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

Training is one loop you can read in a few lines (see ``Sequential._train_step``)::

    logits = forward(x)                      # layer by layer, training=True
    loss   = loss.forward(logits, y, w)      # one float, the weighted batch mean
    grad   = loss.backward()                 # dL/dlogits, shape (B, 1)
    backward(grad)                           # layer by layer in reverse: fills each layer.grads
    optimizer.step(params, grads)            # updates every parameter in place

Everything else in this file is bookkeeping around that loop: batching and shuffling,
class weights, metrics and the progress bar, callbacks, safety (a NaN loss stops before
it can poison the weights; Ctrl-C never leaves a half-updated model), and saving.

Inputs
------
``x`` is either an array of images ``(N, H, W, C)`` with labels ``y`` of shape ``(N,)``
or ``(N, 1)``, or any iterable of batches that has ``len()`` (a dataset): each batch is
``(images, labels)`` or ``(images, labels, sample_weight)``; it is iterated once per
epoch and shuffles itself. Images are cast to the model's dtype batch by batch (no
scaling: divide uint8 images by 255 yourself, or let the dataset do it).
"""

import contextlib
import math
import signal
import sys
import threading

import numpy as np

from .callbacks import Callback
from .layers.activations import stable_sigmoid
from .layers.base import Layer
from .progress import ProgressBar
from .saving import load_model, save_model

__all__ = ["Sequential", "History"]


class History:
    """What ``fit`` returns: the per-epoch record of a training run.

    Attributes
    ----------
    history : dict
        ``"loss"``, each metric name and their ``"val_"`` twins -> list of one float per
        completed epoch (plus anything callbacks add, e.g. ``"learning_rate"``).
    epoch : list of int
        The completed epochs, counting from 0.
    params : dict
        ``epochs``, ``steps`` (batches per epoch), ``batch_size`` (None for a dataset),
        ``verbose``.
    interrupted : bool
        True when Ctrl-C ended training early. Only completed epochs are recorded.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.params = {}
        self.interrupted = False
        self.model = None

    def _record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return (f"History(epochs={len(self.epoch)}, keys={list(self.history)}, "
                f"interrupted={self.interrupted})")


class _DeferKeyboardInterrupt:
    """Hold Ctrl-C back until the block ends, then raise it.

    Python raises KeyboardInterrupt between any two bytecodes, so an interrupt inside
    ``optimizer.step`` could leave half of the parameters updated. Inside this block a
    SIGINT only sets a flag; on exit the original handler runs (normally raising
    KeyboardInterrupt), after the update is complete. Signal handlers can only be set
    from the main thread; elsewhere the block does nothing special.
    """

    def __enter__(self):
        self.received = None
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):  # leave SIG_IGN / SIG_DFL alone
                self.previous = previous
                signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame):
        self.received = (signum, frame)

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            if self.received is not None:
                self.previous(*self.received)
        return False


class Sequential:
    """A plain stack of layers, each feeding the next.

    Parameters
    ----------
    layers : list of Layer
        In order, input first. Every layer is built at once for ``input_shape``, in
        order, so its weights are (re)initialised from this model's generator: layers
        are not shared between models.
    input_shape : tuple of int
        Shape of ONE example, without the batch axis, e.g. ``(224, 224, 3)`` (NHWC).
    seed : int, optional
        Seeds the model's ``numpy.random.Generator`` (``self.rng``), which draws the
        initial weights, feeds layers that need randomness (Dropout without its own
        seed) and shuffles in ``fit`` unless ``fit(seed=...)`` is given. One seed makes
        a whole run repeatable.
    dtype : numpy dtype
        float32 (training) or float64 (gradient checks). Inputs are cast to it.
    name : str, optional

    Raises
    ------
    ValueError
        When a layer cannot take the output of the layer before it; the message names
        the layer and the shape it received.

    Examples
    --------
    >>> model = Sequential([Conv2D(8, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(1)],
    ...                    input_shape=(32, 32, 1), seed=0)            # doctest: +SKIP
    >>> model.compile(optimizer="adam", loss="binary_crossentropy",
    ...               metrics=["accuracy", "auc"])                     # doctest: +SKIP
    >>> history = model.fit(x, y, epochs=3, validation_data=(xv, yv))  # doctest: +SKIP
    >>> probabilities = model.predict(x_test)                          # (N, 1)  # doctest: +SKIP
    """

    def __init__(self, layers, input_shape, seed=None, dtype=np.float32, name=None):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.name = name or "sequential"
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.metadata = {}
        self.stop_training = False
        self.history = None
        self._build()

    # --- building ---------------------------------------------------------------------
    def _build(self):
        seen = {}
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] is {layer!r}, not a minicnn Layer")
            # Unique names, as Keras does (conv2d, conv2d_1, ...): summary and errors
            # must say which layer is meant.
            if layer.name in seen:
                seen[layer.name] += 1
                layer.name = f"{layer.name}_{seen[layer.name]}"
            seen.setdefault(layer.name, 0)

        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            where = f"layer {i} '{layer.name}' ({type(layer).__name__})"
            try:
                layer.build(shape, rng=self.rng, dtype=self.dtype)
            except (ValueError, TypeError, IndexError) as error:
                raise ValueError(f"{where} cannot take input of shape {(None,) + shape}: "
                                 f"{error}") from error
            out = tuple(layer.output_shape)
            if any(d <= 0 for d in out):
                raise ValueError(
                    f"{where}: input of shape {(None,) + shape} gives an empty output "
                    f"{(None,) + out}; use a larger input, 'same' padding or fewer "
                    "pooling layers")
            layer.needs_input_grad = i > 0  # nothing below the first layer needs dL/dx
            shape = out
        self.output_shape = shape
        # A model whose last layer is a Sigmoid already outputs probabilities;
        # otherwise it outputs logits and predict() applies the sigmoid.
        self.outputs_probabilities = type(self.layers[-1]).__name__ == "Sigmoid"

    def count_params(self):
        """Number of trainable parameters (the state arrays are not counted)."""
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print):
        """Print (with ``print_fn``, None for silence) and return a table of the layers.

        Each row: name (type), output shape with the batch axis as None, and the
        number of values the layer stores (parameters plus state arrays). Non-trainable
        parameters are the state arrays (BatchNormalization's moving statistics).
        """
        rows = [("Layer (type)", "Output Shape", "Param #")]
        trainable = non_trainable = nbytes = 0
        for layer in self.layers:
            n_params = layer.count_params()
            n_state = int(sum(a.size for a in layer.state.values()))
            trainable += n_params
            non_trainable += n_state
            nbytes += sum(a.nbytes for a in (*layer.params.values(), *layer.state.values()))
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str((None,) + tuple(layer.output_shape)), f"{n_params + n_state:,}"))
        widths = [max(len(row[c]) for row in rows) + 3 for c in range(3)]
        total_width = sum(widths)

        def fmt(row):
            return row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2] - 3)

        lines = [f'Model: "{self.name}"  input: {(None,) + self.input_shape}, {self.dtype.name}',
                 "_" * total_width, fmt(rows[0]), "=" * total_width]
        lines += [fmt(row) for row in rows[1:]]
        lines += ["=" * total_width,
                  f"Total params: {trainable + non_trainable:,} ({nbytes / 2**20:.2f} MB)",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {non_trainable:,}",
                  "_" * total_width]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # --- weights ----------------------------------------------------------------------
    def _arrays(self):
        """Every parameter and state array, layer by layer: params first, then state."""
        return [array for layer in self.layers
                for array in (*layer.params.values(), *layer.state.values())]

    def get_weights(self):
        """Copies of every parameter and state array (the order of ``_arrays``)."""
        return [array.copy() for array in self._arrays()]

    def set_weights(self, weights):
        """Copy ``weights`` (as from ``get_weights``) into the model, in place.

        In place, so optimizers that keep per-parameter state stay attached to the
        same arrays.
        """
        arrays = self._arrays()
        weights = list(weights)
        if len(weights) != len(arrays):
            raise ValueError(f"set_weights: the model has {len(arrays)} arrays, got {len(weights)}")
        for i, (array, value) in enumerate(zip(arrays, weights)):
            value = np.asarray(value)
            if value.shape != array.shape:
                raise ValueError(f"set_weights: array {i} has shape {array.shape}, got {value.shape}")
        for array, value in zip(arrays, weights):
            array[...] = value

    def _state_copy(self):
        return [{k: v.copy() for k, v in layer.state.items()} for layer in self.layers]

    def _restore_state(self, saved):
        for layer, state in zip(self.layers, saved):
            for key, value in state.items():
                layer.state[key][...] = value

    # --- compile ----------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="binary_crossentropy", metrics=None):
        """Choose the optimizer, the loss and the metrics ``fit`` and ``evaluate`` report.

        Parameters
        ----------
        optimizer : str or optimizer object
            ``"adam"``, ``"sgd"`` or an object with ``step(params, grads)`` and a
            ``learning_rate`` attribute (``minicnn.optimizers.Adam(1e-4)``).
        loss : str or loss object
            ``"binary_crossentropy"`` (on logits) or an object with
            ``forward(logits, y, sample_weight=None) -> float`` and ``backward()``.
        metrics : list, optional
            Names (``"accuracy"``, ``"auc"``, ``"precision"``, ``"recall"``) or streaming
            metric objects (``name``, ``reset()``, ``update(y_true, y_prob)``, ``result()``).
        """
        from . import losses, metrics as metrics_module, optimizers

        self.optimizer = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        if not hasattr(self.optimizer, "step"):
            raise ValueError(f"optimizer {optimizer!r} has no step(params, grads) method")
        self.loss = losses.get(loss) if isinstance(loss, str) else loss
        if not (hasattr(self.loss, "forward") and hasattr(self.loss, "backward")):
            raise ValueError(f"loss {loss!r} has no forward/backward methods")
        if self.outputs_probabilities and getattr(self.loss, "from_logits", False):
            raise ValueError(
                "the model ends with a Sigmoid layer (it outputs probabilities) but the loss "
                "expects logits (from_logits=True); remove the Sigmoid (preferred: the fused "
                "loss is more stable) or use BinaryCrossEntropy(from_logits=False)")
        if metrics is None:
            metrics = []
        elif isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [metrics_module.get_streaming_metric(m) for m in metrics]
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be unique and not 'loss', got {names}")
        return self

    def _require_compiled(self, what):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"call model.compile(...) before model.{what}(...)")

    # --- the forward and backward chains ---------------------------------------------------
    def _forward(self, x, training=False):
        # layer(x) = shape check (a tuple comparison, cheap) + forward.
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def _backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)  # the first layer may return None: nobody needs it

    def _probabilities(self, outputs):
        return outputs if self.outputs_probabilities else stable_sigmoid(outputs)

    def _labels_like(self, y, outputs, what):
        """Labels in the model dtype, reshaped like the model outputs ((B,) -> (B, 1))."""
        y = np.asarray(y, dtype=self.dtype)
        if y.size != outputs.size:
            raise ValueError(f"{what}: labels of shape {y.shape} do not match the model "
                             f"output of shape {outputs.shape}")
        return y.reshape(outputs.shape)

    # --- batching ---------------------------------------------------------------------
    def _batches(self, x, y, sample_weight, batch_size, shuffle, rng, what, need_labels):
        """``(steps, make_iterator)``; each iterator yields ``(images, labels, weights)``.

        ``labels`` and ``weights`` may be None. Arrays are cut into batches of
        ``batch_size`` (the last one smaller), shuffled with ``rng`` when ``shuffle``:
        ONE permutation indexes images, labels and weights, so they stay together.
        """
        if isinstance(x, np.ndarray) or y is not None:
            x = np.asarray(x)
            if x.ndim == 0:
                raise ValueError(f"{what}: x must be an array of examples, got a scalar")
            if x.shape == self.input_shape:
                raise ValueError(f"{what}: x has the shape of ONE example {x.shape}; the model "
                                 f"takes a batch (N, {', '.join(map(str, x.shape))}): use x[None]")
            n = x.shape[0]
            if need_labels and y is None:
                raise ValueError(f"{what}: x is an array, so y (the labels) is required")
            if y is not None:
                y = np.asarray(y)
                if y.ndim == 0 or y.shape[0] != n:
                    raise ValueError(f"{what}: x has {n} examples but y has shape {y.shape}")
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight).reshape(-1)
                if sample_weight.shape[0] != n:
                    raise ValueError(f"{what}: x has {n} examples but sample_weight has "
                                     f"{sample_weight.shape[0]}")
            if int(batch_size) < 1:
                raise ValueError(f"{what}: batch_size must be >= 1, got {batch_size}")
            batch_size = int(batch_size)

            def make_iterator():
                order = rng.permutation(n) if shuffle else None
                for start in range(0, n, batch_size):
                    index = (order[start:start + batch_size] if order is not None
                             else slice(start, start + batch_size))
                    yield (x[index], None if y is None else y[index],
                           None if sample_weight is None else sample_weight[index])

            return math.ceil(n / batch_size), make_iterator

        if not (hasattr(x, "__iter__") and hasattr(x, "__len__")):
            raise ValueError(f"{what}: x must be an array of images (with y) or an iterable of "
                             f"(images, labels) batches that has len(); got {type(x).__name__}")
        if sample_weight is not None:
            raise ValueError(f"{what}: with a dataset, put sample weights in the batches "
                             "as (images, labels, sample_weight)")
        dataset = x

        def make_dataset_iterator():
            iterator = iter(dataset)
            try:
                yield from _checked_batches(iterator)
            finally:
                # Stop a prefetching iterator's worker thread now, also when the epoch was
                # cut short (Ctrl-C, NaN loss), instead of whenever it is garbage collected.
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()

        def _checked_batches(iterator):
            for i, batch in enumerate(iterator):
                if isinstance(batch, np.ndarray):
                    images, labels, weights = batch, None, None
                elif isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
                    images, labels = batch[0], batch[1]
                    weights = batch[2] if len(batch) == 3 else None
                else:
                    raise ValueError(f"{what}: batch {i} of the dataset is a {type(batch).__name__}; "
                                     "expected (images, labels) or (images, labels, sample_weight)")
                if need_labels and labels is None:
                    raise ValueError(f"{what}: batch {i} of the dataset has no labels")
                yield images, labels, weights

        return len(dataset), make_dataset_iterator

    def _class_weights(self, y, class_weight):
        """Per-example weights ``class_weight[label]``, shape like ``y``, model dtype."""
        weights = np.full(y.shape, np.nan, dtype=self.dtype)
        for label, weight in class_weight.items():
            weights[y == label] = weight
        if np.isnan(weights).any():
            missing = np.unique(y[np.isnan(weights)]).tolist()
            raise ValueError(f"class_weight {class_weight} has no weight for label(s) {missing}")
        return weights

    # --- training -----------------------------------------------------------------------
    def _train_step(self, images, labels, weights, epoch, step, steps):
        """One optimizer step on one batch; returns ``(outputs, labels, loss)``."""
        images = np.asarray(images, dtype=self.dtype)
        # BatchNormalization updates its moving statistics in the forward pass; if this
        # step fails or is interrupted before the update, put them back as they were.
        saved_state = self._state_copy()
        try:
            outputs = self._forward(images, training=True)
            labels = self._labels_like(labels, outputs, "fit")
            if weights is not None:
                weights = np.asarray(weights, dtype=self.dtype).reshape(outputs.shape)
            loss = float(self.loss.forward(outputs, labels, sample_weight=weights))
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"fit: the loss is {loss} at epoch {epoch + 1}, step {step + 1}/{steps}; "
                    "training stopped before this step changed the weights. Try a lower "
                    "learning rate, and check the data for NaN/inf values and labels "
                    "outside {0, 1}.")
            self._backward(self.loss.backward())
        except BaseException:
            self._restore_state(saved_state)
            raise
        params = [a for layer in self.layers for a in layer.params.values()]
        grads = [layer.grads[k] for layer in self.layers for k in layer.params]
        with _DeferKeyboardInterrupt():  # all parameters updated, or none
            self.optimizer.step(params, grads)
        return outputs, labels, loss

    def train_on_batch(self, x, y, sample_weight=None):
        """One optimizer step on one batch (forward, loss, backward, update); returns the loss.

        The building block of ``fit``, public for custom loops and benchmarks.
        """
        self._require_compiled("train_on_batch")
        return self._train_step(x, y, sample_weight, 0, 0, 1)[2]

    def _train_epoch(self, batches, epoch, steps, class_weight, callbacks, bar):
        """One pass over ``batches``; returns (running logs, number of steps done)."""
        for metric in self.metrics:
            metric.reset()
        seen, loss_sum, running, done = 0, 0.0, {}, 0
        for step, (images, labels, weights) in enumerate(batches):
            if class_weight is not None:
                cw = self._class_weights(np.asarray(labels, dtype=self.dtype), class_weight)
                weights = cw if weights is None else cw * np.asarray(weights, self.dtype).reshape(cw.shape)
            outputs, labels, loss = self._train_step(images, labels, weights, epoch, step, steps)
            done = step + 1
            # Running values over the epoch so far: the loss as a mean over examples,
            # metrics on the probabilities of the batches as they were seen.
            seen += outputs.shape[0]
            loss_sum += loss * outputs.shape[0]
            probabilities = self._probabilities(outputs)
            for metric in self.metrics:
                metric.update(labels, probabilities)
            running = {"loss": loss_sum / seen}
            running.update((m.name, float(m.result())) for m in self.metrics)
            if bar is not None:
                bar.update(done, running)
            for callback in callbacks:
                callback.on_batch_end(step, dict(running))
        return running, done

    def fit(self, x, y=None, epochs=1, batch_size=32, validation_data=None, class_weight=None,
            shuffle=True, callbacks=None, verbose=1, seed=None):
        """Train for ``epochs`` passes over the data; return a ``History``.

        Parameters
        ----------
        x : array (N, H, W, C) or iterable of batches with len()
            See the module docstring. A dataset is iterated once per epoch and
            shuffles itself (``shuffle`` and ``batch_size`` then do not apply).
        y : array (N,) or (N, 1), optional
            Labels in {0, 1}; required with an array ``x``.
        validation_data : (x_val, y_val), (x_val, y_val, w_val) or iterable of batches
            Evaluated after each epoch (``training=False``); gives the ``val_`` entries.
        class_weight : dict, optional
            ``{0: w0, 1: w1}``: each training example's loss is multiplied by the
            weight of its class (the loss stays the mean over the batch).
        shuffle : bool
            Shuffle arrays each epoch with a ``numpy.random.Generator``.
        callbacks : list of Callback
        verbose : int
            0 silent, 1 progress bar, 2 one line per epoch.
        seed : int, optional
            Seeds the shuffling; by default the model's own generator is used.

        Returns
        -------
        History
            ``history.history["loss"]``, each metric, their ``val_`` twins: one value
            per completed epoch. Training metrics are computed on the training batches
            as they were seen (weights changing during the epoch), like Keras.

        Raises
        ------
        FloatingPointError
            When the loss becomes NaN or inf; raised before that step changes any
            weight, naming the epoch and step.

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) during ``fit`` does not propagate: training stops,
        the weights are those after the last completed optimizer step (the update is
        shielded from the interrupt, never half done), callbacks' ``on_train_end`` runs
        (so ``EarlyStopping(restore_best_weights=True)`` still restores), a one-line
        message goes to stderr, ``history.interrupted`` is True and the History of the
        completed epochs is returned. Check ``history.interrupted`` in scripts that
        must know.
        """
        self._require_compiled("fit")
        if int(epochs) < 0:
            raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise ValueError(f"fit: class_weight must be a dict {{label: weight}}, got {class_weight!r}")
            bad = {k: v for k, v in class_weight.items()
                   if not (isinstance(v, (int, float, np.number)) and math.isfinite(v) and v >= 0)}
            if bad:
                raise ValueError(f"fit: class weights must be finite numbers >= 0, got {bad}")
        rng = np.random.default_rng(seed) if seed is not None else self.rng
        steps, train_batches = self._batches(x, y, None, batch_size, shuffle, rng, "fit", True)
        validation = None
        if validation_data is not None:
            validation = self._validation_batches(validation_data, batch_size)
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise ValueError(f"fit: callbacks must be minicnn.callbacks.Callback objects, "
                                 f"got {callback!r}")
            callback.set_model(self)

        history = History()
        history.model = self
        history.params = {"epochs": int(epochs), "steps": steps,
                          "batch_size": int(batch_size) if isinstance(x, np.ndarray) else None,
                          "verbose": verbose}
        self.history = history
        self.stop_training = False
        logs = {}
        epoch, bar = 0, None
        try:
            for callback in callbacks:
                callback.on_train_begin(logs)
            for epoch in range(int(epochs)):
                for callback in callbacks:
                    callback.on_epoch_begin(epoch, {})
                bar = None
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}")
                    bar = ProgressBar(steps)
                with contextlib.closing(train_batches()) as batches:
                    running, done = self._train_epoch(batches, epoch, steps, class_weight,
                                                      callbacks, bar if verbose == 1 else None)
                if done == 0:
                    raise ValueError("fit: the training data gave no batches")
                logs = dict(running)
                if validation is not None:
                    val_logs = self._evaluate_batches(*validation, verbose=0)
                    logs.update((f"val_{k}", v) for k, v in val_logs.items())
                if bar is not None:
                    bar.finish(logs, step=done)
                try:
                    for callback in callbacks:
                        callback.on_epoch_end(epoch, logs)
                finally:  # the epoch is complete: record it even if a callback is interrupted
                    history._record(epoch, logs)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            history.interrupted = True
            if bar is not None and bar.interactive:
                print()  # end the progress bar's line
            print(f"Training interrupted (Ctrl-C) in epoch {epoch + 1}: "
                  f"keeping the weights of the last completed step; "
                  f"{len(history.epoch)} complete epoch(s) recorded.", file=sys.stderr)
        for callback in callbacks:
            callback.on_train_end(logs)
        return history

    def _validation_batches(self, validation_data, batch_size):
        """``(steps, make_iterator)`` for ``fit(validation_data=...)``."""
        if (isinstance(validation_data, tuple) and len(validation_data) in (2, 3)
                and isinstance(validation_data[0], np.ndarray)):
            x_val, y_val = validation_data[0], validation_data[1]
            w_val = validation_data[2] if len(validation_data) == 3 else None
            return self._batches(x_val, y_val, w_val, batch_size, False, None,
                                 "fit(validation_data)", True)
        return self._batches(validation_data, None, None, batch_size, False, None,
                             "fit(validation_data)", True)

    # --- inference ----------------------------------------------------------------------
    def _evaluate_batches(self, steps, make_iterator, verbose=0):
        """Loss (mean over examples) and metrics over all batches, in inference mode."""
        for metric in self.metrics:
            metric.reset()
        bar = ProgressBar(steps) if verbose else None
        seen, loss_sum = 0, 0.0
        with contextlib.closing(make_iterator()) as batches:
            for step, (images, labels, weights) in enumerate(batches):
                outputs = self._forward(np.asarray(images, dtype=self.dtype), training=False)
                labels = self._labels_like(labels, outputs, "evaluate")
                if weights is not None:
                    weights = np.asarray(weights, dtype=self.dtype).reshape(outputs.shape)
                loss = float(self.loss.forward(outputs, labels, sample_weight=weights))
                seen += outputs.shape[0]
                loss_sum += loss * outputs.shape[0]
                probabilities = self._probabilities(outputs)
                for metric in self.metrics:
                    metric.update(labels, probabilities)
                if bar is not None:
                    bar.update(step + 1, {"loss": loss_sum / seen})
        if seen == 0:
            raise ValueError("evaluate: no examples to evaluate")
        logs = {"loss": loss_sum / seen}
        logs.update((m.name, float(m.result())) for m in self.metrics)
        if bar is not None:
            bar.finish(logs)
        return logs

    def evaluate(self, x, y=None, batch_size=32, verbose=0, sample_weight=None):
        """Loss and metrics on data, in inference mode (Dropout off, BatchNorm moving stats).

        Returns
        -------
        dict
            ``{"loss": float, "<metric>": float, ...}``: always a dict (no Keras-style
            list), so results are read by name. The loss is the mean over examples of
            the per-batch means weighted by batch size.
        """
        self._require_compiled("evaluate")
        batches = self._batches(x, y, sample_weight, batch_size, False, None, "evaluate", True)
        return self._evaluate_batches(*batches, verbose=verbose)

    def predict_logits(self, x, batch_size=32, verbose=0):
        """Raw model outputs for ``x`` (array or iterable of batches), shape (N, *output_shape)."""
        steps, make_iterator = self._batches(x, None, None, batch_size, False, None,
                                             "predict", False)
        bar = ProgressBar(steps) if verbose else None
        outputs = []
        with contextlib.closing(make_iterator()) as batches:
            for step, (images, _, _) in enumerate(batches):
                outputs.append(self._forward(np.asarray(images, dtype=self.dtype), training=False))
                if bar is not None:
                    bar.update(step + 1, {})
        if bar is not None:
            bar.finish({})
        if not outputs:
            return np.zeros((0,) + self.output_shape, dtype=self.dtype)
        return np.concatenate(outputs)

    def predict(self, x, batch_size=32, verbose=0):
        """Probabilities for ``x``: shape (N, 1) for a binary model, model dtype.

        A model that ends in logits (the usual case, trained with the fused loss) gets
        a stable sigmoid applied; one that ends in a Sigmoid layer is returned as is.
        With an iterable of batches, only the images of each batch are used.
        """
        return self._probabilities(self.predict_logits(x, batch_size=batch_size, verbose=verbose))

    # --- saving (the file format lives in saving.py) -----------------------------------
    def save(self, path, metadata=None):
        """Write the model to ONE ``.npz`` file (architecture as JSON + arrays, no pickle).

        ``metadata`` (a JSON-serialisable dict, e.g. ``{"threshold": 0.31}``) is kept
        with the model; it defaults to ``self.metadata``. ``.npz`` is appended when
        missing. The write is atomic. Returns the path written. See ``minicnn.saving``.
        """
        return save_model(self, path, metadata)

    @classmethod
    def load(cls, path):
        """Rebuild a model written by ``save``; ``model.metadata`` holds its metadata.

        Raises FileNotFoundError when there is no file, ValueError (naming the file)
        when it is not a minicnn model or is damaged. See ``minicnn.saving``.
        """
        return load_model(path, cls)

    def __repr__(self):
        return (f"Sequential(name={self.name!r}, layers={len(self.layers)}, "
                f"input_shape={self.input_shape}, params={self.count_params():,})")
