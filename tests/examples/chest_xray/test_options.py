"""The example's command line (examples/chest_xray/options.py): commands, defaults, old spellings."""

import pytest

from chest_xray import options

# Every option of the training command and its default (the names and defaults users rely on).
TRAIN_DEFAULTS = {
    "data": None, "model": "batchnorm", "epochs": 16, "image_size": None, "color_mode": "grayscale",
    "batch_size": 32, "learning_rate": 1e-3, "lr_schedule": "cosine", "no_class_weights": False,
    "val_fraction": 0.1, "target_sensitivity": 0.95, "preprocess": "standardize",
    "rotation": 0.05, "zoom": 0.2, "zoom_width": 0.35, "fill_mode": "constant", "contrast": 0.1,
    "sharpness": 0.0, "bootstrap": 1000, "seed": 0, "limit": None, "folds": None, "out": None,
    "cache": None, "recipe": "default", "crop_scale": 0.0, "translate": 0.0, "brightness": 0.0,
    "warmup_epochs": 0, "weight_decay": 0.0, "keep": "best", "threshold": None, "tta": True,
    "overwrite": False, "compare": None, "task": "binary",
}


@pytest.fixture
def full_data(tmp_path, monkeypatch):
    """A $MINICNN_DATA, so that parse() does not fall back to the embedded demo's recipe."""
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)


def test_no_command_means_train_with_the_same_options(full_data):
    command, args = options.parse([])
    assert command == "train" and vars(args) == TRAIN_DEFAULTS     # no "command" key: vars() is the report's settings
    assert options.parse(["--epochs", "1"]) == options.parse(["train", "--epochs", "1"])


def test_folds_is_an_alias_of_cv(full_data):
    command, args = options.parse(["--folds", "4", "--epochs", "1"])
    assert command == "cv" and args.folds == 4 and args.epochs == 1
    command, args = options.parse(["cv"])
    assert command == "cv" and args.folds == 5
    assert vars(args).keys() == TRAIN_DEFAULTS.keys()


def test_predict_takes_images_and_a_model():
    command, args = options.parse(["predict", "a.jpeg", "b.png", "--model", "m.npz"])
    assert command == "predict" and args.images == ["a.jpeg", "b.png"] and args.model == "m.npz"
    assert args.out is None


def test_the_original_recipe_sets_the_seed_projects_settings_and_options_still_win(full_data):
    _, args = options.parse(["--recipe", "original"])
    for name, value in options.RECIPES["original"].items():
        assert getattr(args, name) == value, name
    assert (args.color_mode, args.image_size, args.epochs, args.threshold) == ("rgb", 224, 3, 0.5)
    _, args = options.parse(["--recipe", "original", "--epochs", "5", "--seed", "2"])
    assert args.epochs == 5 and args.seed == 2 and args.preprocess == "rescale"
    _, args = options.parse(["cv", "--recipe", "original"])
    assert args.keep == "last" and args.folds == 5


