"""Smoke tests of examples/pneumonia.py: run it as a user would (subprocess) and check every output.

The chest X-ray runs need the real images (``MINICNN_DATA``) and skip without them; the
MedMNIST run uses the small PneumoniaMNIST file next to them; the bad-input runs need nothing.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "pneumonia.py")
DATA = os.environ.get("MINICNN_DATA")
NPZ = os.path.join(ROOT, "..", "shared", "data", "medmnist", "pneumoniamnist_28.npz")
if DATA:
    NPZ = os.path.join(os.path.dirname(os.path.abspath(DATA)), "medmnist", "pneumoniamnist_28.npz")

needs_npz = pytest.mark.skipif(not os.path.isfile(NPZ), reason=f"{NPZ} is not there")

FIGURES = ["samples.png", "augmentation.png", "curves.png", "roc.png", "pr.png", "confusion.png",
           "predictions.png", "calibration.png"]  # and gradcam_<TP|FP|FN|TN>.png, one per outcome seen
SUMMARY_KEYS = {"auc": float, "accuracy": float, "precision": float, "recall": float,
                "specificity": float, "f1": float, "threshold": float}


def run(args, tmp_path, timeout=120, env_extra=None, unset=()):
    # PYTHONPATH: the subprocess imports this checkout's minicnn, not an installed copy.
    env = dict(os.environ, MINICNN_HOME=str(tmp_path / "home"), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for name in unset:
        env.pop(name, None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


def check_summary(section, n):
    for key, kind in SUMMARY_KEYS.items():
        assert isinstance(section[key], kind), key
    assert section["n"] == n
    (tn, fp), (fn, tp) = section["confusion_matrix"]
    assert tn + fp + fn + tp == n
    assert all(isinstance(v, int) for v in (tn, fp, fn, tp))
    lo, hi = section["auc_ci"]
    assert 0.0 <= lo <= hi <= 1.0
    assert 0.0 <= section["auc"] <= 1.0


def check_run_folder(out, expect_official_val):
    for name in FIGURES + ["model.npz", "metrics.json", "history.csv", "split.csv", "report.html"]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    m = json.loads((out / "metrics.json").read_text())
    for key in ("train_seconds", "epochs", "image_size", "n_train", "n_val", "n_test"):
        assert key in m, key
    assert isinstance(m["train_seconds"], float) and m["train_seconds"] > 0
    check_summary(m["test"], m["n_test"])
    check_summary(m["test_at_0.5"], m["n_test"])
    assert m["test_at_0.5"]["threshold"] == 0.5
    assert m["test"]["threshold"] == m["val"]["threshold"]   # chosen on validation, used on test
    assert m["val"]["n"] == m["n_val"]
    assert ("official_val" in m) == expect_official_val
    # The stress test re-scores validation with the films squeezed, stretched, blurred, sharpened.
    if "auc" in m["val"]:
        stress = m["val_stress"]
        assert set(stress) == {"width_zoom_0.8", "width_zoom_1.25", "blur_1px", "sharpen_2",
                               "border_masked"}
        for row in stress.values():
            assert set(row) == {"what", "auc", "sensitivity", "specificity"}
            assert all(0.0 <= row[k] <= 1.0 for k in ("auc", "sensitivity", "specificity"))

    with open(out / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"file", "patient", "label", "split"}
    by_split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
    assert [len(by_split[s]) for s in ("train", "val", "test")] == [m["n_train"], m["n_val"], m["n_test"]]
    assert len({r["file"] for r in rows}) == len(rows)          # no file in two splits

    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["epoch", "loss"] and "val_auc" in lines[0]
    assert len(lines) == 1 + m["epochs"]
    # The cosine schedule starts each run at the full --learning-rate (default 1e-3).
    header, first = lines[0].split(","), lines[1].split(",")
    assert float(first[header.index("learning_rate")]) == 1e-3

    html = (out / "report.html").read_text()
    gradcam = sorted(p.name for p in out.glob("gradcam_*.png"))
    assert gradcam and set(gradcam) <= {f"gradcam_{k}.png" for k in ("TP", "FP", "FN", "TN")}
    assert html.count('src="data:image/png;base64,') == len(FIGURES) + len(gradcam)
    g = m["gradcam"]  # every test film's Grad-CAM: a mean share unless every map was empty
    assert g["n"] + g["n_empty_maps"] == m["n_test"] and m["headline"]["text"]
    assert (g["mean"] is None) == (g["n"] == 0) and (g["mean"] is None or 0 <= g["mean"] <= 1)
    assert "missing:" not in html and "http://" not in html.replace("http://www.w3.org", "")
    return m, by_split


CHEST_ARGS = ["--limit", "40", "--epochs", "1", "--image-size", "40", "--bootstrap", "50",
              "--seed", "1"]


@pytest.fixture(scope="module")
def chest_run(tmp_path_factory):
    """One small run on the real X-rays, shared by the tests below (each run costs ~15 s)."""
    if not DATA or not os.path.isdir(DATA):
        pytest.skip("MINICNN_DATA (the chest_xray folder) is not set")
    tmp_path = tmp_path_factory.mktemp("chest")
    result = run(["--data", DATA, *CHEST_ARGS, "--out", "run"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path, result


def test_chest_xray_run_outputs(chest_run):
    tmp_path, result = chest_run
    assert "class weights" in result.stdout and "patients" in result.stdout
    m, by_split = check_run_folder(tmp_path / "run", expect_official_val=True)
    assert m["image_size"] == 40 and m["epochs"] == 1
    # The split is by patient: no child in two of train / val / test.
    patients = {s: {r["patient"] for r in rows} for s, rows in by_split.items()}
    assert not patients["train"] & patients["val"]
    assert not patients["train"] & patients["test"]
    assert not patients["val"] & patients["test"]
    assert all(r["label"] in ("NORMAL", "PNEUMONIA") for rows in by_split.values() for r in rows)


def test_predict_with_saved_model(chest_run):
    tmp_path, _ = chest_run
    out = tmp_path / "run"
    m, by_split = check_run_folder(out, expect_official_val=True)
    # predict on two test images with the saved model: probability, label, one PNG each.
    images = [os.path.join(DATA, "test", r["file"].split("/", 1)[1]) for r in by_split["test"][:2]]
    pred = run(["predict", *images, "--model", str(out / "model.npz"), "--out", "pred"], tmp_path)
    assert pred.returncode == 0, pred.stderr[-3000:]
    threshold = m["test"]["threshold"]
    lines = pred.stdout.strip().splitlines()
    assert len(lines) == 2
    for path, line in zip(images, lines):
        assert line.startswith(path)
        p = float(line.split("= ")[1].split()[0])
        assert 0.0 <= p <= 1.0
        assert line.split("-> ")[1].split()[0] == ("PNEUMONIA" if p >= threshold else "NORMAL")
        png = tmp_path / "pred" / (os.path.splitext(os.path.basename(path))[0] + "_gradcam.png")
        assert png.is_file() and png.stat().st_size > 0

    # A missing image and a file that is not an image: exit code 2, both named, no traceback.
    (tmp_path / "notes.jpeg").write_text("not an image")
    bad = run(["predict", "missing.jpeg", "notes.jpeg", "--model", str(out / "model.npz")], tmp_path)
    assert bad.returncode == 2
    assert "missing.jpeg" in bad.stderr and "notes.jpeg" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_predict_applies_the_saved_preprocessing(chest_run):
    """predict standardizes like training did; a model saved without the key means [0, 1]."""
    from minicnn.model import Sequential
    from minicnn.data import PerImageStandardization, decode_image
    from minicnn.tta import predict_averaged
    from chest_xray.training import tta_views

    tmp_path, _ = chest_run
    model = Sequential.load(str(tmp_path / "run" / "model.npz"))
    assert model.metadata["preprocess"] == "standardize"
    image = os.path.join(DATA, "test", "NORMAL", sorted(os.listdir(os.path.join(DATA, "test", "NORMAL")))[0])
    raw = decode_image(image, (40, 40), "grayscale").astype("float32")[None]
    expected = {"standardize": float(model.predict(PerImageStandardization()(raw))[0, 0]),
                "rescale": float(model.predict(raw / 255.0)[0, 0])}
    # The run's own model was saved with test-time augmentation: predict averages the same views.
    assert model.metadata["tta"] is True
    views = tta_views(model.metadata["fill_mode"])
    averaged = float(predict_averaged(model, raw, views, PerImageStandardization())[0, 0])
    pred = run(["predict", image, "--model", str(tmp_path / "run" / "model.npz"), "--out", "pred_tta"],
               tmp_path)
    assert pred.returncode == 0, pred.stderr[-3000:]
    assert abs(float(pred.stdout.split("= ")[1].split()[0]) - averaged) < 5e-4
    plain = dict(model.metadata, tta=False)   # one view: this test is about the preprocessing
    model.save(str(tmp_path / "plain.npz"), metadata=plain)
    old = dict(plain)
    del old["preprocess"]                      # as written before the option existed
    model.save(str(tmp_path / "old.npz"), metadata=old)
    for path, kind in ((tmp_path / "plain.npz", "standardize"), (tmp_path / "old.npz", "rescale")):
        pred = run(["predict", image, "--model", str(path), "--out", f"pred_{kind}"], tmp_path)
        assert pred.returncode == 0, pred.stderr[-3000:]
        p = float(pred.stdout.split("= ")[1].split()[0])
        assert abs(p - expected[kind]) < 5e-4, (kind, p, expected)
    assert abs(expected["standardize"] - expected["rescale"]) > 1e-3  # the two really differ


def test_same_seed_same_results(chest_run):
    tmp_path, _ = chest_run
    again = run(["--data", DATA, *CHEST_ARGS, "--out", "again"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    ma, mb = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("run", "again"))
    for key in ("test", "val", "test_at_0.5"):
        for name in ("auc", "threshold", "confusion_matrix", "auc_ci"):
            assert ma[key][name] == mb[key][name], (key, name)
    assert (tmp_path / "run" / "split.csv").read_text() == (tmp_path / "again" / "split.csv").read_text()
    hist = [(tmp_path / d / "history.csv").read_text() for d in ("run", "again")]
    assert hist[0] == hist[1]


def test_cross_validation_folds(chest_run):
    tmp_path, _ = chest_run
    result = run(["--data", DATA, "--folds", "2", "--limit", "40", "--epochs", "1",
                  "--image-size", "40", "--out", "cv"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    cv = json.loads((tmp_path / "cv" / "metrics.json").read_text())["cv"]
    assert cv["folds"] == cv["folds_done"] == 2 and len(cv["val_auc"]) == 2
    assert abs(cv["val_auc_mean"] - sum(cv["val_auc"]) / 2) < 1e-9
    with open(tmp_path / "cv" / "folds.csv", newline="") as f:
        folds = list(csv.DictReader(f))
    # The two validation folds together are the whole (limited) train/ pool, each image once.
    assert len(folds) == 2 and sum(int(r["n_val"]) for r in folds) == int(folds[0]["n_train"]) + int(folds[0]["n_val"])
    metrics_json = json.loads((tmp_path / "cv" / "metrics.json").read_text())
    assert not any(key.startswith("test") for key in metrics_json)   # CV never touches test/
    assert (tmp_path / "cv" / "report.html").is_file()


@needs_npz
def test_medmnist_npz_run(tmp_path):
    # 28 px is too small for the default batchnorm model's four valid convolutions.
    result = run(["--data", NPZ, "--limit", "200", "--epochs", "1", "--bootstrap", "50",
                  "--model", "baseline", "--out", "npz"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "patients are unknown" in result.stdout
    m, by_split = check_run_folder(tmp_path / "npz", expect_official_val=False)
    assert m["image_size"] == 28                          # the file's own size by default
    assert all(r["patient"] == "" for rows in by_split.values() for r in rows)
    assert all(r["file"].startswith("pneumoniamnist_28.npz:" + s)
               for s, rows in by_split.items() for r in rows)


def test_wrong_data_path_exit_2(tmp_path):
    result = run(["--data", str(tmp_path / "no_such_folder")], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "no_such_folder" in result.stderr and "does not exist" in result.stderr
    assert "kaggle" in result.stderr.lower() and "Traceback" not in result.stderr


def test_folder_without_splits_exit_2(tmp_path):
    (tmp_path / "flat" / "NORMAL").mkdir(parents=True)
    result = run(["--data", str(tmp_path / "flat")], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "train" in result.stderr and "Traceback" not in result.stderr


def test_medmnist_offline_exit_2(tmp_path):
    # Only an explicit --data medmnist:SIZE downloads; a proxy on a closed local port makes
    # "offline" instant and certain.
    proxy = "http://127.0.0.1:9"
    result = run(["--data", "medmnist:64"], tmp_path, timeout=60, unset=("MINICNN_DATA",),
                 env_extra={"https_proxy": proxy, "HTTPS_PROXY": proxy, "no_proxy": ""})
    assert result.returncode == 2
    assert "PneumoniaMNIST at 64x64 failed" in result.stderr
    assert "kaggle.com" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "home").glob("*.npz"))        # nothing half-downloaded left


def test_sharpness_out_of_range_exit_2(tmp_path):
    result = run(["--sharpness", "1.5"], tmp_path, timeout=60)
    assert result.returncode == 2
    assert "--sharpness must be in [0, 1]" in result.stderr and "Traceback" not in result.stderr


def test_batchnorm_model_run(tmp_path):
    if not DATA or not os.path.isdir(DATA):
        pytest.skip("MINICNN_DATA (the chest_xray folder) is not set")
    result = run(["--data", DATA, *CHEST_ARGS, "--model", "batchnorm", "--out", "bn"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    m, _ = check_run_folder(tmp_path / "bn", expect_official_val=True)
    assert m["model"] == "batchnorm"
    saved = np.load(tmp_path / "bn" / "model.npz")
    assert any("moving_mean" in key for key in saved.files)     # the BatchNorm state was saved
