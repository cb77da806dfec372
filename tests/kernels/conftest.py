"""Lets the kernel tests import their shared hypothesis strategies (``kernel_cases``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
