"""Saving and loading models: one ``.npz`` file, architecture as JSON plus arrays, no pickle.

The file is a zip (``numpy.savez``) holding

* ``__minicnn_config__.npy``: a NumPy unicode array with the JSON architecture: each
  layer's class name and constructor arguments (``Layer.get_config()``), the names of its
  params and state arrays, the model's input shape, dtype, name and a user ``metadata`` dict;
* ``layers.<i>.params.<name>.npy`` and ``layers.<i>.state.<name>.npy``: every array, as is;
* with ``include_optimizer`` (the default, as Keras's): the optimizer's class, constructor
  arguments and step count in the JSON (``"optimizer"``), and its per-parameter arrays as
  ``optimizer.<j>.<name>.npy`` (Adam's ``m`` and ``v``, SGD's ``velocity``, the weight
  average ``average``), slot ``j`` naming the parameter it belongs to. Such a file is
  format version 2 (version 1 files, without an optimizer, are still written and read);
* optionally a JSON ``"training_state"`` (what ``callbacks.BackupAndRestore`` needs to
  resume: the next epoch, the generators' states, the History so far).

Loading treats the file as hostile until proven otherwise, and allocates nothing the file
asks for before it has checked it:

1. (``archive``) The zip directory is read (not the members). The architecture member
   must be small; it is the only one read before the checks below.
2. (``schema``) The JSON is checked against a schema: the known keys and their types;
   each layer's class must be registered (``LAYER_REGISTRY``) and its arguments must be
   the constructor's (``layer_schema``: names from the signature, types from the
   defaults); each layer is then constructed (constructors allocate nothing).
3. (``shapes``, then ``load``) Every array the architecture implies is predicted, shape
   by shape, from the layers' arguments and the shapes flowing through them
   (``expected_arrays``), and the total is compared with ``max_bytes``: a 9 KB file
   declaring ``Dense(units=10**6)`` stops here.
4. (``load``, through ``archive``) The members must be exactly those arrays (no
   missing, no extra one, which is never read); each member's ``.npy`` header (a few
   bytes at its start) must declare the predicted shape and the model's dtype, and its
   uncompressed size in the zip directory must be exactly header plus data: a member
   padded to 2 GiB is refused before it is inflated.
   The optimizer is checked the same way: its class must be one of
   ``optimizers.OPTIMIZER_CLASSES`` and its arguments those of its constructor; each
   slot must name a distinct parameter of the model, hold only the arrays that class
   keeps, and every array must be declared with the shape and dtype of its parameter
   (and counts towards ``max_bytes``).
5. (``load``) Only then is the model built, and each array is read straight into the
   layer's own buffer; an array with NaN or infinity is refused.

Every failure is a ``ValueError`` naming the file and the problem. ``allow_pickle`` is
never on: an object array is refused from its header, and nothing in a model file can
run code. Layer classes outside ``minicnn.layers`` (your own, registered by importing
their module) are trusted: their arrays are sized from the file's headers (still within
``max_bytes``), and their ``build`` runs before the shapes it made are compared.

``check_metadata`` validates the metadata a prediction needs (threshold, class names,
image size, colour mode) against the loaded model.

Where each part lives (the public names, ``__all__``, are importable from here):

    file_format  the format's names, version, keys and size limits; ``Refused``
    save         save_model, model_config: the architecture, the arrays, the optimizer
    schema       layer_schema and the checks of the architecture's keys (step 2)
    shapes       expected_arrays: the arrays a layer will make, before it makes them (step 3)
    archive      the bounded reader of the zip's members: headers and sizes first (steps 1, 4)
    load         load_model: the plan, every check before any allocation, then the build
    metadata     check_metadata: the settings a prediction needs
"""

from .file_format import DEFAULT_MAX_BYTES
from .load import load_model
from .metadata import check_metadata
from .save import model_config, save_model
from .schema import layer_schema
from .shapes import expected_arrays

__all__ = ["save_model", "load_model", "model_config", "check_metadata", "layer_schema",
           "expected_arrays", "DEFAULT_MAX_BYTES"]
