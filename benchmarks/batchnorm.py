"""Batch normalisation: Numba kernels against the NumPy references, and what the batchnorm
model's training step costs beside the original model's.

Run:  python benchmarks/batchnorm.py [--batch 32] [--size 224] [--repeats 5] [--json out.json]

Part 1 times one BatchNormalization forward + backward (training mode) at the input shape
of each BatchNormalization layer of ``batchnorm_cnn``, with the Numba kernels and
with the NumPy references (``minicnn.kernels.backend.KERNELS``), side by side.
Part 2 times whole training steps (``train_on_batch``: forward, backward, Adam) of
``original_cnn`` and ``batchnorm_cnn`` (``examples/chest_xray/models.py``) on grayscale
images, as the pneumonia example trains them, alternating the two models so that both see the same machine load.
Medians over ``--repeats`` after two untimed warm-up steps (Numba compiles, buffers settle).
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from minicnn.kernels import backend
from minicnn.layers import BatchNormalization

# The models live beside the example that trains them (examples/chest_xray/models.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from chest_xray.models import MODELS, batchnorm_cnn  # noqa: E402


def bn_layer_times(batch, size, repeats):
    """{shape: {"numba": ms, "numpy": ms}} for each BatchNormalization of the batchnorm model."""
    model = batchnorm_cnn((size, size, 1), seed=0)
    shapes = [layer.input_shape for layer in model.layers if isinstance(layer, BatchNormalization)]
    rng = np.random.default_rng(0)
    results = {}
    for shape in shapes:
        x = rng.standard_normal((batch, *shape), dtype=np.float32)
        dy = rng.standard_normal(x.shape, dtype=np.float32)
        row = {}
        for kernels in ("numba", "numpy"):
            backend.KERNELS = kernels
            layer = BatchNormalization()
            layer.build(shape)
            times = []
            for step in range(repeats + 2):
                grad = dy.copy()  # backward may write over its argument
                start = time.perf_counter()
                layer.forward(x, training=True)
                layer.backward(grad)
                if step >= 2:
                    times.append(1e3 * (time.perf_counter() - start))
            row[kernels] = statistics.median(times)
        backend.KERNELS = "numba"
        results["x".join(map(str, (batch, *shape)))] = row
    return results


def training_step_times(batch, size, repeats):
    """Median ms of one train_on_batch for each model, timed in alternation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 1), dtype=np.float32)
    y = (rng.random((batch, 1)) < 0.7).astype(np.float32)
    models = {}
    for name in ("baseline", "batchnorm"):
        model = MODELS[name]((size, size, 1), seed=0)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        for _ in range(2):
            model.train_on_batch(x, y)
        models[name] = model
    times = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    layers = bn_layer_times(args.batch, args.size, args.repeats)
    print("BatchNormalization forward + backward (training), median ms:")
    print(f"  {'input':<22}{'Numba':>10}{'NumPy':>10}{'ratio':>8}")
    for shape, row in layers.items():
        print(f"  {shape:<22}{row['numba']:>10.1f}{row['numpy']:>10.1f}{row['numpy'] / row['numba']:>7.1f}x")
    steps = training_step_times(args.batch, args.size, args.repeats)
    print(f"Training step (batch {args.batch}, {args.size}x{args.size}x1, Adam), median ms: "
          f"baseline {steps['baseline']:.0f}, batchnorm {steps['batchnorm']:.0f} "
          f"(ratio {steps['batchnorm'] / steps['baseline']:.2f})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bn_layers_ms": layers, "train_step_ms": steps,
                       "load_average": os.getloadavg()[0]}, f, indent=2)


if __name__ == "__main__":
    main()
