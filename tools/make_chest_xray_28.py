"""Build ``minicnn/datasets/chest_xray_28.npz`` from a Kaggle-layout chest X-ray folder.

    python tools/make_chest_xray_28.py path/to/chest_xray [--out PATH]

The folder is the Kaggle "Chest X-Ray Images (Pneumonia)" set (Kermany et al., Cell 2018,
CC BY 4.0; ``paultimothymooney/chest-xray-pneumonia``; Mendeley Data "ZhangLabData"), laid out as
``{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg`` (in the Kaggle zip that is the inner
``chest_xray/`` folder, not ``__MACOSX/``). Every one of the 5,856 images must be there: the
counts are checked before anything is written.

What it does, in a fixed order (split train, val, test; class NORMAL, PNEUMONIA; file names
sorted), so that the same folder always gives the same arrays:

1. Decode each JPEG with Pillow and convert it to grayscale (``"L"``: the ITU-R 601 luma of an
   RGB file, the identity for the equal-channel files).
2. Resize the whole image to 28x28 with Pillow's BOX filter (area averaging). Why BOX: each
   output pixel is the mean of the source pixels it covers, which removes the detail that 28 px
   cannot hold (antialiasing) without the overshoot and ringing of Lanczos or bicubic at the
   edges of ribs and the diaphragm; for a 224x224 source it is the mean of each 8x8 block (to
   within one grey level: Pillow works in two passes, each rounded to 8 bits). No crop (see ``minicnn/datasets/chest_xray.py`` for how this differs from MedMNIST).
3. Hash each file's bytes (SHA-256) to number the groups of byte-identical files.
4. Write the arrays with ``np.savez_compressed`` (to a temporary file, then renamed, so a failed
   run never leaves half a file) and print their checksum next to
   ``minicnn.datasets.chest_xray.ARRAYS_SHA256``.

The packaged file was built from a copy of the set in which every image had been resized to
224x224 (a squash, aspect ratio not kept). Built from the original full-size files, the
pixels differ slightly (one resize instead of two, no extra JPEG round trip), and so does
the checksum: the script says so, and ``load_data(path=..., sha256=None)`` reads such a file.
"""

import argparse
import hashlib
import os
import sys

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # this checkout's minicnn, even if another one is installed

from minicnn.datasets import chest_xray  # noqa: E402

CLASSES = chest_xray.CLASS_NAMES["binary"]


def list_files(folder):
    """{split: [(class index, file name, full path), ...]} in the fixed order; checks the counts."""
    found, problems = {}, []
    for split in chest_xray.SPLITS:
        rows = []
        for label, name in enumerate(CLASSES):
            sub = os.path.join(folder, split, name)
            if not os.path.isdir(sub):
                problems.append(f"{sub} is not a folder")
                continue
            files = sorted(f for f in os.listdir(sub) if f.lower().endswith(".jpeg"))
            if len(files) != chest_xray.COUNTS[split][label]:
                problems.append(f"{sub} has {len(files)} .jpeg files, the official set "
                                f"{chest_xray.COUNTS[split][label]}")
            rows += [(label, f, os.path.join(sub, f)) for f in files]
        found[split] = rows
    if problems:
        raise SystemExit(f"{folder!r} is not the complete Kaggle chest X-ray folder "
                         f"({{train,val,test}}/{{NORMAL,PNEUMONIA}}/*.jpeg):\n  "
                         + "\n  ".join(problems))
    return found


def image_28(path):
    """One file as uint8 (28, 28): grayscale, then BOX (area-average) resize of the whole image."""
    with Image.open(path) as image:
        grey = image.convert("L")
    small = grey.resize(chest_xray.IMAGE_SIZE[::-1], resample=Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_arrays(folder):
    """All arrays of the .npz (the layout of ``minicnn/datasets/chest_xray.py``) from ``folder``."""
    found = list_files(folder)
    arrays, group_of_hash, hashes = {}, {}, {}
    for split, rows in found.items():
        hashes[split] = [file_sha256(path) for _, _, path in rows]
    # A hash seen in two or more files gets a group number, in order of its first file.
    counts = {}
    for split in chest_xray.SPLITS:
        for h in hashes[split]:
            counts[h] = counts.get(h, 0) + 1
    for split, rows in found.items():
        arrays[f"{split}_images"] = np.stack([image_28(path) for _, _, path in rows])
        arrays[f"{split}_labels"] = np.array([[label] for label, _, _ in rows], dtype=np.uint8)
        arrays[f"{split}_names"] = np.array([name for _, name, _ in rows], dtype=str)
        groups = []
        for h in hashes[split]:
            if counts[h] > 1:
                group_of_hash.setdefault(h, len(group_of_hash))
            groups.append(group_of_hash.get(h, -1))
        arrays[f"{split}_duplicate_groups"] = np.array(groups, dtype=np.int16)
    return arrays


def write_npz(arrays, out):
    """``np.savez_compressed`` into ``out`` through a temporary file in the same folder."""
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(out)}.{os.getpid()}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="Kaggle-layout folder: {train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg")
    parser.add_argument("--out", default=chest_xray.DATA_PATH,
                        help="where to write the .npz (default: the packaged file, %(default)s)")
    args = parser.parse_args(argv)
    arrays = build_arrays(args.folder)
    write_npz(arrays, args.out)
    digest = chest_xray.arrays_sha256(arrays)
    n = sum(len(arrays[f"{s}_names"]) for s in chest_xray.SPLITS)
    groups = len({g for s in chest_xray.SPLITS for g in arrays[f"{s}_duplicate_groups"].tolist()} - {-1})
    print(f"wrote {args.out}: {n} images, {groups} groups of byte-identical files, "
          f"{os.path.getsize(args.out) / 1e6:.2f} MB")
    print(f"arrays sha256 {digest}")
    if digest == chest_xray.ARRAYS_SHA256:
        print("= chest_xray.ARRAYS_SHA256: the same arrays as the packaged file")
    else:
        print(f"differs from chest_xray.ARRAYS_SHA256 ({chest_xray.ARRAYS_SHA256}): expected for "
              f"another source folder (e.g. the full-size originals); read it with "
              f"load_data(path=..., sha256=None), or put the new checksum in the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
