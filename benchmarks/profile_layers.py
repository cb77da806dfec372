"""Per-layer forward/backward times of the original CNN, and where the time goes.

The model (224x224x3, batch 32, float32):
Conv2D(32,3) ReLU MaxPool2D(2) Conv2D(64,3) ReLU MaxPool2D(2) Conv2D(128,3) ReLU MaxPool2D(2)
Flatten Dense(128) ReLU Dropout(0.5) Dense(1)

Run:  python benchmarks/profile_layers.py [--batch 32] [--repeats 5] [--clock cpu] [--json out.json]

Prints the median over ``--repeats`` steps (after ``--warmup`` untimed steps that compile
the Numba kernels and fill the reusable buffers) of each layer's forward and backward
time, then the share of the step spent in each kind of work. The im2col and col2im
calls are timed where Conv2D really makes them (the functions are wrapped while the
profile runs: ``kernels.im2col.fast`` and the col2im loop inside ``col2im_matmul``), so "GEMM" is the rest of the convolutions' and Dense layers' time: the
matrix products plus a bias add and a few reshapes.

``--clock cpu`` uses ``time.process_time`` (CPU time of all threads of this process):
with ``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` it barely moves when other programs
load the machine, which makes it the measure to compare code changes by.
"""

import argparse
import importlib
import json
import os
import resource
import sys
import time

import numba
import numpy as np

from minicnn import kernels

# The module (the package re-exports a function of the same name).
im2col_module = importlib.import_module("minicnn.kernels.im2col")

# The models live beside the example that trains them (examples/chest_xray/models.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from chest_xray.models import original_cnn  # noqa: E402


class _Timed:
    """Wrap a function, adding its run time to ``total`` (used for im2col/col2im)."""

    def __init__(self, fn, clock):
        self.fn, self.clock, self.total = fn, clock, 0.0

    def __call__(self, *args, **kwargs):
        start = self.clock()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.total += self.clock() - start


def profile(batch=32, repeats=5, warmup=2, clock="wall", size=224, channels=3):
    """Run the profile; returns a dict of medians in milliseconds (see ``format_profile``)."""
    tick = time.perf_counter if clock == "wall" else time.process_time
    rng = np.random.default_rng(0)
    # The layers of the model the example trains, built by Sequential (first layer: no dx).
    layers = original_cnn((size, size, channels), seed=0).layers
    x0 = rng.standard_normal((batch, size, size, channels), dtype=np.float32)
    timed_im2col = _Timed(kernels.im2col.fast, tick)
    timed_col2im = _Timed(im2col_module.col2im_numba, tick)
    fwd = [[] for _ in layers]
    bwd = [[] for _ in layers]
    steps, im2col_ms, col2im_ms = [], [], []
    real = kernels.im2col.fast, im2col_module.col2im_numba
    kernels.im2col.fast, im2col_module.col2im_numba = timed_im2col, timed_col2im
    try:
        for _ in range(repeats + warmup):
            timed_im2col.total = timed_col2im.total = 0.0
            t_step = tick()
            x = x0
            for i, layer in enumerate(layers):
                t = tick()
                x = layer.forward(x, training=True)
                fwd[i].append(tick() - t)
                assert x.dtype == np.float32, f"float32 leak: {layer.name} gave {x.dtype}"
            g = np.ones_like(x) / x.shape[0]
            for i in reversed(range(len(layers))):
                t = tick()
                g = layers[i].backward(g)
                bwd[i].append(tick() - t)
                assert g is None or g.dtype == np.float32, f"float32 leak: {layers[i].name}"
            steps.append(tick() - t_step)
            im2col_ms.append(timed_im2col.total)
            col2im_ms.append(timed_col2im.total)
    finally:
        kernels.im2col.fast, im2col_module.col2im_numba = real

    def med(values):
        return 1e3 * float(np.median(values[warmup:]))

    rows = [{"layer": layer.name, "kind": type(layer).__name__, "output": list(layer.output_shape),
             "forward_ms": med(f), "backward_ms": med(b)} for layer, f, b in zip(layers, fwd, bwd)]
    by_kind = {}
    for row in rows:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0.0) + row["forward_ms"] + row["backward_ms"]
    im2col_total, col2im_total = med(im2col_ms), med(col2im_ms)
    if im2col_total == 0 and col2im_total == 0:
        # Convolutions in bands (minicnn.kernels.conv): im2col, GEMM and col2im of each band
        # run one after the other inside a lane, so they are counted together.
        shares = {
            "convolutions (im2col + GEMM + col2im in bands)": by_kind.get("Conv2D", 0),
            "GEMM (dense)": by_kind.get("Dense", 0),
            "max-pool": by_kind.get("MaxPool2D", 0),
            "ReLU": by_kind.get("ReLU", 0),
            "other (flatten, dropout)": by_kind.get("Flatten", 0) + by_kind.get("Dropout", 0),
        }
    else:
        shares = {
            "GEMM (conv + dense, rest of their time)":
                by_kind.get("Conv2D", 0) + by_kind.get("Dense", 0) - im2col_total - col2im_total,
            "im2col": im2col_total,
            "col2im": col2im_total,
            "max-pool": by_kind.get("MaxPool2D", 0),
            "ReLU": by_kind.get("ReLU", 0),
            "other (flatten, dropout)": by_kind.get("Flatten", 0) + by_kind.get("Dropout", 0),
        }
    return {
        "batch": batch, "size": size, "channels": channels, "clock": clock, "repeats": repeats,
        "layers": rows,
        "step_ms": med(steps), "shares_ms": shares,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "numba_threads": numba.get_num_threads(), "load_average": os.getloadavg()[0],
    }


def format_profile(p):
    size = p["size"]
    lines = [f"batch {p['batch']}, {size}x{size}x{p.get('channels', 3)} float32, median of {p['repeats']} steps "
             f"({p['clock']} ms, no optimizer step)",
             f"{'layer':<14}{'output':>18}{'forward':>10}{'backward':>10}"]
    for row in p["layers"]:
        lines.append(f"{row['layer']:<14}{str(tuple(row['output'])):>18}"
                     f"{row['forward_ms']:>10.1f}{row['backward_ms']:>10.1f}")
    total_f = sum(r["forward_ms"] for r in p["layers"])
    total_b = sum(r["backward_ms"] for r in p["layers"])
    lines.append(f"{'total':<32}{total_f:>10.1f}{total_b:>10.1f}")
    step = p["step_ms"]
    lines.append(f"forward+backward per step: {step:.0f} ms = {1e3 * p['batch'] / step:.1f} images/s")
    lines.append("where the time goes:")
    accounted = sum(p["shares_ms"].values())
    for name, ms in p["shares_ms"].items():
        lines.append(f"  {name:<42}{ms:>8.1f} ms {100 * ms / accounted:>5.1f}%")
    lines.append(f"peak resident memory {p['peak_mb']:.0f} MB; numba threads {p['numba_threads']}, "
                 f"load average {p['load_average']:.1f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--channels", type=int, default=3, help="3: RGB, 1: grayscale")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed steps first: Numba compiles, buffers and the heap settle")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, the CPU time of all "
                             "threads of this process (robust to other load when run single-threaded)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-': stdout only)")
    args = parser.parse_args()
    result = profile(args.batch, args.repeats, args.warmup, args.clock, args.size, args.channels)
    if args.json == "-":
        print(json.dumps(result))
        return
    print(format_profile(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
