"""Does training ever wait for data? Data wait vs compute per step in a real ``fit``.

The pneumonia example's input pipeline, as it runs there: the train/ images decoded once
into the in-memory cache, each batch shuffled, augmented (rotation + zoom fused into one warp,
contrast) and rescaled in a background thread by ``prefetch(2)``, while ``fit`` trains the
original CNN. We wrap the dataset ``fit`` iterates and time every ``next()`` call from the
trainer's side: that is the time the trainer waited for data. The rest of each step is compute.

    MINICNN_DATA=../shared/data/chest_xray python benchmarks/data_wait.py [--steps 20]
        [--image-size 224] [--color-mode grayscale] [--json]

Prints the median and total data wait per step and the median step time; "the trainer never
waits" means the wait is a small fraction of a percent of the step.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from minicnn import data

# The models live beside the example that trains them (examples/chest_xray/models.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
from chest_xray.models import original_cnn  # noqa: E402


class TimedBatches:
    """Iterates ``dataset`` and records how long each ``next()`` took the consumer."""

    def __init__(self, dataset, steps):
        self.dataset, self.steps, self.waits = dataset, steps, []

    def __len__(self):
        return self.steps

    def __iter__(self):
        iterator = iter(self.dataset)
        try:
            for _ in range(self.steps):
                start = time.perf_counter()
                batch = next(iterator)
                self.waits.append(time.perf_counter() - start)
                yield batch
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MINICNN_DATA"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--color-mode", default="grayscale", choices=["grayscale", "rgb"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data:
        sys.exit("set MINICNN_DATA (or --data) to the chest_xray folder")

    size = (args.image_size, args.image_size)
    train = data.image_dataset_from_directory(
        os.path.join(args.data, "train"), image_size=size, color_mode=args.color_mode,
        batch_size=args.batch_size, seed=0, verbose=False).cache(verbose=False)
    augment = data.Augmenter([data.RandomRotation(0.05), data.RandomZoom(0.1),
                              data.RandomContrast(0.1)], seed=0)
    batches = train.map(lambda x, y: (augment(x) * np.float32(1 / 255), y)).prefetch(2)
    timed = TimedBatches(batches, args.steps)

    channels = 1 if args.color_mode == "grayscale" else 3
    model = original_cnn(size + (channels,), seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    start = time.perf_counter()
    model.fit(timed, epochs=1, verbose=0)
    total = time.perf_counter() - start

    # The first batch is waited for by construction (nothing to overlap with yet, and the
    # in-memory cache fills on first use): it is reported apart, not counted in the share.
    waits = timed.waits[1:]
    step = (total - timed.waits[0]) / args.steps
    result = {
        "steps": args.steps, "image_size": args.image_size, "color_mode": args.color_mode,
        "first_batch_wait_s": timed.waits[0], "median_wait_ms": 1e3 * statistics.median(waits),
        "max_wait_ms": 1e3 * max(waits), "mean_step_s": step,
        "wait_share_after_first": sum(waits) / (total - timed.waits[0]),
        "compute_per_step_s": step - statistics.mean(waits),
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.steps} steps of the original CNN, {args.image_size}x{args.image_size} "
          f"{args.color_mode}, batch {args.batch_size} (load average {result['load_average']:.1f})")
    print(f"  mean step (data wait + compute): {step:.3f} s, "
          f"of which compute {result['compute_per_step_s']:.3f} s")
    print(f"  data wait per step: median {result['median_wait_ms']:.2f} ms, "
          f"max {result['max_wait_ms']:.2f} ms (first batch {timed.waits[0]:.2f} s, not counted)")
    print(f"  share of training time spent waiting for data: {100 * result['wait_share_after_first']:.2f}%")


if __name__ == "__main__":
    main()
