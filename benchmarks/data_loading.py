"""How fast minicnn gets chest X-rays from JPEG files into uint8 arrays.

Two measurements, each the median of ``--runs`` runs:

1. Decode + resize throughput (images/s) on the full-resolution originals
   (``chest_xray_originals``: 201 X-rays, 469 to 2,772 px wide) at ``--size``, for
   grayscale and rgb, with and without JPEG draft decoding, in 1 thread and in all
   threads (``MINICNN_DECODE_THREADS`` or the CPU count).
2. Loading all 5,856 images of ``chest_xray/{train,val,test}`` (224 px JPEGs): the first
   load (scan + decode + write a memory-mapped cache: ``ds.cache(dir)`` on a new
   directory), the in-memory ``ds.cache()``, and the cached load of a later run (scan +
   reopen the cache). Plus one pass over the cached training set in batches of 32.

The image files themselves are in the operating system's page cache after the first run,
so "first load" means "first decode", not "cold disk".

    python benchmarks/data_loading.py                 # table
    python benchmarks/data_loading.py --json          # also JSON on stdout (--json FILE to save)
    python benchmarks/data_loading.py --runs 5 --data /path/to/chest_xray
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from minicnn.data import decode_many, image_dataset_from_directory  # noqa: E402
from minicnn.data.decode import decode_workers  # noqa: E402


def median_time(fn, runs):
    """Median wall time and median CPU time (all threads of this process) of ``fn()``.

    CPU time per image is the figure to trust on a busy machine: other processes
    stretch the wall time but not the work our threads do.
    """
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def bench_decode(originals, size, runs):
    files = sorted(glob.glob(os.path.join(originals, "*", "*", "*.jpeg")))
    if not files:
        raise SystemExit(f"no JPEG files under {originals}")
    results = []
    for color_mode in ("grayscale", "rgb"):
        channels = 1 if color_mode == "grayscale" else 3
        out = np.empty((len(files), size, size, channels), dtype=np.uint8)
        for draft in (False, True):
            for workers in sorted({1, decode_workers()}):
                seconds, cpu = median_time(lambda: decode_many(files, out, (size, size), color_mode,
                                                               draft=draft, workers=workers), runs)
                results.append({"color_mode": color_mode, "draft": draft, "threads": workers,
                                "images": len(files), "seconds": round(seconds, 3),
                                "images_per_s": round(len(files) / seconds, 1),
                                "cpu_ms_per_image": round(1000 * cpu / len(files), 2)})
    return results


def bench_full_load(data, size, color_mode, runs):
    splits = [os.path.join(data, s) for s in ("train", "val", "test")]

    def scan():
        return [image_dataset_from_directory(s, image_size=(size, size), color_mode=color_mode,
                                             seed=0, verbose=False) for s in splits]

    cache_root = tempfile.mkdtemp(prefix="minicnn-bench-")
    try:
        def first_load():
            folder = tempfile.mkdtemp(dir=cache_root)
            datasets = [ds.cache(folder, verbose=False) for ds in scan()]
            assert all(ds.cache_status == "built" for ds in datasets)
            return folder

        first, first_cpu = median_time(first_load, runs)
        memory, _ = median_time(lambda: [ds.cache(verbose=False) for ds in scan()], runs)
        folder = first_load()
        cached, _ = median_time(lambda: [ds.cache(folder, verbose=False) for ds in scan()], runs)
        scan_only, _ = median_time(scan, runs)
        datasets = [ds.cache(folder, verbose=False) for ds in scan()]
        assert all(ds.cache_status == "opened" for ds in datasets)
        n = sum(ds.num_examples for ds in datasets)
        epoch, _ = median_time(lambda: [None for _ in datasets[0]], runs)
        return {"color_mode": color_mode, "images": n, "image_size": size,
                "first_load_s": round(first, 2), "first_load_images_per_s": round(n / first, 1),
                "first_load_cpu_ms_per_image": round(1000 * first_cpu / n, 3),
                "in_memory_cache_s": round(memory, 2),
                "cached_load_s": round(cached, 3), "of_which_scan_s": round(scan_only, 3),
                "train_epoch_from_cache_s": round(epoch, 3),
                "train_batches": len(datasets[0])}
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("MINICNN_DATA"),
                        help="chest_xray folder (default $MINICNN_DATA)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", nargs="?", const="-", default=None,
                        help="print JSON (to FILE if given)")
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set MINICNN_DATA to the chest_xray folder")
    data = os.path.abspath(args.data)
    originals = os.path.join(os.path.dirname(data), "chest_xray_originals")

    report = {"cpus": os.cpu_count(), "decode_threads": decode_workers(),
              "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
              "runs": args.runs, "decode_originals": bench_decode(originals, args.size, args.runs),
              "full_load": [bench_full_load(data, args.size, m, args.runs)
                            for m in ("grayscale", "rgb")]}
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]

    print(f"{report['cpus']} CPUs, {report['decode_threads']} decode threads, load average "
          f"{report['load_average_at_start'][0]} -> {report['load_average_at_end'][0]}; "
          f"median of {args.runs} runs")
    print(f"\nDecode + resize to {args.size}x{args.size}, full-size originals:")
    print(f"  {'color':<10}{'draft':<7}{'threads':>8}{'images/s':>10}{'CPU ms/image':>14}")
    for r in report["decode_originals"]:
        print(f"  {r['color_mode']:<10}{str(r['draft']):<7}{r['threads']:>8}{r['images_per_s']:>10.1f}"
              f"{r['cpu_ms_per_image']:>14.2f}")
    for r in report["full_load"]:
        print(f"\nAll {r['images']} images of chest_xray at {args.size}x{args.size}, {r['color_mode']}:")
        print(f"  first load (decode + write cache) {r['first_load_s']:7.2f} s  "
              f"({r['first_load_images_per_s']:.0f} images/s, "
              f"{r['first_load_cpu_ms_per_image']:.2f} CPU ms/image)")
        print(f"  in-memory cache()                 {r['in_memory_cache_s']:7.2f} s")
        print(f"  cached load (scan + open cache)   {r['cached_load_s']:7.3f} s  "
              f"(of which the folder scan {r['of_which_scan_s']:.3f} s)")
        print(f"  one epoch of train/ from cache    {r['train_epoch_from_cache_s']:7.3f} s  "
              f"({r['train_batches']} batches)")
    if args.json:
        text = json.dumps(report, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    main()
