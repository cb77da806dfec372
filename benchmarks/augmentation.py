"""Augmentation throughput: images per second at 224x224, batch 32, 1 and 3 channels.

Run:  python benchmarks/augmentation.py [--runs 7] [--batch 32] [--size 224] [--threads N]
                                         [--reference] [--json]

Stages timed on the same random float32 batch in [0, 255]:

* ``warp``: RandomRotation(0.1) + RandomZoom(0.1), fused into one bilinear warp
  (reflect fill), the Numba kernel parallel over the images of the batch;
* ``pipeline``: the same plus RandomContrast(0.1), the original project's augmentation;
* ``reference`` (with ``--reference``): the warp done by the NumPy reference instead.

Each figure is the median of ``--runs`` timed calls after one warm-up call (which compiles
or loads the cached Numba kernel). ``cpu_images_per_s`` divides by the process CPU time
instead of wall time: on a machine shared with other jobs it shows what the code costs,
while wall time shows what this run got. The load average is printed alongside.
"""

import argparse
import json
import os
import time

import numba
import numpy as np

from minicnn.data.augment import Augmenter, RandomContrast, RandomRotation, RandomZoom
from minicnn.kernels.warp import affine_warp_reference


def timed(fn, runs):
    fn()  # warm-up: JIT compile / cache load, first-touch of buffers
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def reference_warp(augmenter):
    """The same draws as ``augmenter``'s fused warp, sampled by the NumPy reference."""
    def run(x):
        n, h, w, _ = x.shape
        m = np.tile(np.eye(3), (n, 1, 1))
        for layer in augmenter.layers:
            m = m @ layer.draw_matrices(n, h, w)
        return affine_warp_reference(x, m[:, :2], "reflect", "bilinear")
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    parser.add_argument("--reference", action="store_true", help="also time the NumPy reference")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    results = []
    for channels in (1, 3):
        x = (rng.random((args.batch, args.size, args.size, channels)) * 255).astype(np.float32)
        warp = Augmenter([RandomRotation(0.1), RandomZoom(0.1)], seed=0)
        pipeline = Augmenter([RandomRotation(0.1), RandomZoom(0.1), RandomContrast(0.1)], seed=0)
        stages = [("warp", lambda: warp(x)), ("pipeline", lambda: pipeline(x))]
        if args.reference:
            ref = reference_warp(Augmenter([RandomRotation(0.1), RandomZoom(0.1)], seed=0))
            stages.append(("reference", lambda: ref(x)))
        for stage, fn in stages:
            wall, cpu = timed(fn, max(1, args.runs if stage != "reference" else min(args.runs, 3)))
            results.append({
                "stage": stage, "channels": channels,
                "ms_per_batch": 1e3 * wall,
                "images_per_s": args.batch / wall,
                "cpu_images_per_s": args.batch / cpu if cpu > 0 else float("nan"),
            })

    report = {
        "batch": args.batch, "size": args.size, "runs": args.runs,
        "numba_threads": numba.get_num_threads(), "cpus": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2), "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"augmentation at {args.size}x{args.size}, batch {args.batch}, "
          f"{report['numba_threads']} Numba threads on {report['cpus']} CPUs, "
          f"median of {args.runs} runs, load average {report['loadavg_1min']}")
    print(f"{'stage':<10} {'C':>2} {'ms/batch':>9} {'images/s':>9} {'images/CPU-s':>13}")
    for r in results:
        print(f"{r['stage']:<10} {r['channels']:>2} {r['ms_per_batch']:>9.1f} "
              f"{r['images_per_s']:>9.0f} {r['cpu_images_per_s']:>13.0f}")


if __name__ == "__main__":
    main()
