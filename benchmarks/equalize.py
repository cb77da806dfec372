"""CLAHE and global histogram equalization throughput: images per second, Numba kernel and NumPy reference.

Run:  OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/equalize.py
          [--sizes 128 224] [--batch 32] [--runs 5] [--global] [--data DIR] [--json]

Each size times ``clahe`` (default settings: clip_limit 0.01, tiles of 1/8 of each side,
256 bins) on a batch of single-channel float32 images in [0, 255], through the Numba
kernel and through the NumPy reference (``MINICNN_KERNELS=numpy`` chooses the same
function); ``--global`` adds ``equalize_histogram``. The images are real chest X-rays
decoded with ``minicnn.data.decode_image`` when ``--data`` (or ``MINICNN_DATA``) points at
the chest_xray folder, random noise otherwise (the cost barely depends on the content).

Each figure is the median of ``--runs`` timed calls after one warm-up call (which compiles
or loads the cached kernel). ``images/CPU-s`` divides by the process CPU time instead of
wall time: on a machine shared with other jobs it shows what the code costs, while wall
time shows what this run got. The load average is printed alongside.
"""

import argparse
import json
import os
import pathlib
import time

import numba
import numpy as np

from minicnn.data import decode_image
from minicnn.data import equalize as eq


def timed(fn, runs):
    fn()  # warm-up: JIT compile or cache load
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def batch_of(size, n, data):
    """(n, size, size, 1) float32: chest X-rays from ``data`` if given, else uniform noise."""
    if data:
        files = sorted(pathlib.Path(data, "train", "PNEUMONIA").glob("*.jpeg"))[: n // 2]
        files += sorted(pathlib.Path(data, "train", "NORMAL").glob("*.jpeg"))[: n - len(files)]
        if len(files) == n:
            return np.stack([decode_image(f, (size, size), "grayscale") for f in files]).astype(np.float32)
    return (np.random.default_rng(0).random((n, size, size, 1)) * 255).astype(np.float32)


def stages(x, with_global):
    """(name, implementation, callable) for each thing to time."""
    kh, kw = x.shape[1] // 8, x.shape[2] // 8                    # clahe's defaults, as it derives them
    clahe_args = (kh, kw, max(int(0.01 * kh * kw), 1), 256, 0.0, 255.0)

    def clahe_call(kernel):
        return lambda: kernel(x, *clahe_args)
    out = [("clahe", "numba", clahe_call(eq.clahe_numba)),
           ("clahe", "reference", clahe_call(eq.clahe_reference))]
    if with_global:
        out += [("equalize_histogram", "numba", lambda: eq.equalize_histogram_numba(x, 0.0, 255.0, 256)),
                ("equalize_histogram", "reference",
                 lambda: eq.equalize_histogram_reference(x, 0.0, 255.0, 256))]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--global", dest="with_global", action="store_true",
                        help="also time equalize_histogram")
    parser.add_argument("--data", default=os.environ.get("MINICNN_DATA"),
                        help="chest_xray folder (default: $MINICNN_DATA; noise if unset)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    results = []
    for size in args.sizes:
        x = batch_of(size, args.batch, args.data)
        for function, implementation, fn in stages(x, args.with_global):
            wall, cpu = timed(fn, args.runs)
            results.append({"function": function, "implementation": implementation, "size": size,
                            "ms_per_batch": 1e3 * wall, "images_per_s": args.batch / wall,
                            "cpu_images_per_s": args.batch / cpu if cpu > 0 else float("nan")})

    report = {"batch": args.batch, "runs": args.runs, "images": "chest X-rays" if args.data else "noise",
              "numba_threads": numba.get_num_threads(), "cpus": os.cpu_count(),
              "loadavg_1min": round(os.getloadavg()[0], 2), "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"batch {args.batch} of {report['images']}, 1 channel, {report['numba_threads']} Numba threads "
          f"on {report['cpus']} CPUs, median of {args.runs} runs, load average {report['loadavg_1min']}")
    print(f"{'function':<19} {'implementation':<15} {'size':>5} {'ms/batch':>9} {'images/s':>9} "
          f"{'images/CPU-s':>13}")
    for r in results:
        print(f"{r['function']:<19} {r['implementation']:<15} {r['size']:>5} {r['ms_per_batch']:>9.1f} "
              f"{r['images_per_s']:>9.0f} {r['cpu_images_per_s']:>13.0f}")


if __name__ == "__main__":
    main()
