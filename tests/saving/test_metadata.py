"""minicnn.saving.metadata: check_metadata returns the prediction settings, defaults filled
in, and refuses a wrong value naming the file and the key."""

import pytest

from minicnn.layers.conv import Conv2D
from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential
from minicnn.saving import check_metadata


# --- metadata for prediction -----------------------------------------------------------------
def image_model(channels=1):
    return Sequential([Conv2D(2, 3), Flatten(), Dense(1)], input_shape=(8, 8, channels), seed=0)


def test_check_metadata_returns_the_validated_settings_and_documented_defaults():
    model = image_model()
    model.metadata = {"threshold": 0.31, "class_names": ["NORMAL", "PNEUMONIA"],
                      "image_size": [8, 8], "color_mode": "grayscale", "other": "kept"}
    assert check_metadata(model) == {"threshold": 0.31, "class_names": ["NORMAL", "PNEUMONIA"],
                                     "image_size": (8, 8), "color_mode": "grayscale"}
    model.metadata = {}
    assert check_metadata(model) == {"threshold": 0.5, "class_names": ["0", "1"],
                                     "image_size": (8, 8), "color_mode": "grayscale"}
    assert check_metadata(image_model(3))["color_mode"] == "rgb"


BAD_METADATA = [
    ({"threshold": "abc"}, "threshold"), ({"threshold": float("nan")}, "threshold"),
    ({"threshold": 1.5}, "threshold"), ({"threshold": -0.1}, "threshold"),
    ({"threshold": True}, "threshold"), ({"threshold": None}, "threshold"),
    ({"class_names": []}, "class_names"), ({"class_names": ["only one"]}, "class_names"),
    ({"class_names": [0, 1]}, "class_names"), ({"class_names": "ab"}, "class_names"),
    ({"class_names": ["a", "a"]}, "class_names"), ({"class_names": ["a", "b", "c"]}, "class_names"),
    ({"image_size": [16, 16]}, "image_size"), ({"image_size": "big"}, "image_size"),
    ({"image_size": [8]}, "image_size"), ({"image_size": [8.0, 8]}, "image_size"),
    ({"color_mode": "rgb"}, "color_mode"), ({"color_mode": "cmyk"}, "color_mode"),
    ({"color_mode": 1}, "color_mode"),
]


@pytest.mark.parametrize("metadata, key", BAD_METADATA)
def test_bad_metadata_is_a_value_error_naming_the_file_and_key(tmp_path, metadata, key):
    path = image_model().save(tmp_path / "meta.npz", metadata=metadata)
    loaded = Sequential.load(path)
    with pytest.raises(ValueError, match=rf"meta.npz.*'{key}'"):
        check_metadata(loaded, path)


def test_check_metadata_refuses_image_keys_for_a_model_without_image_input():
    model = Sequential([Dense(1)], input_shape=(4,), seed=0)
    assert check_metadata(model)["image_size"] is None
    model.metadata = {"image_size": [4, 1]}
    with pytest.raises(ValueError, match="image_size"):
        check_metadata(model)
