"""Training and inference throughput of the original pneumonia CNN: minicnn vs PyTorch vs Keras.

The model (the original TensorFlow project's):
    Conv2D(32,3) ReLU MaxPool2D(2) Conv2D(64,3) ReLU MaxPool2D(2) Conv2D(128,3) ReLU MaxPool2D(2)
    Flatten Dense(128) ReLU Dropout(0.5) Dense(1)          on 224x224x3, batch 32, float32, Adam.

Each framework runs in its own process (so imports, thread pools and peak memory do not mix),
one after the other in the same invocation, so the ratios printed at the end are measured side by side
on the same machine at the same time. Per framework: ``--runs`` timed training steps (forward,
backward, Adam) and inference batches after ``--warmup`` untimed ones; we report the median step
time as images/s, and the peak resident memory (ru_maxrss) of the process.

    python benchmarks/train_throughput.py                      # everything installed, table
    python benchmarks/train_throughput.py --json out.json      # the same, also as JSON
    python benchmarks/train_throughput.py --frameworks minicnn,torch --runs 5
    python benchmarks/train_throughput.py --no-profile         # skip minicnn's per-layer profile
    python benchmarks/train_throughput.py --model batchnorm --size 96 --channels-list 1   # the example's default model

Frameworks: ``minicnn`` (Numba kernels), ``minicnn-numpy`` (the plain NumPy reference kernels:
what Numba buys), ``torch`` (torch==2.13.0 CPU) and ``keras`` (tensorflow-cpu); the last two are
skipped with a message when not installed.

After the table, minicnn's per-layer profile (``benchmarks/profile_layers.py``, in its own
process): forward and backward time per layer and the share of the step spent in GEMM,
im2col, col2im, max-pool and ReLU, so the next bottleneck is in view.

Threads: minicnn uses NumPy's OpenBLAS for the matrix products and Numba for its kernels,
each with one thread per core by default. OpenBLAS worker threads keep spinning for a while
after each product (``OPENBLAS_THREAD_TIMEOUT``, read only when NumPy loads); this benchmark
does not set it, and neither does minicnn.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMEWORKS = ["minicnn", "minicnn-numpy", "torch", "keras"]
# Extra rows on request (--frameworks ...,minicnn-1thread): minicnn with both thread pools
# (OpenBLAS, Numba) at one thread, set in that worker's environment only. On a machine
# busy with other programs this is often the fastest minicnn; compare it with "minicnn".
EXTRA_ENV = {"minicnn-1thread": {"OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}}


# --------------------------------------------------------------------------- workers
def _time_calls(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _batch(args, channels_last=True):
    rng = np.random.default_rng(0)
    c = args.channels
    shape = (args.batch, args.size, args.size, c) if channels_last else (args.batch, c, args.size, args.size)
    x = rng.uniform(0, 1, size=shape).astype(np.float32)
    y = (rng.uniform(size=(args.batch, 1)) < 0.7).astype(np.float32)
    return x, y


def worker_minicnn(args, kernels):
    if kernels == "numpy":
        os.environ["MINICNN_KERNELS"] = "numpy"
    root = args.minicnn_root or os.path.dirname(HERE)
    sys.path.insert(0, root)
    sys.path.insert(0, os.path.join(root, "examples"))  # the example's models
    try:
        from chest_xray import models
    except ImportError:  # code from before the redesign kept the models in the library
        from minicnn import zoo as models

    build = models.batchnorm_cnn if args.model == "batchnorm" else models.original_cnn
    model = build((args.size, args.size, args.channels), seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = _batch(args)
    train = _time_calls(lambda: model.train_on_batch(x, y), args.warmup, args.runs)
    infer = _time_calls(lambda: model.predict(x, batch_size=args.batch), args.warmup, args.runs)
    import minicnn
    print(f"minicnn from {os.path.dirname(minicnn.__file__)}", file=sys.stderr)
    return train, infer


def worker_torch(args):
    import torch
    from torch import nn

    torch.manual_seed(0)
    s = args.size
    if args.model == "batchnorm":  # the example's default: BN after each convolution, global pooling
        def block(c_in, f, pool=True):
            layers = [nn.Conv2d(c_in, f, 3, bias=False), nn.BatchNorm2d(f, eps=1e-3, momentum=0.1),
                      nn.ReLU()]
            return layers + [nn.MaxPool2d(2)] if pool else layers
        model = nn.Sequential(
            *block(args.channels, 32), *block(32, 64), *block(64, 128), *block(128, 128, pool=False),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(128, 1),
        )
    else:
        flat = 128 * ((((s - 2) // 2 - 2) // 2 - 2) // 2) ** 2
        model = nn.Sequential(
            nn.Conv2d(args.channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 1),
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    x, y = (torch.from_numpy(a) for a in _batch(args, channels_last=False))

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            torch.sigmoid(model(x))

    return _time_calls(train_step, args.warmup, args.runs), _time_calls(infer, args.warmup, args.runs)


def worker_keras(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    layers = keras.layers
    if args.model == "batchnorm":  # the example's default: BN after each convolution, global pooling
        def block(f, pool=True):
            out = [layers.Conv2D(f, 3, use_bias=False), layers.BatchNormalization(momentum=0.9),
                   layers.ReLU()]
            return out + [layers.MaxPooling2D(2)] if pool else out
        model = keras.Sequential(
            [keras.Input((args.size, args.size, args.channels))]
            + block(32) + block(64) + block(128) + block(128, pool=False)
            + [layers.GlobalAveragePooling2D(), layers.Dropout(0.3), layers.Dense(1)])
    else:
        model = keras.Sequential([
            keras.Input((args.size, args.size, args.channels)),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(128, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
            layers.Dense(1),
        ])
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    x, y = (tf.constant(a) for a in _batch(args))

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    @tf.function
    def infer():
        return tf.sigmoid(model(x, training=False))

    return _time_calls(train_step, args.warmup, args.runs), _time_calls(infer, args.warmup, args.runs)


# The GEMM the limit is measured on: the third convolution's forward product at batch 32
# (32*52*52 output pixels, 3*3*64 inner, 128 filters), the largest share of a step's FLOPs.
GEMM_SHAPE = (32 * 52 * 52, 3 * 3 * 64, 128)


def worker_gemm(args):
    """Seconds per float32 ``(m, k) @ (k, n)`` product of GEMM_SHAPE (NumPy's BLAS)."""
    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    return _time_calls(lambda: np.matmul(a, b, out=out), args.warmup, args.runs)


def step_flops(size, channels, model="original"):
    """(training, inference) multiply-add FLOPs per image of the original CNN (or ``"batchnorm"``,
    the example's default: a fourth convolution without pooling, global pooling, Dense(1)).

    A convolution's forward is ``2 * Ho*Wo * kh*kw*C * F``; backward computes dW and dx,
    the same count each, except the first layer, which needs no dx. Dense the same with
    ``in * out``. Pooling, ReLU, the loss and Adam are left out (a few percent).
    """
    forward = backward = 0
    h, c = size, channels
    blocks = ((32, True), (64, True), (128, True)) + (((128, False),) if model == "batchnorm" else ())
    for i, (f, pool) in enumerate(blocks):
        h -= 2
        macs = 2 * h * h * 9 * c * f
        forward += macs
        backward += macs if i == 0 else 2 * macs
        h, c = (h // 2 if pool else h), f
    dense = ((c, 1),) if model == "batchnorm" else ((h * h * c, 128), (128, 1))
    for inputs, outputs in dense:
        forward += 2 * inputs * outputs
        backward += 2 * 2 * inputs * outputs
    return forward + backward, forward


def run_worker(args):
    name = args.worker
    if name in ("minicnn", "minicnn-1thread") or name.startswith("minicnn@"):
        train, infer = worker_minicnn(args, "numba")
    elif name == "minicnn-numpy":
        train, infer = worker_minicnn(args, "numpy")
    elif name == "torch":
        train, infer = worker_torch(args)
    elif name == "keras":
        train, infer = worker_keras(args)
    elif name == "gemm":
        train, infer = worker_gemm(args), []
    else:
        raise SystemExit(f"unknown framework {name!r}; choose from {FRAMEWORKS + list(EXTRA_ENV)}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"train_times": train, "infer_times": infer, "peak_mb": peak_mb}))


# --------------------------------------------------------------------------- driver
def installed(name):
    module = {"torch": "torch", "keras": "tensorflow"}.get(name)
    if module is None:
        return True
    import importlib.util
    return importlib.util.find_spec(module) is not None


def old_roots(args):
    """``--old`` folders by their row name, ``minicnn@<folder name>``."""
    return {f"minicnn@{os.path.basename(os.path.normpath(root))}": root for root in args.old}


def measure(name, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", name, "--runs", str(args.runs),
               "--warmup", str(args.warmup), "--batch", str(args.batch), "--size", str(args.size),
               "--model", args.model,
               "--channels", str(args.channels)]
    if name.startswith("minicnn@"):
        command += ["--minicnn-root", old_roots(args)[name]]
    if name == "minicnn-numpy":
        command[command.index("--runs") + 1] = str(max(1, args.runs // 3))
    env = dict(os.environ, **EXTRA_ENV.get(name, {}))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if name == "gemm":
        m, k, n = GEMM_SHAPE
        result["gflops"] = 2 * m * k * n / statistics.median(result["train_times"]) / 1e9
        return result
    result["train_ips"] = args.batch / statistics.median(result["train_times"])
    result["infer_ips"] = args.batch / statistics.median(result["infer_times"])
    return result


def format_table(results, flops, gflops):
    """One row per framework; ``flops`` (train, infer) per image, ``gflops`` the GEMM peak."""
    lines = [f"{'framework':<22}{'train img/s':>12}{'infer img/s':>12}{'peak MB':>9}"
             f"{'train vs torch':>16}{'train vs keras':>16}{'infer vs torch':>16}{'infer vs keras':>16}"
             f"{'train % GEMM':>14}{'infer % GEMM':>14}"]
    ref = {k: results.get(k) for k in ("torch", "keras")}

    def ratio(a, b):
        return f"{a / b:.2f}x" if b else "-"

    def share(images_per_s, flops_per_image):
        return f"{100 * images_per_s * flops_per_image / 1e9 / gflops:.0f}%" if gflops else "-"

    for name, r in results.items():
        lines.append(
            f"{name:<22}{r['train_ips']:>12.1f}{r['infer_ips']:>12.1f}{r['peak_mb']:>9.0f}"
            f"{ratio(r['train_ips'], ref['torch'] and ref['torch']['train_ips']):>16}"
            f"{ratio(r['train_ips'], ref['keras'] and ref['keras']['train_ips']):>16}"
            f"{ratio(r['infer_ips'], ref['torch'] and ref['torch']['infer_ips']):>16}"
            f"{ratio(r['infer_ips'], ref['keras'] and ref['keras']['infer_ips']):>16}"
            f"{share(r['train_ips'], flops[0]):>14}{share(r['infer_ips'], flops[1]):>14}"
        )
    return "\n".join(lines)


def run_profile(args):
    """minicnn's per-layer profile in its own process; returns (text, dict) or None."""
    command = [sys.executable, os.path.join(HERE, "profile_layers.py"), "--json", "-",
               "--batch", str(args.batch), "--size", str(args.size),
               "--repeats", str(max(3, args.runs // 2)), "--warmup", str(args.warmup)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"profile: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sys.path.insert(0, HERE)
    from profile_layers import format_profile
    return format_profile(result), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--runs", type=int, default=7, help="timed steps per framework (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--model", default="original", choices=["original", "batchnorm"],
                        help="original: the seed project's CNN; batchnorm: the example's default "
                        "(measure it as the example runs it: --size 96 --channels-list 1)")
    parser.add_argument("--channels-list", default="3,1",
                        help="input channels to measure: 3 (the RGB original), 1 (the example's default, grayscale)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternating rounds over the frameworks (median of rounds reported)")
    parser.add_argument("--old", metavar="ROOT", action="append", default=[],
                        help="also measure the minicnn checked out at ROOT (a row 'minicnn@NAME', "
                        "NAME the folder's name); repeat for several")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--channels", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--minicnn-root", help=argparse.SUPPRESS)
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip minicnn's per-layer profile after the table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)

    names = [n for n in args.frameworks.split(",") if installed(n) or
             print(f"{n}: not installed, skipped", file=sys.stderr)]
    for old in old_roots(args):
        names.insert(names.index("minicnn") if "minicnn" in names else 0, old)
    all_results = {}
    for channels in (int(c) for c in args.channels_list.split(",")):
        args.channels = channels
        rounds = {}  # framework -> one result per round, frameworks alternating in each round
        for round_ in range(args.rounds):
            for name in ["gemm"] + names:
                print(f"[{channels} channels, round {round_ + 1}] measuring {name} ...",
                      file=sys.stderr, flush=True)
                result = measure(name, args)
                if result:
                    rounds.setdefault(name, []).append(result)
        gemm = rounds.pop("gemm", [])
        gflops = statistics.median(r["gflops"] for r in gemm) if gemm else None
        results = {name: {"train_ips": statistics.median(r["train_ips"] for r in rs),
                          "infer_ips": statistics.median(r["infer_ips"] for r in rs),
                          "peak_mb": max(r["peak_mb"] for r in rs), "rounds": rs}
                   for name, rs in rounds.items()}
        flops = step_flops(args.size, channels, args.model)
        print(f"\n{args.model} CNN, batch {args.batch}, {args.size}x{args.size}x{channels}, float32, Adam; median of "
              f"{args.runs} steps per round, median of {args.rounds} alternating rounds; load average "
              f"{os.getloadavg()[0]:.2f} at the end")
        print(f"GEMM limit: float32 {GEMM_SHAPE[0]}x{GEMM_SHAPE[1]} @ {GEMM_SHAPE[1]}x{GEMM_SHAPE[2]} "
              f"at {gflops or float('nan'):.1f} GFLOP/s; a step is {flops[0] / 1e9:.2f} GFLOP per "
              f"image ({flops[1] / 1e9:.2f} inference), so the GEMM limit is "
              f"{gflops and gflops * 1e9 / flops[0] or float('nan'):.1f} img/s training, "
              f"{gflops and gflops * 1e9 / flops[1] or float('nan'):.1f} inference\n")
        print(format_table(results, flops, gflops))
        all_results[channels] = {"gemm_gflops": gflops, "flops_per_image": flops, "results": results}
    profile = None
    if args.profile and args.model == "original":  # the profile knows the original CNN only
        print("\nprofiling minicnn per layer ...", file=sys.stderr, flush=True)
        profile = run_profile(args)
        if profile:
            print("\nminicnn per layer (benchmarks/profile_layers.py):")
            print(profile[0])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": all_results,
                       "minicnn_profile": profile and profile[1]}, f, indent=2)


if __name__ == "__main__":
    main()
