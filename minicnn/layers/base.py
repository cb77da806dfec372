"""The one contract every minicnn layer follows.

A layer is a small object with three methods and three dictionaries:

``build(input_shape, rng=None, dtype=np.float32)``
    ``input_shape`` is the shape of ONE example (no batch axis), e.g. ``(224, 224, 3)``.
    Creates ``self.params`` (name -> array) and ``self.grads`` (same names, same shapes, zeros),
    and sets ``self.output_shape``. Random initial values come from ``rng``, a
    ``numpy.random.Generator``, so one seed makes a model repeatable.
``forward(x, training=False)``
    ``x`` has shape ``(batch, *input_shape)``. Returns the output and keeps whatever
    ``backward`` will need (``self.x``, a mask, an argmax ...). ``training`` switches
    layers that behave differently while training (Dropout, BatchNormalization).
``backward(grad_out)``
    ``grad_out`` is dL/d(output), same shape as the last output. Writes dL/d(param)
    into ``self.grads`` (overwriting, never adding across steps) and returns dL/dx,
    or None when ``self.needs_input_grad`` is False (the model's first layer).
    ``backward`` may reuse ``grad_out``'s memory (ReLU zeroes it in place), so
    callers pass an array they no longer need. The kernels a layer calls may hand out
    arrays from a pool reused between steps (``minicnn/kernels/workspace.py``), but never
    one that someone still holds: an output you keep is never overwritten behind your back.

``self.state`` holds arrays that are saved with the model but not trained
(BatchNormalization's moving mean and variance). Layers that draw random numbers
take them from ``self.rng`` (a ``numpy.random.Generator``); the gradient checker
replays the same draws by restoring its state.

Layers compute in the dtype of their input and parameters (float32 for training,
float64 for gradient checks): no layer hard-codes a dtype in forward or backward.

Saving a model needs each layer's constructor arguments. Rather than a ``get_config``
in every layer, we use one convention: a layer stores each constructor argument as
an attribute of the same name (``Conv2D(filters=32)`` keeps ``self.filters``).
"""

import inspect

import numpy as np

# Every Layer subclass, by class name: Sequential.load rebuilds layers from this.
LAYER_REGISTRY = {}


class Layer:
    # Names of the attributes ``forward`` keeps for ``backward`` (Conv2D's "cols" ...).
    # ``layer(x)`` drops them before the next forward, so the memory of the last step's
    # can be reused for this step's (minicnn/kernels/workspace.py) instead of both
    # being alive at once.
    kept_for_backward = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYER_REGISTRY[cls.__name__] = cls

    def __init__(self, name=None):
        self.name = name or type(self).__name__.lower()
        self.params = {}
        self.grads = {}
        self.state = {}
        self.input_shape = None
        self.output_shape = None
        self.built = False
        # The first layer of a model has no layer below it to pass a gradient to;
        # Sequential sets this to False there and backward may then return None
        # (for Conv2D this skips the whole col2im of the biggest activation).
        self.needs_input_grad = True

    # --- the contract -------------------------------------------------------------
    def build(self, input_shape, rng=None, dtype=np.float32):
        """Create parameters for inputs of shape ``input_shape`` (no batch axis).

        Layers with parameters override this and call ``super().build(...)`` first.
        """
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        self.built = True

    def compute_output_shape(self, input_shape):
        """Shape of one output example for one input example; identity by default."""
        return tuple(input_shape)

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    # --- conveniences shared by all layers ----------------------------------------
    def __call__(self, x, training=False):
        """Check the input's shape (building on first use), then run ``forward``."""
        x = np.asarray(x)
        if not self.built:
            if x.ndim < 2:
                raise ValueError(
                    f"{self.name}: expected a batch of shape (batch, ...), got shape {x.shape}"
                )
            dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
            self.build(x.shape[1:], dtype=dtype)
        self.check_input_shape(x.shape)
        self.drop_kept()
        return self.forward(x, training=training)

    def drop_kept(self):
        """Let go of what the last ``forward`` kept for ``backward`` (``kept_for_backward``).

        Sequential calls it once a layer's backward has run, and before each forward, so
        the memory can serve the next arrays instead of sitting idle until this layer's
        next forward.
        """
        for name in self.kept_for_backward:
            setattr(self, name, None)

    def check_input_shape(self, shape):
        """Raise ValueError naming this layer, the expected shape and the one received."""
        expected = (None,) + tuple(self.input_shape)
        if len(shape) != len(expected) or tuple(shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"{self.name} ({type(self).__name__}): expected input of shape {expected} "
                f"(batch first), got {tuple(shape)}"
            )

    def count_params(self):
        return int(sum(p.size for p in self.params.values()))

    def get_config(self):
        """Constructor arguments, read back from the attributes of the same name."""
        signature = inspect.signature(type(self).__init__)
        config = {}
        for arg in list(signature.parameters)[1:]:
            if signature.parameters[arg].kind in (inspect.Parameter.VAR_POSITIONAL,
                                                  inspect.Parameter.VAR_KEYWORD):
                continue
            value = getattr(self, arg)
            config[arg] = list(value) if isinstance(value, tuple) else value
        return config

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
