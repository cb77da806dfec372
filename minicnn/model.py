"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

The model holds the layers and what ``compile`` chose (optimizer, loss, metrics); the
training loop itself is ``minicnn.trainer.train_step``, in a few lines::

    outputs = model.forward(images, training=True)       # layer by layer
    loss    = model.loss.forward(outputs, labels, w)     # one float, the weighted batch mean
    model.backward(model.loss.backward())                # layer by layer in reverse: layer.grads
    model.optimizer.step(params, grads)                  # updates every parameter in place

``fit`` runs it over epochs (``minicnn.trainer.fit``); the data of every call goes through
one batch adapter (``minicnn.batches.Batches``), and the progress bar, ``History`` and the
NaN stop are callbacks (``minicnn.callbacks``).

Inputs
------
``x`` is either an array of images ``(N, H, W, C)`` with labels ``y``, or any iterable
of batches that has ``len()`` (a dataset): each batch is ``(images, labels)`` or
``(images, labels, sample_weight)``; it is iterated once per epoch and shuffles itself.
Images are cast to the model's dtype batch by batch (no scaling: divide uint8 images by
255 yourself, or let the dataset do it).

Outputs and labels
------------------
A model ending in ONE unit (``Dense(1)``) is binary: labels ``(N,)`` or ``(N, 1)`` in
{0, 1}, ``predict`` gives P(class 1), shape (N, 1). A model ending in K >= 2 units
(``Dense(K)``) has K classes: integer labels 0..K-1 with
``loss="sparse_categorical_crossentropy"`` or one-hot rows (N, K) with
``"categorical_crossentropy"``, and ``predict`` gives (N, K) rows that sum to 1. Labels
are checked before the first update (``minicnn.targets`` has the rules).
"""

import numpy as np

from . import fusion, losses, optimizers, targets, trainer
from .batches import Batches
from .callbacks import History
from .layers.base import Layer
from .saving import load_model, save_model

__all__ = ["Sequential", "History"]


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
        self.train_batches = None   # the training Batches while fit runs (BackupAndRestore)
        self._initial_epoch = None  # where a callback moved fit's start (Keras's name)
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
        # A model whose last layer is a Sigmoid or a Softmax already outputs
        # probabilities; otherwise it outputs logits and predict() applies the sigmoid
        # (one unit) or the softmax (K units).
        self.outputs_probabilities = type(self.layers[-1]).__name__ in targets.PROBABILITY_LAYERS

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

    def trainable_params(self):
        """Every parameter array, layer by layer (what the optimizer updates)."""
        return [array for layer in self.layers for array in layer.params.values()]

    def gradients(self):
        """The gradient of each of ``trainable_params()``, in the same order."""
        return [layer.grads[key] for layer in self.layers for key in layer.params]

    # --- compile ----------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="binary_crossentropy", metrics=None):
        """Choose the optimizer, the loss and the metrics ``fit`` and ``evaluate`` report.

        Parameters
        ----------
        optimizer : str or optimizer object
            ``"adam"``, ``"sgd"`` or an object with ``step(params, grads)`` and a
            ``learning_rate`` attribute (``minicnn.optimizers.Adam(1e-4)``).
        loss : str or loss object
            ``"binary_crossentropy"`` (one output unit), ``"sparse_categorical_crossentropy"``
            (K units, integer labels) or ``"categorical_crossentropy"`` (K units, one-hot
            labels), all on logits; or an object with
            ``forward(logits, y, sample_weight=None) -> float`` and ``backward()``.
        metrics : list, optional
            Names or streaming metric objects (``name``, ``reset()``,
            ``update(y_true, y_prob)``, ``result()``). One unit: ``"accuracy"``,
            ``"auc"``, ``"precision"``, ``"recall"``. K units: ``"accuracy"`` (argmax) and
            ``"auc"`` (macro one-vs-rest), reported under those names, or Keras's
            ``"categorical_accuracy"`` / ``"sparse_categorical_accuracy"``.

        Raises
        ------
        ValueError
            For a loss that does not fit the output (a softmax loss on one unit, the
            binary loss on K units, a loss on logits after a Sigmoid or Softmax layer)
            and for binary-only metrics on K units; the message says what to use.
        """
        self.optimizer = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        if not hasattr(self.optimizer, "step"):
            raise ValueError(f"optimizer {optimizer!r} has no step(params, grads) method")
        self.loss = losses.get(loss) if isinstance(loss, str) else loss
        if not (hasattr(self.loss, "forward") and hasattr(self.loss, "backward")):
            raise ValueError(f"loss {loss!r} has no forward/backward methods")
        self._check_loss_fits_the_output()
        if metrics is None:
            metrics = []
        elif isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [targets.streaming_metric(m, self.output_shape, self.loss) for m in metrics]
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be unique and not 'loss', got {names}")
        return self

    def _check_loss_fits_the_output(self):
        k = targets.num_classes(self.output_shape)
        softmax_loss = isinstance(self.loss, (losses.CategoricalCrossEntropy,
                                              losses.SparseCategoricalCrossEntropy))
        name = type(self.loss).__name__
        if softmax_loss and (k is None or k < 2):
            raise ValueError(
                f"{name} needs K >= 2 output units (one logit per class), but the model "
                f"outputs {(None,) + self.output_shape}: end it in Dense(K), or use "
                "binary_crossentropy for one unit")
        if isinstance(self.loss, losses.BinaryCrossEntropy) and k is not None and k > 1:
            raise ValueError(
                f"BinaryCrossEntropy takes one output unit (one logit per example), but the "
                f"model has {k}: for {k} classes use loss='sparse_categorical_crossentropy' "
                "(integer labels) or 'categorical_crossentropy' (one-hot labels)")
        if self.outputs_probabilities and getattr(self.loss, "from_logits", False):
            last = type(self.layers[-1]).__name__
            plain = (name if softmax_loss else "CategoricalCrossEntropy" if last == "Softmax"
                     else "BinaryCrossEntropy") + "(from_logits=False)"
            raise ValueError(
                f"the model ends with a {last} layer (it outputs probabilities) but the loss "
                f"expects logits (from_logits=True); remove the {last} (preferred: the fused "
                f"loss is more stable) or use {plain}")

    def _require_compiled(self, what):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"call model.compile(...) before model.{what}(...)")

    # --- the forward and backward chains ---------------------------------------------------
    def forward(self, x, training=False):
        """The output of every layer in turn; ``layer(x)`` also checks the input shape."""
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def infer(self, x):
        """The outputs for one batch in inference mode (what ``predict`` and ``evaluate`` run).

        The outputs of ``forward(x, training=False)`` up to float rounding, but nothing is
        kept for a backward pass, each Conv2D -> ReLU -> MaxPool2D(2) block runs as one
        fused kernel, and a BatchNormalization right after a Conv2D is folded into its
        weights (``minicnn.fusion``). Call ``forward`` when you mean to call ``backward``.
        """
        return fusion.infer(self.layers, x)

    def backward(self, grad):
        """Send dL/d(output) down the layers, which fill their ``grads``.

        Each layer lets go of what its forward kept once its backward has run: a second
        ``backward`` needs a new ``forward``.
        """
        for layer in reversed(self.layers):
            grad = layer.backward(grad)  # the first layer may return None: nobody needs it
            layer.drop_kept()            # used: its memory can hold the gradients below

    def probabilities(self, outputs):
        """Outputs as probabilities: the sigmoid of one logit, the softmax of K (rows sum
        to 1), or the outputs themselves after a Sigmoid or Softmax layer
        (``minicnn.targets.head``)."""
        return targets.probabilities(self, outputs)

    def targets_like(self, outputs, labels, sample_weight=None, what="fit"):
        """Labels shaped for the loss, and weights as (B,); ValueError if they do not fit.

        Binary outputs (B, 1): labels (B,) or (B, 1) become (B, 1). K-class outputs
        (B, K): integer labels (B,) or (B, 1) and one-hot rows (B, K) stay as they are
        (the sparse loss reads the integers, the categorical one the rows).
        """
        labels = np.asarray(labels, dtype=self.dtype)
        batch = outputs.shape[0]
        if outputs.ndim == 2 and outputs.shape[1] > 1:
            if labels.shape not in ((batch,), (batch, 1), outputs.shape):
                raise ValueError(f"{what}: labels of shape {labels.shape} do not fit the model "
                                 f"output of shape {outputs.shape}: give integer labels "
                                 f"({batch},) or one-hot rows {outputs.shape}")
        elif labels.size != outputs.size:
            raise ValueError(f"{what}: labels of shape {labels.shape} do not match the model "
                             f"output of shape {outputs.shape}")
        else:
            labels = labels.reshape(outputs.shape)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=self.dtype).reshape(-1)
            if sample_weight.shape[0] != batch:
                raise ValueError(f"{what}: {sample_weight.shape[0]} sample weights for a batch "
                                 f"of {batch} examples")
        return labels, sample_weight

    def check_labels(self, y, name="y"):
        """Raise ValueError (naming ``name``) unless labels ``y`` fit this model (``minicnn.targets``)."""
        targets.check_labels(y, self.output_shape, self.loss, self.metrics, name)

    def _batches(self, x, y=None, sample_weight=None, batch_size=32, what="fit", **options):
        return Batches(x, y, sample_weight, batch_size=batch_size, dtype=self.dtype,
                       example_shape=self.input_shape, what=what,
                       check_labels=self.check_labels, **options)

    # --- training -----------------------------------------------------------------------
    def train_on_batch(self, x, y, sample_weight=None):
        """One optimizer step on one batch (forward, loss, backward, update); returns the loss.

        The building block of ``fit``, public for custom loops and benchmarks.
        """
        self._require_compiled("train_on_batch")
        return trainer.train_on_batch(self, x, y, sample_weight)

    def fit(self, x, y=None, epochs=1, batch_size=32, validation_data=None, class_weight=None,
            shuffle=True, callbacks=None, verbose=1, seed=None, initial_epoch=0):
        """Train for ``epochs`` passes over the data; return a ``History``.

        Parameters
        ----------
        x : array (N, H, W, C) or iterable of batches with len()
            See the module docstring. A dataset is iterated once per epoch and
            shuffles itself (``shuffle`` and ``batch_size`` then do not apply).
        y : array, optional
            Required with an array ``x``. One output unit: (N,) or (N, 1) in {0, 1}
            (soft labels in [0, 1] also train, without the binary metrics). K units:
            integers 0..K-1, (N,) or (N, 1), for the sparse loss; one-hot rows (N, K)
            for the categorical one. Checked before the first update: a ValueError
            names ``y`` and the values that do not fit (``minicnn.targets``); a
            dataset's labels are checked batch by batch, the error naming the epoch
            and the step.
        validation_data : (x_val, y_val), (x_val, y_val, w_val) or iterable of batches
            Evaluated after each epoch (``training=False``); gives the ``val_`` entries.
        class_weight : dict, optional
            ``{class: weight}`` for every class (``{0: w0, 1: w1}`` for a binary model,
            K entries for K classes): each training example's loss is multiplied by
            the weight of its class, its label or the argmax of its one-hot row (the
            loss stays the mean over the batch).
        shuffle : bool
            Shuffle arrays each epoch with a ``numpy.random.Generator``.
        callbacks : list of Callback
        verbose : int
            0 silent, 1 progress bar, 2 one line per epoch.
        seed : int, optional
            Seeds the shuffling; by default the model's own generator is used.
        initial_epoch : int
            The epoch to start from (counting from 0), as in Keras: ``fit`` runs epochs
            ``initial_epoch`` .. ``epochs - 1``, so ``epochs`` is the last epoch's number
            plus one, not a count. With a model restored by ``Sequential.load`` (its
            optimizer state included), ``fit(..., epochs=10, initial_epoch=6)`` continues
            a run saved after 6 epochs; ``callbacks.BackupAndRestore`` does this for you.

        Returns
        -------
        History
            ``history.history["loss"]``, each metric, their ``val_`` twins: one value
            per completed epoch. Training metrics are computed on the training batches
            as they were seen (weights changing during the epoch), like Keras.

        Raises
        ------
        ValueError
            For labels that do not fit the model (see ``y``), before any update.
        FloatingPointError
            When the loss becomes NaN or inf, or an update leaves inf or NaN in the
            weights or the optimizer's state (it overflowed); naming the epoch and the
            step, with the model as it was before that step
            (``minicnn.callbacks.NaNGuard``).

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) during ``fit`` does not propagate: training stops
        after the step in progress, callbacks' ``on_train_end`` runs, a one-line message
        goes to stderr, ``history.interrupted`` is True and the History of the completed
        epochs is returned (``minicnn.trainer``). Check ``history.interrupted`` in
        scripts that must know.
        """
        self._require_compiled("fit")
        if int(epochs) < 0:
            raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
        if isinstance(initial_epoch, bool) or int(initial_epoch) != initial_epoch or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be an integer >= 0, got {initial_epoch!r}")
        rng = np.random.default_rng(seed) if seed is not None else self.rng
        batches = self._batches(x, y, None, batch_size, "fit", shuffle=shuffle, rng=rng,
                                class_weight=class_weight, name_epochs=True)
        validation = None
        if validation_data is not None:
            validation = self._batches(*_split_validation(validation_data), batch_size,
                                       "fit(validation_data)", name_epochs=True)
        return trainer.fit(self, batches, epochs, validation, callbacks, verbose,
                           initial_epoch=int(initial_epoch))

    # --- inference ----------------------------------------------------------------------
    def evaluate(self, x, y=None, batch_size=32, verbose=0, sample_weight=None, callbacks=None):
        """Loss and metrics on data, in inference mode (Dropout off, BatchNorm moving stats).

        Returns
        -------
        dict
            ``{"loss": float, "<metric>": float, ...}``: always a dict (no Keras-style
            list), so results are read by name. The loss is the mean over examples of
            the per-batch means weighted by batch size.

        ``callbacks`` (a list of ``Callback``) get the ``on_test_*`` hooks.
        """
        self._require_compiled("evaluate")
        return trainer.evaluate(self, self._batches(x, y, sample_weight, batch_size, "evaluate"),
                                verbose=verbose, callbacks=callbacks)

    def predict_logits(self, x, batch_size=32, verbose=0, callbacks=None):
        """Raw model outputs for ``x`` (array or iterable of batches), shape (N, *output_shape).

        ``callbacks`` (a list of ``Callback``) get the ``on_predict_*`` hooks.
        """
        batches = self._batches(x, None, None, batch_size, "predict", need_labels=False)
        outputs = trainer.predict_logits(self, batches, verbose=verbose, callbacks=callbacks)
        if not outputs:
            return np.zeros((0,) + self.output_shape, dtype=self.dtype)
        return np.concatenate(outputs)

    def predict(self, x, batch_size=32, verbose=0, callbacks=None):
        """Probabilities for ``x``: (N, 1) for a binary model, (N, K) for K classes; model dtype.

        A model that ends in logits (the usual case, trained with a fused loss) gets a
        stable sigmoid applied to one unit, a stable softmax to K units (each row then
        sums to 1); one that ends in a Sigmoid or Softmax layer is returned as is. With
        an iterable of batches, only the images of each batch are used.
        """
        return self.probabilities(self.predict_logits(x, batch_size=batch_size, verbose=verbose,
                                                      callbacks=callbacks))

    # --- saving (the file format lives in saving/) -------------------------------------
    def save(self, path, metadata=None, include_optimizer=True):
        """Write the model to ONE ``.npz`` file (architecture as JSON + arrays, no pickle).

        ``metadata`` (a JSON-serialisable dict, e.g. ``{"threshold": 0.31}``) is kept
        with the model; it defaults to ``self.metadata``. ``include_optimizer`` (Keras's
        default, True) also stores the compiled optimizer's configuration and state
        (step count, Adam's moments, SGD's velocity, the weight average), so that a
        loaded model continues training where this one stopped; False keeps the file to
        the weights (what inference needs). ``.npz`` is appended when missing. The write
        is atomic. Returns the path written. See ``minicnn.saving``.
        """
        return save_model(self, path, metadata, include_optimizer=include_optimizer)

    @classmethod
    def load(cls, path):
        """Rebuild a model written by ``save``; ``model.metadata`` holds its metadata.

        When the file holds an optimizer, ``model.optimizer`` is that optimizer with its
        state; to continue training, compile with it:
        ``model.compile(optimizer=model.optimizer, loss=..., metrics=...)`` then
        ``model.fit(..., initial_epoch=...)``.

        Raises FileNotFoundError when there is no file, ValueError (naming the file)
        when it is not a minicnn model or is damaged. See ``minicnn.saving``.
        """
        return load_model(path, cls)

    def __repr__(self):
        return (f"Sequential(name={self.name!r}, layers={len(self.layers)}, "
                f"input_shape={self.input_shape}, params={self.count_params():,})")


def _split_validation(validation_data):
    """``(x, y, sample_weight)`` of ``fit(validation_data=...)``: arrays, or a dataset alone."""
    if (isinstance(validation_data, tuple) and len(validation_data) in (2, 3)
            and isinstance(validation_data[0], np.ndarray)):
        return (validation_data[0], validation_data[1],
                validation_data[2] if len(validation_data) == 3 else None)
    return validation_data, None, None
