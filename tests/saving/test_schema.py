"""minicnn.saving.schema: an architecture that breaks the schema (unknown keys, wrong types,
unregistered classes, arguments the constructor does not take) is refused naming the file,
and the schema of an argument list is the constructor's signature."""

import inspect

import numpy as np
import pytest

from minicnn import saving
from minicnn.layers.base import Layer
from minicnn.layers.dense import Dense, Flatten
from minicnn.model import Sequential

from saving_support import LAYER_SAMPLES, craft, dense, library_layer_classes


MALFORMED = {
    # name: (edit of the architecture dict, what the message must say)
    "unknown_argument": (lambda c: dense(c)["config"].update(activation="relu"),
                         r"Dense.*unknown argument 'activation'"),
    "missing_argument": (lambda c: dense(c)["config"].pop("units"), r"Dense.*'units' is missing"),
    "argument_type": (lambda c: dense(c)["config"].update(units="10"), r"Dense.*'units'"),
    "argument_bool": (lambda c: dense(c)["config"].update(units=True), r"Dense.*'units'"),
    "argument_dict": (lambda c: c["layers"][0]["config"].update(kernel_size={"a": 1}),
                      r"Conv2D.*'kernel_size'"),
    "argument_nan": (lambda c: c["layers"][0]["config"].update(strides=float("nan")),
                     r"Conv2D.*'strides'"),
    "layer_without_config": (lambda c: dense(c).pop("config"), r"layer 3.*'config'"),
    "layer_not_a_dict": (lambda c: c["layers"].__setitem__(3, "Dense"), r"layer 3.*not a dict"),
    "layer_extra_key": (lambda c: dense(c).update(code="os.system"), r"layer 3.*'code'"),
    "class_name_not_a_string": (lambda c: dense(c).update(class_name=["Dense"]), r"class_name"),
    "class_is_a_builtin": (lambda c: dense(c).update(class_name="os.system"), r"'os.system'"),
    "params_not_a_list": (lambda c: dense(c).update(params="W"), r"layer 3.*params"),
    "params_misnamed": (lambda c: dense(c).update(params=["W", "c"]), r"layer 3.*params"),
    "layers_not_a_list": (lambda c: c.update(layers={"0": c["layers"][0]}), r"'layers'.*list"),
    "layers_empty": (lambda c: c.update(layers=[]), r"'layers'"),
    "string_version": (lambda c: c.update(format_version="1"), r"format_version"),
    "newer_version": (lambda c: c.update(format_version=99), r"newer minicnn"),
    "input_shape_text": (lambda c: c.update(input_shape="abc"), r"input_shape"),
    "input_shape_negative": (lambda c: c.update(input_shape=[5, -5, 1]), r"input_shape"),
    "dtype": (lambda c: c.update(dtype="int8"), r"dtype"),
    "model_name": (lambda c: c.update(name=5), r"'name'"),
    "metadata_not_a_dict": (lambda c: c.update(metadata=[1]), r"metadata"),
    "unknown_top_level_key": (lambda c: c.update(loader="pickle"), r"'loader'"),
    "shapes_do_not_chain": (lambda c: c["layers"].insert(0, c["layers"].pop(2)),
                            r"layer 1.*Conv2D"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_architecture_is_a_value_error_naming_file_and_problem(tmp_path, case):
    edit, problem = MALFORMED[case]
    path = craft(tmp_path, f"{case}.npz", edit_config=edit)
    with pytest.raises(ValueError, match=rf"{case}\.npz.*{problem}"):
        Sequential.load(path)


def test_an_unknown_layer_class_is_named(tmp_path):
    class Doubler(Layer):
        def forward(self, x, training=False):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    model = Sequential([Doubler(), Flatten(), Dense(1)], input_shape=(2, 2, 1), seed=0)
    path = model.save(tmp_path / "custom.npz")
    assert np.array_equal(Sequential.load(path).predict(np.ones((1, 2, 2, 1))),
                          model.predict(np.ones((1, 2, 2, 1))))  # registered: it loads
    from minicnn.layers.base import LAYER_REGISTRY
    del LAYER_REGISTRY["Doubler"]
    with pytest.raises(ValueError, match="custom.npz.*'Doubler'"):
        Sequential.load(path)


@pytest.mark.parametrize("name", sorted(LAYER_SAMPLES))
def test_the_argument_schema_is_the_constructor_signature(name):
    cls = library_layer_classes()[name]
    signature = inspect.signature(cls.__init__)
    expected = [p for p in list(signature.parameters)[1:]
                if signature.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                        inspect.Parameter.VAR_KEYWORD)]
    assert list(saving.layer_schema(cls)) == expected
    config, _ = LAYER_SAMPLES[name][0]
    assert sorted(cls(**config).get_config()) == sorted(expected)
