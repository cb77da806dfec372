"""What a minicnn model file is: its names, versions, keys and size limits.

Shared by the writer (``save``) and the reader (``schema``, ``load``), so that both read
the format from one place. The format itself is described in ``minicnn.saving``.
"""

FORMAT = "minicnn.Sequential"
FORMAT_VERSION = 2           # 2: may hold an optimizer and a training state
CONFIG_KEY = "__minicnn_config__"
TOP_LEVEL_KEYS = {"format", "format_version", "name", "input_shape", "dtype", "layers",
                  "metadata", "optimizer", "training_state"}
OPTIMIZER_KEYS = {"class_name", "config", "iterations", "slots"}
LAYER_KEYS = {"class_name", "config", "params", "state"}

#: Largest total size of the weights (params and state) a file may declare, in bytes.
#: Building also allocates a gradient per parameter, so loading needs a few times this.
DEFAULT_MAX_BYTES = 1 << 30
MAX_CONFIG_BYTES = 16 << 20  # the JSON architecture of any real model is a few KB
MAX_NPY_HEADER = 1 << 16     # an .npy header is 64 to a few hundred bytes


class Refused(ValueError):
    """A problem with the file; ``load_model`` adds the file's name."""
