"""Lets the saving tests import their shared helpers (``saving_support``, ``zip_support``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
