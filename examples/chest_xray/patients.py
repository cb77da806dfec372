"""The patient of a Kaggle chest X-ray file, read from its name: the key of every split.

Several films belong to one child, so the example splits by patient, never by image
(``minicnn.data.stratified_group_split`` does the splitting; this module only says who is
who). The Kaggle names carry the patient::

    person1000_virus_1681.jpeg, person1000_bacteria_2931.jpeg   -> person1000
    IM-0115-0001.jpeg                                           -> IM-0115
    NORMAL2-IM-0588-0001.jpeg                                   -> NORMAL2-IM-0588

(NORMAL2 numbers are a separate series from IM numbers, so the prefix stays.) A name in
neither pattern becomes its own group, its file stem, with a warning: it cannot leak with
another file, but it may hide a patient we cannot see.
"""

import os
import re
import warnings

from minicnn import data

# person1000_virus_1681.jpeg, person1000_bacteria_2931.jpeg, person447_virus_921_1.jpeg
_PERSON = re.compile(r"^(person\d+)_(?:bacteria|virus)_\d+(?:_\d+)*$", re.IGNORECASE)
# IM-0115-0001.jpeg, NORMAL2-IM-0588-0001.jpeg, IM-0011-0001-0002.jpeg
_NORMAL = re.compile(r"^((?:NORMAL2-)?IM-\d+)(?:-\d+)+$", re.IGNORECASE)

def _parse(path):
    """(patient id, recognised?) for one file name; the stem itself when not recognised."""
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    for pattern in (_PERSON, _NORMAL):
        match = pattern.match(stem)
        if match:
            return match.group(1), True
    return stem, False


def is_kaggle_name(path):
    """Whether the file name follows one of the Kaggle patterns (so its patient is known)."""
    return _parse(path)[1]


def patient_id(path):
    """The patient of one Kaggle chest X-ray file (see the module docstring); warns if unknown."""
    patient, recognised = _parse(path)
    if not recognised:
        warnings.warn(
            f"patient_id: {os.fspath(path)!r} is not a Kaggle chest X-ray name; "
            f"using its stem {patient!r} as its own patient",
            stacklevel=2,
        )
    return patient


def patient_ids(paths):
    """:func:`patient_id` of many files, with ONE warning for all unrecognised names.

    Returns an array of str, shape (N,), from ``minicnn.data.group_ids``.
    """
    paths = list(paths)
    unknown = [os.fspath(p) for p in paths if not is_kaggle_name(p)]
    if unknown:
        shown = ", ".join(repr(os.path.basename(u)) for u in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        warnings.warn(
            f"patient_ids: {len(unknown)} file name(s) not in the Kaggle patterns, "
            f"each made its own patient: {shown}{more}",
            stacklevel=2,
        )
    return data.group_ids(paths, lambda path: _parse(path)[0])
