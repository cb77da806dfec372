"""Lets the metrics tests import their shared helpers (``metrics_support``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
