import keras
import numpy as np
import pytest
from keras import ops

from keras_ar.layers import RowLSTM
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
    layer = RowLSTM(**{"units": 6, **kwargs})
    layer.build((None,) + shape)
    helpers.randomize_weights(layer, scale=1.0)
    return layer


def _dependence(layer, shape, seed=0):
    """d[r, c, r', c'] = whether the output at (r, c) moves when the input at (r', c') changes."""
    h, w, _ = shape
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1,) + shape).astype("float32")
    y = helpers.to_np(layer(x))
    d = np.zeros((h, w, h, w), bool)
    for i in range(h):
        for j in range(w):
            x2 = x.copy()
            x2[:, i, j] += 1.0
            d[:, :, i, j] = np.abs(helpers.to_np(layer(x2)) - y).max(-1)[0] > 1e-6
    return d


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_receptive_field_is_a_triangle_of_the_past(mask_type):
    shape = (4, 5, 2)
    d = _dependence(_layer(shape, kernel_size=3, mask_type=mask_type), shape)
    seen = np.zeros((4, 5, 4, 5), bool)  # the state of (r, c) sees ...
    for r in range(4):
        for c in range(5):
            seen[r, c, r, max(0, c - 1) : c + (mask_type == "B")] = True  # its 1 x 3 input window
            if r:
                seen[r, c] |= seen[r - 1, max(0, c - 1) : c + 2].any(0)  # and what the 3 states above see
            np.testing.assert_array_equal(d[r, c], seen[r, c], err_msg=f"pixel {(r, c)}")
    if mask_type == "B":  # a triangle: each row above one wider on each side
        assert seen[3, 2, 3, 1:3].all() and seen[3, 2, 2, :4].all() and seen[3, 2, 1].all()
    assert not d[2, 0, 1, 2]  # the Row LSTM's blind spot: above and two to the right


def test_color_order():
    layer = _layer((2, 3, 3), units=6, mask_type="B", color_channels=3)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 3, 3)).astype("float32")
    y = helpers.to_np(layer(x))
    for ch in range(3):  # change channels >= ch of pixel (1, 1) and every later pixel
        x2 = x.copy()
        x2[:, 1, 1, ch:] += 1.0
        x2[:, 1, 2:] += 1.0
        y2 = helpers.to_np(layer(x2))
        np.testing.assert_allclose(y2[:, 1, 1, : 2 * ch], y[:, 1, 1, : 2 * ch], atol=1e-6)
        assert not np.allclose(y2[:, 1, 1, 2 * ch :], y[:, 1, 1, 2 * ch :])
        np.testing.assert_allclose(y2[:, 0], y[:, 0], atol=1e-6)
        np.testing.assert_allclose(y2[:, 1, 0], y[:, 1, 0], atol=1e-6)


@pytest.mark.parametrize("kernel_size,color_channels", [(3, 1), (5, 3)])
def test_step_equals_call(kernel_size, color_channels):
    shape = (3, 4, 3)
    layer = _layer(shape, kernel_size=kernel_size, mask_type="A", color_channels=color_channels)
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
                if r == start_row and c == 1:  # stepping a pixel again (more colours known) is harmless
                    _, cache = step(ops.convert_to_tensor(other[:, r, c]), cache, *rc, bias=bias[:, 0, 0])
                h, cache = step(ops.convert_to_tensor(x[:, r, c]), cache, *rc, bias=bias[:, 0, 0])
                np.testing.assert_allclose(helpers.to_np(h), expected[:, r, c], atol=1e-5, err_msg=f"{(r, c)}")
    fresh = layer.init_cache(2, 4, 3)
    h, _ = step(ops.convert_to_tensor(x[:, 0, 0]), fresh, *_ints(0, 0), bias=bias[:, 0, 0])
    np.testing.assert_allclose(helpers.to_np(h), expected[:, 0, 0], atol=1e-5)


def test_config_and_keras_round_trip(tmp_path):
    layer = RowLSTM(6, kernel_size=5, mask_type="A", color_channels=3, name="rows")
    config = helpers.assert_config_round_trip(layer).get_config()
    assert (config["units"], config["kernel_size"], config["mask_type"], config["color_channels"]) == (6, 5, "A", 3)
    inputs = keras.Input((3, 4, 3))
    model = keras.Model(inputs, RowLSTM(3, color_channels=3)(layer(inputs)))
    helpers.randomize_weights(model)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[1], RowLSTM)
    np.testing.assert_allclose(helpers.to_np(loaded(x)), helpers.to_np(model(x)), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="units=0"):
        RowLSTM(0)
    with pytest.raises(ValueError, match="kernel_size=4"):
        RowLSTM(6, kernel_size=4)
    with pytest.raises(ValueError, match="mask_type"):
        RowLSTM(6, mask_type="C")
    with pytest.raises(ValueError, match="units=4"):
        RowLSTM(4, color_channels=3)
    with pytest.raises(ValueError, match="color_channels"):
        RowLSTM(6, color_channels=2)
