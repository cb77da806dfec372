"""Per-layer forward/backward times of the original CNN, and where a conv's time goes.

The model (224x224x3, batch 32, float32):
Conv2D(32,3) ReLU MaxPool2D(2) Conv2D(64,3) ReLU MaxPool2D(2) Conv2D(128,3) ReLU MaxPool2D(2)
Flatten Dense(128) ReLU Dropout(0.5) Dense(1)

Run:  python benchmarks/profile_layers.py [--batch 32] [--repeats 5]

Prints the median over ``--repeats`` steps (after ``--warmup`` untimed steps that compile
the Numba kernels and allocate the reusable buffers) of each layer's forward and backward
time, then for each Conv2D the time of its im2col and col2im kernels alone on the same
shapes, so the GEMM share is the rest.
"""

import argparse
import resource
import time

import os

import numba
import numpy as np

from minicnn.kernels.im2col import col2im, im2col
from minicnn.kernels.pooling import maxpool_backward, maxpool_forward
from minicnn.layers.activations import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.layers.dropout import Dropout
from minicnn.layers.pooling import MaxPool2D


def build_model(batch, rng):
    layers = [
        Conv2D(32, 3), ReLU(), MaxPool2D(2),
        Conv2D(64, 3), ReLU(), MaxPool2D(2),
        Conv2D(128, 3), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128), ReLU(), Dropout(0.5, seed=0), Dense(1),
    ]
    shape = (224, 224, 3)
    for layer in layers:
        layer.build(shape, rng=rng, dtype=np.float32)
        shape = layer.output_shape
    layers[0].needs_input_grad = False  # as Sequential does for the first layer
    return layers


def median_ms(times):
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed steps first: Numba compiles, buffers and the heap settle")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, the CPU time of all "
                             "threads of this process (robust to other load when run single-threaded)")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    rng = np.random.default_rng(0)
    layers = build_model(args.batch, rng)
    x0 = rng.standard_normal((args.batch, 224, 224, 3), dtype=np.float32)
    fwd = [[] for _ in layers]
    bwd = [[] for _ in layers]
    steps = []
    for step in range(args.repeats + args.warmup):
        t_step = clock()
        x = x0
        for i, layer in enumerate(layers):
            t = clock()
            x = layer.forward(x, training=True)
            fwd[i].append(clock() - t)
        g = np.ones_like(x) / x.shape[0]
        for i in reversed(range(len(layers))):
            t = clock()
            g = layers[i].backward(g)
            bwd[i].append(clock() - t)
        steps.append(clock() - t_step)
        assert x.dtype == np.float32, f"float32 leak: output is {x.dtype}"
    # Drop the warm-up steps.
    fwd = [f[args.warmup:] for f in fwd]
    bwd = [b[args.warmup:] for b in bwd]
    steps = steps[args.warmup:]

    print(f"batch {args.batch}, 224x224x3 float32, median of {args.repeats} steps ({args.clock} ms)")
    print(f"{'layer':<28}{'output':>18}{'forward':>10}{'backward':>10}")
    for layer, f, b in zip(layers, fwd, bwd):
        desc = repr(layer) if len(repr(layer)) < 27 else type(layer).__name__
        print(f"{desc:<28}{str(layer.output_shape):>18}{median_ms(f):>10.1f}{median_ms(b):>10.1f}")
    total_f = sum(median_ms(f) for f in fwd)
    total_b = sum(median_ms(b) for b in bwd)
    print(f"{'total':<46}{total_f:>10.1f}{total_b:>10.1f}")
    step = median_ms(steps)
    print(f"forward+backward per step: {step:.0f} ms = {1e3 * args.batch / step:.1f} images/s "
          "(no optimizer step)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory of this process: {peak_mb:.0f} MB; "
          f"numba threads {numba.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")

    # Kernel-only times for each Conv2D (what is not GEMM).
    print("\nConv2D kernels alone (ms): im2col (forward), col2im (backward)")
    shape = (args.batch, 224, 224, 3)
    for layer in layers:
        if isinstance(layer, Conv2D):
            out_h, out_w, pt, pl = layer._geom
            (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
            x = rng.standard_normal(shape, dtype=np.float32)
            cols = np.empty((shape[0] * out_h * out_w, kh * kw * shape[3]), np.float32)
            ti, tc = [], []
            for _ in range(args.repeats):
                t = clock()
                im2col(x, kh, kw, sh, sw, pt, pl, out_h, out_w, out=cols)
                ti.append(clock() - t)
                t = clock()
                col2im(cols, shape, kh, kw, sh, sw, pt, pl, out_h, out_w, out=x)
                tc.append(clock() - t)
            print(f"  {layer.name:<10} in {shape[1:]}  cols {cols.shape}: "
                  f"im2col {median_ms(ti):.1f}  col2im {median_ms(tc):.1f}")
        shape = (shape[0],) + tuple(layer.output_shape)


if __name__ == "__main__":
    main()
