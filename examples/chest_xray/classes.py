"""The two tasks of the example (``--task``): which classes, and how a film's class is known.

``binary``
    NORMAL 0, PNEUMONIA 1: the Kaggle class folders as they are.
``3class``
    NORMAL 0, BACTERIA 1, VIRUS 2. The folders say NORMAL or PNEUMONIA; the Kaggle file names
    of the pneumonia films also say which kind (``person1_bacteria_1.jpeg``,
    ``person1_virus_6.jpeg``), the second task of Kermany et al. (2018). Every PNEUMONIA file of
    the official set names exactly one of the two and no NORMAL file names either, so a file
    that breaks this rule is an error (a ValueError naming it, which ``data.py`` turns into
the script's clear exit), never a guess.

The patients are unchanged by the task: one child may have a bacterial film in train/ and a
viral one in test/ (``person1``), and is still one patient (``patients.py``).
"""

import numpy as np

from minicnn.datasets import chest_xray as embedded_set
from minicnn.datasets.chest_xray import CLASS_NAMES  # binary and 3class, as the embedded set names them

TASKS = ("binary", "3class")
#: How the report and the console say a 3-class name: (the children of the class, the call).
WORDS = {"NORMAL": ("healthy children", "normal"),
         "BACTERIA": ("children with bacterial pneumonia", "bacterial pneumonia"),
         "VIRUS": ("children with viral pneumonia", "viral pneumonia")}


def words(name):
    """(the children of class ``name``, what calling it is) in words; the name itself if unknown."""
    return WORDS.get(name, (f"children of class {name}", name))


def num_classes(task):
    """How many classes ``task`` has (2 or 3)."""
    return len(CLASS_NAMES[task])


def three_class_label(path, in_pneumonia_folder):
    """NORMAL 0, BACTERIA 1 or VIRUS 2 for one Kaggle file; ValueError naming it if unclear.

    ``in_pneumonia_folder``: whether the file came from a PNEUMONIA folder (else NORMAL).
    The rule is the embedded set's (``minicnn.datasets.chest_xray.three_class_label``); the
    error adds what to do here.
    """
    try:
        return embedded_set.three_class_label(path, in_pneumonia_folder)
    except ValueError as error:
        raise ValueError(f"{error}; --task 3class reads the kind of pneumonia from the Kaggle "
                         "name (personN_bacteria_M.jpeg or personN_virus_M.jpeg in PNEUMONIA/, "
                         "neither in NORMAL/): rename or move it, remove it, or run with "
                         "--task binary (which reads only the folders)") from None


def three_class_labels(paths, binary_labels, binary_names):
    """:func:`three_class_label` of every file, shape (N,) int64.

    ``binary_labels`` index ``binary_names``, which must be NORMAL and PNEUMONIA.
    """
    if list(binary_names) != CLASS_NAMES["binary"]:
        raise ValueError(f"--task 3class needs the class folders NORMAL and PNEUMONIA; found "
                        f"{list(binary_names)}")
    pneumonia = np.asarray(binary_labels).reshape(-1) == 1
    return np.array([three_class_label(p, s) for p, s in zip(paths, pneumonia)], dtype=np.int64)


def as_three_classes(ds):
    """The Kaggle dataset ``ds`` (NORMAL / PNEUMONIA) with the 3-class labels, integer-shaped."""
    labels = three_class_labels(ds.file_paths, ds.labels, ds.class_names)
    return ds.with_labels(labels, CLASS_NAMES["3class"], label_mode="int")
