"""The fused inference block of each convolution of the original CNN, with and without Winograd.

For each Conv2D(3x3) -> ReLU -> MaxPool2D(2) block of the original CNN at 224x224 (batch 32,
float32), times ``minicnn.kernels.conv_relu_maxpool`` computing the convolution by im2col +
GEMM and by Winograd's F(2x2, 3x3), and prints the largest difference between the two
relative to the output's scale. This is what ``fused.WINOGRAD_MIN_CHANNELS`` is chosen by.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/winograd.py [--repeats 5] [--clock cpu]

Run it with PYTHONPATH set to the checkout to measure (else the installed minicnn runs).
"""

import argparse
import os
import time

import numpy as np

from minicnn.kernels import fused
from minicnn.kernels.window import Window

# (input size, input channels, filters) of the three blocks at 224x224x3.
BLOCKS = ((224, 3, 32), (111, 32, 64), (54, 64, 128))


def best_ms(fn, repeats, tick):
    fn()  # compiles, fills the buffers
    times = []
    for _ in range(repeats):
        start = tick()
        fn()
        times.append(tick() - start)
    return 1e3 * min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    args = parser.parse_args()
    tick = time.perf_counter if args.clock == "wall" else time.process_time
    chosen = fused.WINOGRAD_MIN_CHANNELS
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, float32, best of {args.repeats} ({args.clock} ms); load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'block input':<16}{'im2col':>10}{'winograd':>10}{'speed-up':>10}{'max diff':>12}")
    for size, c, f in BLOCKS:
        x = rng.uniform(0, 1, (args.batch, size, size, c)).astype(np.float32)
        weights = rng.uniform(-0.05, 0.05, (9 * c, f)).astype(np.float32)
        bias = rng.uniform(-0.01, 0.01, f).astype(np.float32)
        conv = Window.over((size, size), (3, 3), (1, 1), "valid")
        pool = Window.over((conv.out_h, conv.out_w), (2, 2), (2, 2), "valid")
        results, times = [], []
        for threshold in (None, 1):  # never Winograd, always Winograd
            fused.WINOGRAD_MIN_CHANNELS = threshold

            def run():
                return fused.conv_relu_maxpool.fast(x, weights, bias, conv, pool)

            times.append(best_ms(run, args.repeats, tick))
            results.append(run().copy())
        fused.WINOGRAD_MIN_CHANNELS = chosen
        diff = np.abs(results[0] - results[1]).max() / np.abs(results[0]).max()
        print(f"{f'{size}x{size}x{c}':<16}{times[0]:>10.1f}{times[1]:>10.1f}"
              f"{times[0] / times[1]:>9.2f}x{diff:>12.1e}")
    print(f"(the library uses Winograd from {chosen} input channels; "
          "max diff is relative to the largest output)")


if __name__ == "__main__":
    main()
