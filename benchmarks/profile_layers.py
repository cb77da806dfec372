"""Per-layer forward/backward times of the original CNN, and where the time goes.

The model (224x224x3, batch 32, float32):
Conv2D(32,3) ReLU MaxPool2D(2) Conv2D(64,3) ReLU MaxPool2D(2) Conv2D(128,3) ReLU MaxPool2D(2)
Flatten Dense(128) ReLU Dropout(0.5) Dense(1)

Run:  python benchmarks/profile_layers.py [--batch 32] [--repeats 5] [--clock cpu] [--json out.json]
      python benchmarks/profile_layers.py --minicnn-root /tmp/perf_old    # before and after

Prints the median over ``--repeats`` steps (after ``--warmup`` untimed steps that compile
the Numba kernels and fill the reusable buffers) of each layer's forward and backward
time, then the share of the step spent in each kind of work. The im2col and col2im
calls are timed where Conv2D really makes them (the functions are wrapped while the
profile runs: ``kernels.im2col.fast`` and the col2im loop inside ``col2im_matmul``), so "GEMM" is the rest of the convolutions' and Dense layers' time: the
matrix products plus a bias add and a few reshapes.

Each layer's inference forward (``training=False``) is timed too, and the whole inference
pass of the model as ``predict`` runs it (``Sequential.infer``, with its fused
Conv2D -> ReLU -> MaxPool2D blocks, where the code has it; else ``forward(training=False)``).

``--minicnn-root ROOT`` profiles the minicnn checked out at ROOT (for example the pre-perf
code, ``git -C /work/main archive 1e9f67c | tar -x -C /tmp/perf_old``) and this checkout,
each in its own process one after the other, and prints both tables and the per-kind
times side by side. Without it, the minicnn of this checkout is profiled.

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

import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THIS_ROOT = os.path.dirname(HERE)


def _load(root):
    """minicnn.kernels, its im2col module and ``original_cnn``, imported from checkout ``root``.

    The models live beside the example that trains them (examples/chest_xray/models.py).
    Call once per process: a second root would not replace modules already imported.
    """
    sys.path[:0] = [root, os.path.join(root, "examples")]
    from chest_xray.models import original_cnn
    from minicnn import kernels
    # The module (the package re-exports a function of the same name).
    im2col_module = importlib.import_module("minicnn.kernels.im2col")
    return kernels, im2col_module, original_cnn


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


def profile(batch=32, repeats=5, warmup=2, clock="wall", size=224, channels=3, root=THIS_ROOT):
    """Run the profile; returns a dict of medians in milliseconds (see ``format_profile``)."""
    kernels, im2col_module, original_cnn = _load(root)
    import numba

    tick = time.perf_counter if clock == "wall" else time.process_time
    rng = np.random.default_rng(0)
    # The layers of the model the example trains, built by Sequential (first layer: no dx).
    model = original_cnn((size, size, channels), seed=0)
    layers = model.layers
    # predict's pass: the fused inference path where the code has one.
    infer_model = getattr(model, "infer", None) or (lambda x: model.forward(x, training=False))
    x0 = rng.standard_normal((batch, size, size, channels), dtype=np.float32)
    timed_im2col = _Timed(kernels.im2col.fast, tick)
    timed_col2im = _Timed(im2col_module.col2im_numba, tick)
    fwd = [[] for _ in layers]
    bwd = [[] for _ in layers]
    inf = [[] for _ in layers]
    steps, infer_ms, im2col_ms, col2im_ms = [], [], [], []
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
            x = x0
            for i, layer in enumerate(layers):
                t = tick()
                x = layer.forward(x, training=False)
                inf[i].append(tick() - t)
            t = tick()
            infer_model(x0)
            infer_ms.append(tick() - t)
    finally:
        kernels.im2col.fast, im2col_module.col2im_numba = real

    def med(values):
        return 1e3 * float(np.median(values[warmup:]))

    rows = [{"layer": layer.name, "kind": type(layer).__name__, "output": list(layer.output_shape),
             "forward_ms": med(f), "backward_ms": med(b), "infer_ms": med(i)}
            for layer, f, b, i in zip(layers, fwd, bwd, inf)]
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
    import minicnn
    return {
        "batch": batch, "size": size, "channels": channels, "clock": clock, "repeats": repeats,
        "minicnn": os.path.dirname(minicnn.__file__),
        "layers": rows, "by_kind_ms": by_kind,
        "step_ms": med(steps), "infer_step_ms": med(infer_ms), "shares_ms": shares,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "numba_threads": numba.get_num_threads(), "load_average": os.getloadavg()[0],
    }


def format_profile(p):
    size = p["size"]
    lines = [f"minicnn from {p.get('minicnn', '?')}",
             f"batch {p['batch']}, {size}x{size}x{p.get('channels', 3)} float32, median of {p['repeats']} steps "
             f"({p['clock']} ms, no optimizer step)",
             f"{'layer':<14}{'output':>18}{'forward':>10}{'backward':>10}{'infer':>10}"]
    for row in p["layers"]:
        lines.append(f"{row['layer']:<14}{str(tuple(row['output'])):>18}"
                     f"{row['forward_ms']:>10.1f}{row['backward_ms']:>10.1f}{row.get('infer_ms', 0):>10.1f}")
    total_f = sum(r["forward_ms"] for r in p["layers"])
    total_b = sum(r["backward_ms"] for r in p["layers"])
    total_i = sum(r.get("infer_ms", 0) for r in p["layers"])
    lines.append(f"{'total':<32}{total_f:>10.1f}{total_b:>10.1f}{total_i:>10.1f}")
    step = p["step_ms"]
    lines.append(f"forward+backward per step: {step:.0f} ms = {1e3 * p['batch'] / step:.1f} images/s")
    if "infer_step_ms" in p:
        lines.append(f"inference pass of the model (predict's): {p['infer_step_ms']:.0f} ms = "
                     f"{1e3 * p['batch'] / p['infer_step_ms']:.1f} images/s")
    lines.append("where the training time goes:")
    accounted = sum(p["shares_ms"].values())
    for name, ms in p["shares_ms"].items():
        lines.append(f"  {name:<48}{ms:>8.1f} ms {100 * ms / accounted:>5.1f}%")
    lines.append(f"peak resident memory {p['peak_mb']:.0f} MB; numba threads {p['numba_threads']}, "
                 f"load average {p['load_average']:.1f}")
    return "\n".join(lines)


KINDS = ("Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "Dropout")


def _kind_times(p):
    """{kind: (forward+backward ms, share of the step, inference forward ms)} of one profile."""
    train = {k: 0.0 for k in KINDS}
    infer = {k: 0.0 for k in KINDS}
    for row in p["layers"]:
        train[row["kind"]] = train.get(row["kind"], 0.0) + row["forward_ms"] + row["backward_ms"]
        infer[row["kind"]] = infer.get(row["kind"], 0.0) + row.get("infer_ms", 0.0)
    total = sum(train.values()) or 1.0
    return {k: (train[k], train[k] / total, infer[k]) for k in train}


def format_comparison(before, after):
    """Per-kind training and inference times of two profiles side by side."""
    a, b = _kind_times(before), _kind_times(after)
    lines = [f"{'kind':<12}{'train before':>14}{'share':>7}{'train after':>13}{'share':>7}{'speed-up':>10}"
             f"{'infer before':>14}{'infer after':>13}{'speed-up':>10}"]

    def gain(old, new):
        return f"{old / new:.2f}x" if new > 0 else "-"

    for kind in list(a) + [k for k in b if k not in a]:
        (ta, sa, ia), (tb, sb, ib) = a.get(kind, (0, 0, 0)), b.get(kind, (0, 0, 0))
        lines.append(f"{kind:<12}{ta:>14.1f}{100 * sa:>6.1f}%{tb:>13.1f}{100 * sb:>6.1f}%{gain(ta, tb):>10}"
                     f"{ia:>14.1f}{ib:>13.1f}{gain(ia, ib):>10}")
    lines.append(f"{'step':<12}{before['step_ms']:>14.1f}{'':>7}{after['step_ms']:>13.1f}{'':>7}"
                 f"{gain(before['step_ms'], after['step_ms']):>10}"
                 f"{before.get('infer_step_ms', 0):>14.1f}{after.get('infer_step_ms', 0):>13.1f}"
                 f"{gain(before.get('infer_step_ms', 0), after.get('infer_step_ms', 1)):>10}")
    lines.append("(train: forward + backward of each kind's layers; infer: their forward with "
                 "training=False one by one; the step row's infer is the model's whole inference "
                 "pass, fused where the code fuses)")
    return "\n".join(lines)


def _profile_in_process(args, root):
    """Run this script on ``root`` in a fresh process; the profile's dict."""
    command = [sys.executable, os.path.abspath(__file__), "--json", "-", "--root", root,
               "--batch", str(args.batch), "--size", str(args.size), "--channels", str(args.channels),
               "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--clock", args.clock]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"profile of {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--minicnn-root", metavar="ROOT",
                        help="also profile the minicnn checked out at ROOT (before), beside this one (after)")
    parser.add_argument("--root", default=THIS_ROOT, help=argparse.SUPPRESS)  # the checkout to profile
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-': stdout only)")
    args = parser.parse_args()
    if args.minicnn_root:
        if not os.path.isdir(os.path.join(args.minicnn_root, "minicnn")):
            raise SystemExit(f"--minicnn-root {args.minicnn_root}: no minicnn package there; give the "
                             "root of a checkout (e.g. git archive 1e9f67c | tar -x -C /tmp/perf_old)")
        before = _profile_in_process(args, os.path.abspath(args.minicnn_root))
        after = _profile_in_process(args, THIS_ROOT)
        result = {"before": before, "after": after}
        if args.json != "-":
            print("BEFORE\n" + format_profile(before) + "\n\nAFTER\n" + format_profile(after))
            print("\nper kind, before -> after\n" + format_comparison(before, after))
    else:
        result = profile(args.batch, args.repeats, args.warmup, args.clock, args.size, args.channels,
                         args.root)
        if args.json != "-":
            print(format_profile(result))
    if args.json == "-":
        print(json.dumps(result))
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
