"""Everything between image files on disk and batches in ``fit``.

Loading (``folder.py``, ``decode.py``, ``arrays.py``, ``download.py``), the batch
dataset with cache, map, prefetch and subset (``dataset.py``, ``cache.py``),
augmentation (``augment.py``, ``jitter.py``, ``sharpness.py``) and leak-free splits (``splits.py``).

A typical pipeline::

    from minicnn import data
    ds = data.image_dataset_from_directory("scans/train", image_size=(224, 224),
                                           color_mode="grayscale", seed=0)
    ds = ds.cache("~/.cache/minicnn/images/")    # decode once; later runs reopen in ms
    train, val = ds.subset(train_idx), ds.subset(val_idx, shuffle=False)
    train = train.map(lambda x, y: (augment(x), y)).prefetch(2)
"""

from . import augment, equalize, jitter, sharpness, splits
from .arrays import array_dataset, load_medmnist, medmnist_dataset
from .dataset import AUTOTUNE, ArraySource, Dataset, FileSource
from .decode import IMAGE_EXTENSIONS, UnreadableImageError, decode_image, decode_many
from .download import DownloadError, download, file_md5, minicnn_home
from .folder import find_image_files, image_dataset_from_directory
from .augment import *  # noqa: F401,F403 - RandomRotation, RandomZoom, ... (see augment.__all__)
from .jitter import *  # noqa: F401,F403 - RandomTranslation, RandomResizedCrop, RandomBrightness
from .sharpness import *  # noqa: F401,F403 - RandomSharpness, gaussian_blur
from .splits import *  # noqa: F401,F403 - stratified group split, group ids, ... (splits.__all__)
from .equalize import *  # noqa: F401,F403 - equalize_histogram, clahe, HistogramEqualization, CLAHE

__all__ = [
    "AUTOTUNE", "ArraySource", "Dataset", "DownloadError", "FileSource", "IMAGE_EXTENSIONS",
    "UnreadableImageError", "array_dataset", "decode_image",
    "decode_many", "download", "file_md5", "find_image_files", "image_dataset_from_directory",
    "load_medmnist", "medmnist_dataset", "minicnn_home",
] + augment.__all__ + jitter.__all__ + sharpness.__all__ + splits.__all__ + equalize.__all__
