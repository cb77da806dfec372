"""The demo a new user gets: ``python examples/pneumonia.py`` with no data anywhere.

No ``--data``, no ``MINICNN_DATA``, no ``./data/chest_xray``: the example runs the whole story
on the 28x28 set embedded in minicnn (nothing downloaded: a proxy on a closed port would make
any download fail), writes every output, and its ``model.npz`` and ``model.onnx`` work.
"""

import csv
import importlib.util
import json
import os

import numpy as np
import pytest

from test_pneumonia_example import run

# Two epochs instead of the demo's eight and fewer bootstrap resamples: the same pipeline, faster.
DEMO_ARGS = ["--epochs", "2", "--bootstrap", "200", "--out", "run"]
#: The example writes model.onnx only when the optional onnx package is installed (the "onnx"
#: extra); without it, a one-line note says so.
HAS_ONNX = importlib.util.find_spec("onnx") is not None
ONNX_NOTE = "the onnx package is not installed, so no model.onnx was written"
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": ""}


def run_offline(args, tmp_path, timeout=1800):
    """The example run as on a machine with no data and no network; it must succeed."""
    result = run(args, tmp_path, timeout=timeout, unset=("MINICNN_DATA",), env_extra=OFFLINE)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("demo")
    return tmp_path, run_offline(DEMO_ARGS, tmp_path)


def test_the_demo_says_what_it_is_in_one_line_and_runs_to_its_report(demo):
    tmp_path, result = demo
    first = result.stdout.splitlines()[0]
    assert "running the embedded 28x28 demo" in first and "--data" in first
    assert "downloading" not in result.stdout.lower()
    assert "This was the 28x28 demo" in result.stdout and "0.944" in result.stdout
    out = tmp_path / "run"
    for name in ("model.npz", "metrics.json", "history.csv", "split.csv", "report.html",
                 "curves.png") + (("model.onnx",) if HAS_ONNX else ()):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    if not HAS_ONNX:
        assert not (out / "model.onnx").exists() and ONNX_NOTE in result.stdout + result.stderr
    assert len(list(out.glob("*.png"))) >= 5
    assert not [p for p in os.listdir(out) if p.startswith(".")]      # no temporary left
    html = (out / "report.html").read_text()
    assert "28x28 DEMO" in html and "0.944" in html and "0.854" in html
    assert not list((tmp_path / "home").rglob("*.npz"))               # nothing downloaded


def test_the_demo_metrics_are_in_range_and_it_learned(demo):
    tmp_path, _ = demo
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["image_size"] == 28 and m["model"] == "small" and m["epochs"] == 2
    assert m["n_test"] == 624 and m["n_val"] > 300                    # the official test/, whole
    for key in ("test", "test_at_0.5", "val"):
        for name in ("auc", "accuracy", "recall", "specificity"):
            assert 0.0 <= m[key][name] <= 1.0, (key, name)
        lo, hi = m[key]["auc_ci"]
        assert 0.0 <= lo <= m[key]["auc"] <= hi <= 1.0
    assert m["test"]["auc"] > 0.85           # two epochs at 28 px already separate the classes
    assert m["test"]["threshold"] == m["val"]["threshold"]
    with open(tmp_path / "run" / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    patients = {s: {r["patient"] for r in rows if r["split"] == s} for s in ("train", "val", "test")}
    assert not patients["train"] & patients["val"] and not patients["train"] & patients["test"]
    assert all(r["file"].startswith(("train/", "test/", "val/")) for r in rows)


def write_test_images(folder, k):
    """The first ``k`` embedded test images as PNG files; returns (paths, uint8 pixels)."""
    from PIL import Image
    from minicnn.datasets import chest_xray

    _, _, (x, _, names) = chest_xray.load_data(with_file_names=True)
    rows = np.linspace(0, len(x) - 1, k).astype(int)       # NORMAL and PNEUMONIA films
    folder.mkdir(exist_ok=True)
    paths = []
    for i in rows:
        path = folder / os.path.basename(names[i]).replace(".jpeg", ".png")
        Image.fromarray(x[i]).save(path)
        paths.append(str(path))
    return paths, x[rows]


def test_predict_and_onnxruntime_give_the_examples_probability(demo):
    ort = pytest.importorskip("onnxruntime")
    from minicnn.data import PerImageStandardization
    from minicnn.model import Sequential
    from minicnn.onnx import read_metadata

    tmp_path, _ = demo
    out = tmp_path / "run"
    paths, pixels = write_test_images(tmp_path / "films", 4)
    pred = run(["predict", *paths, "--model", str(out / "model.npz"), "--out", "pred"], tmp_path,
               unset=("MINICNN_DATA",))
    assert pred.returncode == 0, pred.stderr[-3000:]
    printed = [float(line.split("= ")[1].split()[0]) for line in pred.stdout.strip().splitlines()]
    assert len(printed) == 4 and len(list((tmp_path / "pred").glob("*_gradcam.png"))) == 4

    model = Sequential.load(str(out / "model.npz"))
    x = PerImageStandardization()(pixels[..., None].astype(np.float32))
    expected = model.predict(x).reshape(-1)
    np.testing.assert_allclose(printed, expected, atol=5e-4)          # printed to 3 decimals
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"images": x})[0].reshape(-1)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    meta = read_metadata(out / "model.onnx")
    assert meta["threshold"] == model.metadata["threshold"]
    assert (meta["preprocess"], meta["image_size"], meta["color_mode"]) == (
        "standardize", [28, 28], "grayscale")


def test_a_second_run_into_the_same_out_is_refused(demo):
    tmp_path, _ = demo
    result = run(DEMO_ARGS, tmp_path, timeout=120, unset=("MINICNN_DATA",))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    held = "model.npz, model.onnx, metrics.json" if HAS_ONNX else "model.npz, metrics.json"
    assert f"holds another run ({held}" in result.stderr
    assert "--overwrite" in result.stderr
