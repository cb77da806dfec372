"""minicnn.saving.shapes: the parameter shapes known before building, checked against what
every library layer's build makes."""

import numpy as np
import pytest

from minicnn import saving

from saving_support import LAYER_SAMPLES, library_layer_classes


# --- the parameter shapes known before building, checked against the layers themselves ------
def test_every_library_layer_has_samples_here():
    assert set(library_layer_classes()) == set(LAYER_SAMPLES), \
        ("a layer was added or removed: add samples to saving_support.LAYER_SAMPLES and, "
         "if it has arrays, a shape rule to minicnn/saving/shapes.py")


@pytest.mark.parametrize("name", sorted(LAYER_SAMPLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predicted_array_shapes_match_what_build_makes(name, dtype):
    for config, input_shape in LAYER_SAMPLES[name]:
        layer = library_layer_classes()[name](**config)
        predicted = saving.expected_arrays(layer, input_shape)
        layer.build(input_shape, rng=np.random.default_rng(0), dtype=dtype)
        built = {"params": {k: v.shape for k, v in layer.params.items()},
                 "state": {k: v.shape for k, v in layer.state.items()}}
        assert predicted == built
        assert tuple(layer.compute_output_shape(input_shape)) == layer.output_shape
