"""minicnn layers: one small file per family, all following the contract in ``base.py``."""

from .base import LAYER_REGISTRY, Layer

__all__ = ["Layer", "LAYER_REGISTRY"]
