"""The example under attack (issue 19): kill -9 mid-write, reruns, bad flags, hostile models.

Each test is the attack itself, run as a user would run the script (a subprocess). The
kill points use the example's test hook ``CHEST_XRAY_KILL_WHILE_WRITING=<file name>``: the
process writes half of that file to disk and kills itself with SIGKILL, as a power cut would.
"""

import json
import os
import signal

import numpy as np
import pytest

from test_pneumonia_example import run

SMALL = ["--data", "embedded", "--limit", "200", "--epochs", "1", "--bootstrap", "0"]
KILL = "CHEST_XRAY_KILL_WHILE_WRITING"


def temporaries(folder):
    return sorted(p for p in os.listdir(folder) if p.startswith("."))


def test_kill_9_while_writing_never_leaves_a_broken_file_nor_a_mixed_run(tmp_path):
    out = tmp_path / "run"
    # 1. Killed half way through metrics.json: no truncated metrics.json, only a temporary.
    killed = run([*SMALL, "--out", "run"], tmp_path, timeout=600, env_extra={KILL: "metrics.json"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "metrics.json").exists()
    assert (out / "model.npz").is_file() and temporaries(out)

    # 2. The folder holds a (partial) run: a rerun without --overwrite is refused, untouched.
    before = sorted(os.listdir(out))
    refused = run([*SMALL, "--out", "run"], tmp_path, timeout=120)
    assert refused.returncode == 2 and "holds another run (model.npz" in refused.stderr
    assert sorted(os.listdir(out)) == before

    # 3. A complete run, then a rerun with --overwrite killed right after saving its model:
    # the old run's metrics and report are gone, never left beside the new model.
    done = run([*SMALL, "--out", "run", "--overwrite"], tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["n_test"] > 0
    assert not temporaries(out)                  # step 1's temporary was cleaned up
    old_model = (out / "model.npz").read_bytes()
    killed = run([*SMALL, "--out", "run", "--overwrite", "--seed", "1"], tmp_path, timeout=600,
                 env_extra={KILL: "split.csv"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (out / "model.npz").read_bytes() != old_model          # the new run's model ...
    for stale in ("metrics.json", "report.html", "split.csv"):    # ... beside none of the old
        assert not (out / stale).exists(), stale


def test_a_nan_loss_gives_a_clean_message_and_no_traceback(tmp_path):
    # Adam steps of 1e30 overflow the float32 weights: the loss turns NaN or inf.
    result = run([*SMALL, "--epochs", "2", "--learning-rate", "1e30", "--out", "run"], tmp_path,
                 timeout=900)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "Training stopped" in result.stderr and "the loss is" in result.stderr
    out = tmp_path / "run"
    assert (out / "history.csv").is_file()
    # The report of what was trained when that model can be scored; here its first step's
    # weights already overflow (minicnn keeps a finite-loss step), so it says so instead.
    if (out / "report.html").is_file():
        assert "Training stopped" in (out / "report.html").read_text()
    else:
        assert "gives NaN on validation: nothing to evaluate" in result.stderr


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "0"], "--image-size must be in [1, 512]"),
    (["--image-size", "4", "--model", "baseline"], "too small for --model baseline"),
    (["--learning-rate", "-1"], "--learning-rate must be > 0"),
    (["--rotation", "-3"], "--rotation must be >= 0"),
    (["--bootstrap", "-5"], "--bootstrap must be >= 0"),
    (["--out", "a_file"], "--out 'a_file' is a file"),
    (["--cache", "a_file"], "--cache 'a_file' is a file"),
])
def test_bad_flags_exit_2_at_once_with_no_traceback(argv, message, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    result = run(argv, tmp_path, timeout=120)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


def test_a_class_whose_files_all_fail_to_decode_exits_2_naming_it(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label, stem in (("NORMAL", "IM-000{}-0001"), ("PNEUMONIA", "person{}_virus_1")):
            (tmp_path / "cx" / split / label).mkdir(parents=True)
            for i in range(3):
                path = tmp_path / "cx" / split / label / (stem.format(i + (5 if split == "test" else 0)) + ".png")
                if split == "train" and label == "NORMAL":
                    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")   # none of them decodes
                else:
                    Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).save(path)
    result = run(["--data", str(tmp_path / "cx"), "--image-size", "28", "--model", "small",
                  "--cache", "memory"], tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "'NORMAL' has no readable image" in result.stderr and "Traceback" not in result.stderr


# --- predict -----------------------------------------------------------------------------
def saved_model(path, metadata=None, poison=None):
    """An (untrained) small model saved as the example saves one; ``poison(model)`` edits it."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
    from chest_xray import models

    model = models.build("small", (28, 28, 1), seed=0, learning_rate=1e-3)
    if poison:
        poison(model)
    meta = {"threshold": 0.5, "class_names": ["NORMAL", "PNEUMONIA"], "image_size": [28, 28],
            "color_mode": "grayscale", "preprocess": "standardize", "rescale": 1 / 255}
    meta.update(metadata or {})
    model.save(str(path), metadata=meta)
    return str(path)


def films(tmp_path, *relative):
    from PIL import Image

    rng = np.random.default_rng(1)
    paths = []
    for name in relative:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


def test_predict_gives_each_image_its_own_gradcam_even_with_the_same_name(tmp_path):
    model = saved_model(tmp_path / "model.npz")
    paths = films(tmp_path, "a/x.png", "b/x.png", "c/x.jpeg.png")
    result = run(["predict", *paths, "--model", model, "--out", "cams"], tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [line.split("Grad-CAM: ")[1] for line in result.stdout.strip().splitlines()]
    assert len(set(written)) == 3 and all(os.path.isfile(tmp_path / p) for p in written)
    assert sorted(os.listdir(tmp_path / "cams")) == ["x-2_gradcam.png", "x.jpeg_gradcam.png",
                                                      "x_gradcam.png"]


@pytest.mark.parametrize("metadata, message", [
    ({"threshold": "abc"}, "'threshold' must be a number in [0, 1]"),
    ({"threshold": 3}, "'threshold' must be a number in [0, 1]"),
    ({"class_names": ["NORMAL"]}, "'class_names' must be a list of 2 distinct strings"),
    ({"image_size": [64, 64]}, "'image_size' must be [height, width] equal to the model's input"),
    ({"color_mode": "rgb"}, "'color_mode' must be one of ['grayscale']"),
    ({"preprocess": "magic"}, "asks for preprocessing 'magic'"),
    ({"preprocess": "rescale", "rescale": "x"}, "'rescale' must be a positive number"),
])
def test_predict_refuses_crafted_metadata_naming_the_key(metadata, message, tmp_path):
    model = saved_model(tmp_path / "model.npz", metadata)
    result = run(["predict", *films(tmp_path, "x.png"), "--model", model], tmp_path, timeout=600)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "model.npz" in result.stderr


def test_predict_refuses_a_model_whose_output_is_not_finite(tmp_path):
    def overflow(model):   # +-3e38 kernels: the first convolution sums inf and -inf, NaN
        kernel = model.layers[0].params["W"]
        kernel[...] = np.where(np.arange(kernel.size).reshape(kernel.shape) % 2, 3e38, -3e38)
    model = saved_model(tmp_path / "model.npz", poison=overflow)
    result = run(["predict", *films(tmp_path, "x.png"), "--model", model], tmp_path, timeout=600)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no finite probability" in result.stderr and "x.png" in result.stderr
    assert "nan ->" not in result.stdout.lower() and "Traceback" not in result.stderr


def test_predict_refuses_a_model_with_nan_weights(tmp_path):
    def nan(model):
        model.layers[-1].params["W"][0, 0] = np.nan
    model = saved_model(tmp_path / "model.npz", poison=nan)
    result = run(["predict", *films(tmp_path, "x.png"), "--model", model], tmp_path, timeout=600)
    assert result.returncode == 2 and "non-finite" in result.stderr, result.stderr[-2000:]
    assert "nan ->" not in result.stdout.lower() and "Traceback" not in result.stderr
