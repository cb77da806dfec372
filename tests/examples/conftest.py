"""The example's package, ``examples/chest_xray``, is imported as ``chest_xray`` (as the script does)."""

import os
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

# The subprocess tests share test_pneumonia_example.run (how the script is run as a user would).
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
