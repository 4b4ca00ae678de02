import keras
import numpy as np
import pytest

from keras_ar.layers import MaskedDense
from keras_ar.layers import degrees
from tests import helpers


def _layer(**kwargs):
    in_deg = degrees.input_degrees([2, 0, 3, 1])
    args = dict(units=8, input_degrees=in_deg, output_degrees=degrees.output_degrees(in_deg, 2), strict=True)
    args.update(kwargs)
    return MaskedDense(**args)


def test_output_depends_only_on_earlier_inputs_with_any_weights():
    layer = _layer()
    x = np.random.default_rng(0).normal(size=(1, 4)).astype("float32")
    layer(x)
    helpers.randomize_weights(layer)
    jac = np.stack([helpers.to_np(layer(x + 1e-2 * np.eye(4)[d][None])) - helpers.to_np(layer(x)) for d in range(4)])
    in_deg = degrees.input_degrees([2, 0, 3, 1])
    out_deg = degrees.output_degrees(in_deg, 2)
    for d in range(4):
        for k in range(8):
            moved = abs(jac[d, 0, k]) > 1e-7
            assert moved == (out_deg[k] > in_deg[d]), (d, k)


def test_hidden_mask_is_non_strict_and_condition_is_wired_everywhere():
    layer = MaskedDense(3, input_degrees=[1, 2, 3], output_degrees=[1, 1, 2], condition_size=2)
    np.testing.assert_array_equal(layer.masks[0], [[1, 1, 1], [0, 0, 1], [0, 0, 0]])
    x = np.ones((2, 3), "float32")
    a = helpers.to_np(layer(x, condition=np.zeros((2, 2), "float32")))
    b = helpers.to_np(layer(x, condition=np.ones((2, 2), "float32")))
    assert np.all(a != b)
    with pytest.raises(ValueError, match="condition"):
        layer(x)


def test_several_connectivities_selected_per_call():
    layer = MaskedDense(2, input_degrees=[[1, 2], [2, 1]], output_degrees=[[1, 2], [1, 2]], strict=True)
    x = np.ones((1, 2), "float32")
    layer(x)
    helpers.randomize_weights(layer)
    np.testing.assert_array_equal(layer.masks[0], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(layer.masks[1], [[0, 0], [0, 1]])
    assert not np.allclose(helpers.to_np(layer(x, mask_index=0)), helpers.to_np(layer(x, mask_index=1)))


def test_config_and_keras_round_trip(tmp_path):
    layer = _layer(activation="relu", condition_size=3, name="md")
    clone = helpers.assert_config_round_trip(layer)
    np.testing.assert_array_equal(clone.masks, layer.masks)
    inputs = keras.Input((4,))
    cond = keras.Input((3,))
    model = keras.Model([inputs, cond], layer(inputs, condition=cond))
    path = str(tmp_path / "md.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = [np.ones((2, 4), "float32"), np.ones((2, 3), "float32")]
    np.testing.assert_allclose(helpers.to_np(loaded(x)), helpers.to_np(model(x)), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        MaskedDense(3, input_degrees=[1, 2], output_degrees=[1, 2])
    with pytest.raises(ValueError, match="rows"):
        MaskedDense(2, input_degrees=[[1, 2]], output_degrees=[[1, 2], [2, 1]])
    with pytest.raises(ValueError, match="Input size"):
        MaskedDense(2, input_degrees=[1, 2], output_degrees=[1, 2])(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="permutation"):
        degrees.resolve_ordering([0, 2], 2)


def test_mixed_precision():
    layer = _layer(dtype="mixed_float16")
    y = layer(np.ones((2, 4), "float16"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
