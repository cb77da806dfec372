"""PneumoniaMNIST (Yang et al., MedMNIST v2, CC BY 4.0): the example's data when no folder is found.

The published files live on Zenodo at 28, 64, 128 and 224 pixels; :func:`fetch` downloads
one with ``minicnn.data.download`` (once, checked against its md5) and returns its path,
which ``minicnn.data.medmnist_dataset`` reads with :data:`CLASS_NAMES`.
"""

import os

from minicnn import data

#: Label 0 and 1, in the order of the Kaggle class folders.
CLASS_NAMES = ["NORMAL", "PNEUMONIA"]

#: md5 of the published files (MedMNIST v2, Zenodo record 10519652), by size in pixels.
MD5 = {
    28: "28209eda62fecd6e6a2d98b1501bb15f",
    64: "8f4eceb4ccffa70c672198ea285246c6",
    128: "05b46931834c231683c68f40c47b2971",
    224: "d6a3c71de1b945ea11211b03746c1fe1",
}
URL = "https://zenodo.org/records/10519652/files/{name}?download=1"


def file_name(size):
    """``pneumoniamnist.npz`` at 28 pixels, ``pneumoniamnist_SIZE.npz`` otherwise."""
    return "pneumoniamnist.npz" if size == 28 else f"pneumoniamnist_{size}.npz"


def is_pneumoniamnist(path):
    """Whether a ``.npz`` path is named like a PneumoniaMNIST file (then its classes are known)."""
    return os.path.basename(os.fspath(path)).startswith("pneumoniamnist")


def fetch(size=224, cache_dir=None, verbose=True):
    """Path of the PneumoniaMNIST file at ``size`` pixels in ``cache_dir``, downloaded if needed.

    Raises ValueError for a size that was not published, ``minicnn.data.DownloadError`` when
    the download fails (nothing is left behind).
    """
    if size not in MD5:
        raise ValueError(f"PneumoniaMNIST comes in sizes {sorted(MD5)}; got {size!r}")
    name = file_name(size)
    return data.download(URL.format(name=name), MD5[size], filename=name,
                         cache_dir=cache_dir, verbose=verbose)
