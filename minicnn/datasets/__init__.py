"""Small datasets that ship with minicnn, in the style of ``keras.datasets``.

``chest_xray``: all 5,856 pediatric chest X-rays of Kermany et al. (Cell 2018, CC BY 4.0) at
28x28 grayscale, with their official splits and file names (see ``chest_xray.py``)::

    from minicnn.datasets import chest_xray
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = chest_xray.load_data()
"""

from . import chest_xray

__all__ = ["chest_xray"]