@pytest.mark.parametrize("argv, message", [
    (["--crop-scale", "1.5"], "--crop-scale must be 0 (off) or in (0, 1]"),
    (["--warmup-epochs", "3", "--epochs", "3"], "--warmup-epochs must be >= 0 and smaller"),
    (["--threshold", "2"], "--threshold must be in [0, 1]"),
    (["--sharpness", "1.5"], "--sharpness must be in [0, 1]"),
    (["cv", "--folds", "1"], "--folds must be >= 2"),
    (["--limit", "2"], "--limit >= 4"),
    (["--val-fraction", "1"], "--val-fraction must be in (0, 1)"),
    (["predict", "a.jpeg"], "--model"),
])
def test_bad_options_exit_2_naming_them(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        options.parse(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_help_lists_the_commands_and_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        options.parse(["--help"])
    top = capsys.readouterr().out
    assert all(name in top for name in ("train", "cv", "predict"))
    with pytest.raises(SystemExit):
        options.parse(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())    # argparse wraps lines
    for shown in ("(default: 16)", "(default: batchnorm)", "(default: 0.35)", "(default: standardize)"):
        assert shown in text
    assert "(default: None)" not in text


def test_the_demo_recipe_applies_when_the_data_falls_back_to_the_embedded_set(tmp_path,
                                                                             monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)                              # no ./data/chest_xray here
    _, args = options.parse([])
    assert args.recipe == "demo"
    for name, value in options.RECIPES["demo"].items():
        assert getattr(args, name) == value, name
    assert args.image_size == 28 and args.rotation == 0
    _, args = options.parse(["--epochs", "2", "--zoom", "0.05"])   # given options still win
    assert (args.epochs, args.zoom, args.model) == (2, 0.05, "small")
    _, args = options.parse(["--data", "embedded", "--seed", "3"])
    assert args.recipe == "demo" and args.seed == 3
    _, args = options.parse(["--recipe", "original"])                # a chosen recipe stays
    assert args.recipe == "original" and args.image_size == 224
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    _, args = options.parse([])
    assert args.recipe == "default" and args.image_size is None


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "0"], "--image-size must be in [1, 512]"),
    (["--image-size", "100000"], "--image-size must be in [1, 512]"),
    (["--image-size", "4", "--model", "baseline"], "--image-size 4 is too small for --model baseline"),
    (["--image-size", "20", "--model", "batchnorm"], "too small for --model batchnorm"),
    (["--learning-rate", "-1"], "--learning-rate must be > 0"),
    (["--learning-rate", "0"], "--learning-rate must be > 0"),
    (["--learning-rate", "nan"], "--learning-rate must be a finite number"),
    (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
    (["--rotation", "-3"], "--rotation must be >= 0"),
    (["--zoom", "-0.1"], "--zoom must be >= 0"),
    (["--zoom-width", "1.5"], "must be below 1"),
    (["--bootstrap", "-5"], "--bootstrap must be >= 0"),
    (["--seed", "-1"], "--seed >= 0"),
])
def test_bad_numbers_exit_2_before_any_work(argv, message, full_data, capsys):
    with pytest.raises(SystemExit) as exit_info:
        options.parse(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_an_out_or_cache_that_is_a_file_or_read_only_exits_2(tmp_path, full_data, capsys):
    (tmp_path / "file").write_text("x")
    for argv, message in ((["--out", str(tmp_path / "file")], "is a file, not a folder"),
                          (["--cache", str(tmp_path / "file")], "is a file, not a folder"),
                          (["--out", str(tmp_path / "file" / "run")], "cannot be created")):
        with pytest.raises(SystemExit) as exit_info:
            options.parse(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err, argv


def test_a_read_only_out_exits_2(tmp_path, full_data, capsys, monkeypatch):
    import os
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            # Running as root, whom a read-only mode does not stop: answer os.access as it
            # answers any other user, so the check itself is still what is tested.
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda path, mode, *a, **k: (
                False if mode & os.W_OK and os.path.abspath(path) == str(folder)
                else real_access(path, mode, *a, **k)))
        with pytest.raises(SystemExit) as exit_info:
            options.parse(["--out", str(folder / "run")])
        assert exit_info.value.code == 2 and "is not writable" in capsys.readouterr().err
    finally:
        folder.chmod(0o755)


def test_an_out_holding_another_run_needs_overwrite(tmp_path, full_data, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    (tmp_path / "run" / "model.npz").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        options.parse(["--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "holds another run (model.npz, metrics.json)" in err
    assert "--overwrite" in err
    _, args = options.parse(["--out", str(tmp_path / "run"), "--overwrite"])
    assert args.overwrite
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")       # not a run: fine
    options.parse(["--out", str(tmp_path / "other")])


def test_task_defaults_to_binary_and_3class_refuses_the_threshold_options(full_data, capsys):
    _, args = options.parse([])
    assert args.task == "binary" and args.target_sensitivity == options.TARGET_SENSITIVITY
    _, args = options.parse(["--task", "3class"])
    assert args.task == "3class" and args.threshold is None and args.target_sensitivity is None
    _, args = options.parse(["cv", "--task", "3class"])
    assert args.task == "3class" and args.folds == 5
    for extra in (["--threshold", "0.5"], ["--target-sensitivity", "0.9"]):
        with pytest.raises(SystemExit) as stop:
            options.parse(["--task", "3class", *extra])
        assert stop.value.code == 2
        assert "apply to --task binary only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        options.parse(["--task", "4class"])
    assert "invalid choice: '4class'" in capsys.readouterr().err
    # The original recipe's threshold 0.5 is a binary rule: dropped for 3 classes, kept else.
    assert options.parse(["--recipe", "original"])[1].threshold == 0.5
    _, args = options.parse(["--recipe", "original", "--task", "3class"])
    assert args.threshold is None and args.epochs == 3 and args.image_size == 224
    with pytest.raises(SystemExit):
        options.parse(["--target-sensitivity", "0"])     # still checked for binary
    assert "--target-sensitivity in (0, 1]" in capsys.readouterr().err
