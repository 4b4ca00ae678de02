import keras
import numpy as np
import pytest
from keras import ops

from keras_ar.layers import DiagonalBiLSTM
from keras_ar.layers.diagonal_bilstm import skew
from keras_ar.layers.diagonal_bilstm import unskew
from tests import helpers


def _jit_on_jax(fn):
    """On JAX one `jax.jit` per shapes for every call: eagerly, JAX compiles each op (and each
    `cond`) again on every call of a step."""
    if keras.backend.backend() != "jax":
        return fn
    import jax

    return jax.jit(fn)


def _ints(*values):
    return [ops.convert_to_tensor(v, "int32") for v in values]


def _layer(shape, **kwargs):
    layer = DiagonalBiLSTM(**{"units": 6, **kwargs})
    layer.build((None,) + shape)
    helpers.randomize_weights(layer, scale=1.0)
    return layer


def test_skew_and_unskew():
    x = np.arange(1, 2 * 3 * 4 * 2 + 1, dtype="float32").reshape(2, 3, 4, 2)
    s = helpers.to_np(skew(x))
    assert s.shape == (2, 3, 6, 2)
    for r in range(3):
        np.testing.assert_array_equal(s[:, r, r : r + 4], x[:, r])  # row r shifted right by r
        assert not s[:, r, :r].any() and not s[:, r, r + 4 :].any()
    np.testing.assert_array_equal(helpers.to_np(unskew(s, 4)), x)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_receptive_field_is_the_whole_past(mask_type):
    """No future, and with mask B no blind spot: the output at (r, c) depends on exactly the inputs
    before it in raster order and itself, the pixels above and to the right included. (With mask A
    a 1x1 input-to-state sees no pixel of its own direction: only the mirrored one, rows above.)"""
    h, w = 4, 4
    layer = _layer((h, w, 2), mask_type=mask_type)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, h, w, 2)).astype("float32")
    y = helpers.to_np(layer(x))
    position = np.arange(h * w).reshape(h, w)
    for i in range(h):
        for j in range(w):
            x2 = x.copy()
            x2[:, i, j] += 1.0
            moved = np.abs(helpers.to_np(layer(x2)) - y).max(-1)[0] > 1e-6  # [h, w]
            if mask_type == "B":
                np.testing.assert_array_equal(moved, position >= i * w + j, err_msg=f"input pixel {(i, j)}")
            else:
                assert not moved[position <= i * w + j].any(), f"input pixel {(i, j)}"
                assert moved[i + 1 :, : j + 1].all()  # the mirrored direction: rows below, columns <= j


def test_the_right_to_left_direction_is_used():
    """In a 4x4 image, pixel (3, 2) of the last row sees the pixel above and to its right (2, 3)
    only through the mirrored direction (shifted down a row): zero that direction's input
    weights and the dependence is gone."""
    layer = _layer((4, 4, 1))
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 1)).astype("float32")
    x2 = x.copy()
    x2[:, 2, 3] += 1.0  # above-right of (3, 2)
    assert np.abs(helpers.to_np(layer(x2))[0, 3, 2] - helpers.to_np(layer(x))[0, 3, 2]).max() > 1e-6
    layer.reverse_input_to_state.kernel.assign(np.zeros(layer.reverse_input_to_state.kernel.shape, "float32"))
    np.testing.assert_allclose(helpers.to_np(layer(x2))[0, 3, 2], helpers.to_np(layer(x))[0, 3, 2], atol=1e-6)


def test_color_order():
    layer = _layer((3, 3, 3), mask_type="B", color_channels=3)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    y = helpers.to_np(layer(x))
    for ch in range(3):  # change channels >= ch of pixel (1, 1) and every later pixel
        x2 = x.copy()
        x2[:, 1, 1, ch:] += 1.0
        x2[:, 1, 2:] += 1.0
        x2[:, 2:] += 1.0
        y2 = helpers.to_np(layer(x2))
        np.testing.assert_allclose(y2[:, 1, 1, : 2 * ch], y[:, 1, 1, : 2 * ch], atol=1e-6)
        assert not np.allclose(y2[:, 1, 1, 2 * ch :], y[:, 1, 1, 2 * ch :])
        np.testing.assert_allclose(y2[:, 0], y[:, 0], atol=1e-6)
        np.testing.assert_allclose(y2[:, 1, 0], y[:, 1, 0], atol=1e-6)


@pytest.mark.parametrize("color_channels", [1, 3])
def test_step_equals_call(color_channels):
    shape = (3, 4, 3)
    layer = _layer(shape, mask_type="A", color_channels=color_channels)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2,) + shape).astype("float32")
    bias = rng.normal(size=(2, 1, 1, 24)).astype("float32")
    expected = helpers.to_np(layer(x, bias=bias))
    fill, step = _jit_on_jax(layer.fill_cache), _jit_on_jax(layer.step)
    for start_row in (0, 2):  # fill from a teacher-forced pass (rubbish after the start), then step
        other = np.where(np.arange(3)[None, :, None, None] >= start_row, rng.normal(size=x.shape), x).astype("float32")
        _, cache = fill(ops.convert_to_tensor(other), *_ints(start_row), bias)
        for r in range(start_row, 3):
            for c in range(4):
                rc = _ints(r, c)
                if c in (0, 1) and r == start_row:  # stepping a pixel again (more colours known) is harmless
                    _, cache = step(ops.convert_to_tensor(other[:, r, c]), cache, *rc, bias=bias[:, 0, 0])
                y, cache = step(ops.convert_to_tensor(x[:, r, c]), cache, *rc, bias=bias[:, 0, 0])
                np.testing.assert_allclose(helpers.to_np(y), expected[:, r, c], atol=1e-5, err_msg=f"{(r, c)}")
    cache = layer.init_cache(2, 4, 3)  # from the start: every step
    for r in range(3):
        for c in range(4):
            y, cache = step(ops.convert_to_tensor(x[:, r, c]), cache, *_ints(r, c), bias=bias[:, 0, 0])
            np.testing.assert_allclose(helpers.to_np(y), expected[:, r, c], atol=1e-5, err_msg=f"{(r, c)}")


def test_config_and_keras_round_trip(tmp_path):
    layer = DiagonalBiLSTM(6, mask_type="A", color_channels=3, name="diagonals")
    config = helpers.assert_config_round_trip(layer).get_config()
    assert (config["units"], config["mask_type"], config["color_channels"]) == (6, "A", 3)
    inputs = keras.Input((3, 4, 3))
    model = keras.Model(inputs, DiagonalBiLSTM(3, color_channels=3)(layer(inputs)))
    helpers.randomize_weights(model)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[1], DiagonalBiLSTM)
    np.testing.assert_allclose(helpers.to_np(loaded(x)), helpers.to_np(model(x)), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="units=0"):
        DiagonalBiLSTM(0)
    with pytest.raises(ValueError, match="mask_type"):
        DiagonalBiLSTM(6, mask_type="C")
    with pytest.raises(ValueError, match="units=4"):
        DiagonalBiLSTM(4, color_channels=3)
    with pytest.raises(ValueError, match="color_channels"):
        DiagonalBiLSTM(6, color_channels=2)
