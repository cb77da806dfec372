"""The example's command line (examples/chest_xray/options.py): commands, defaults, old spellings."""

import pytest

from chest_xray import options

# Every option of the training command and its default (the names and defaults users rely on).
TRAIN_DEFAULTS = {
    "data": None, "model": "baseline", "epochs": 3, "image_size": None, "color_mode": "grayscale",
    "batch_size": 32, "learning_rate": 1e-3, "lr_schedule": "cosine", "no_class_weights": False,
    "val_fraction": 0.1, "target_sensitivity": 0.95, "preprocess": "standardize",
    "rotation": 0.05, "zoom": 0.2, "zoom_width": 0.35, "fill_mode": "constant", "contrast": 0.1,
    "sharpness": 0.0, "bootstrap": 1000, "seed": 0, "limit": None, "folds": None, "out": None,
    "cache": None, "recipe": "default", "crop_scale": 0.0, "translate": 0.0, "brightness": 0.0,
    "warmup_epochs": 0, "weight_decay": 0.0, "keep": "best", "threshold": None, "compare": None,
}


def test_no_command_means_train_with_the_same_options():
    command, args = options.parse([])
    assert command == "train" and vars(args) == TRAIN_DEFAULTS     # no "command" key: vars() is the report's settings
    assert options.parse(["--epochs", "1"]) == options.parse(["train", "--epochs", "1"])


def test_folds_is_an_alias_of_cv():
    command, args = options.parse(["--folds", "4", "--epochs", "1"])
    assert command == "cv" and args.folds == 4 and args.epochs == 1
    command, args = options.parse(["cv"])
    assert command == "cv" and args.folds == 5
    assert vars(args).keys() == TRAIN_DEFAULTS.keys()


def test_predict_takes_images_and_a_model():
    command, args = options.parse(["predict", "a.jpeg", "b.png", "--model", "m.npz"])
    assert command == "predict" and args.images == ["a.jpeg", "b.png"] and args.model == "m.npz"
    assert args.out is None


def test_the_original_recipe_sets_the_seed_projects_settings_and_options_still_win():
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
    for shown in ("(default: 3)", "(default: baseline)", "(default: 0.35)", "(default: standardize)"):
        assert shown in text
    assert "(default: None)" not in text
