"""minicnn layers: one small file per family, all following the contract in ``base.py``.

=========================  ==========================  =====================
minicnn                    file                        Keras name
=========================  ==========================  =====================
Conv2D                     conv.py                     Conv2D
MaxPool2D                  pooling.py                  MaxPool2D
GlobalAveragePooling2D     pooling.py                  GlobalAveragePooling2D
Dense, Flatten             dense.py                    Dense, Flatten
ReLU, Sigmoid              activations.py              ReLU, Activation("sigmoid")
Dropout                    dropout.py                  Dropout
BatchNormalization         normalization.py           BatchNormalization
Softmax                    softmax.py                  Softmax
=========================  ==========================  =====================
"""

from .activations import ReLU, Sigmoid
from .base import LAYER_REGISTRY, Layer
from .conv import Conv2D
from .dense import Dense, Flatten
from .dropout import Dropout
from .normalization import BatchNormalization
from .pooling import GlobalAveragePooling2D, MaxPool2D
from .softmax import Softmax

__all__ = [
    "Layer", "LAYER_REGISTRY", "Conv2D", "MaxPool2D", "GlobalAveragePooling2D", "Dense", "Flatten",
    "ReLU", "Sigmoid", "Softmax", "Dropout", "BatchNormalization",
]
