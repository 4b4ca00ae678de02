import keras
import numpy as np
import pytest

from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.layers.masked_conv2d import pixelcnn_mask
from tests import helpers


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_mask_pattern(mask_type):
    mask = pixelcnn_mask((5, 5), 2, 4, mask_type)[..., 0, 0]
    expected = np.zeros((5, 5))
    expected[:2] = 1.0  # rows above the centre
    expected[2, :2] = 1.0  # left of the centre
    expected[2, 2] = mask_type == "B"
    np.testing.assert_array_equal(mask, expected)
    # the same pattern for every (input, output) channel pair
    full = pixelcnn_mask((5, 5), 2, 4, mask_type)
    np.testing.assert_array_equal(full, np.broadcast_to(expected[:, :, None, None], full.shape))


def test_color_groups_at_centre():
    # 3 input channels (R, G, B), 6 outputs: two per colour, contiguous.
    a = pixelcnn_mask((3, 3), 3, 6, "A", color_channels=3)[1, 1]
    b = pixelcnn_mask((3, 3), 3, 6, "B", color_channels=3)[1, 1]
    np.testing.assert_array_equal(a[:, 0:2], [[0, 0], [0, 0], [0, 0]])  # R sees nothing of its pixel
    np.testing.assert_array_equal(a[:, 2:4], [[1, 1], [0, 0], [0, 0]])  # G sees R only
    np.testing.assert_array_equal(a[:, 4:6], [[1, 1], [1, 1], [0, 0]])  # B sees R, G
    np.testing.assert_array_equal(b[:, 0:2], [[1, 1], [0, 0], [0, 0]])  # R sees R
    np.testing.assert_array_equal(b[:, 2:4], [[1, 1], [1, 1], [0, 0]])  # G sees R, G
    np.testing.assert_array_equal(b[:, 4:6], [[1, 1], [1, 1], [1, 1]])
    # off-centre taps of the past are open to every colour
    np.testing.assert_array_equal(pixelcnn_mask((3, 3), 3, 6, "A", color_channels=3)[0, 2], np.ones((3, 6)))


def _later(h, w, i, j):
    """Bool [h, w]: the pixels at or after (i, j) in raster order."""
    return (np.arange(h * w) >= i * w + j).reshape(h, w)


@pytest.mark.parametrize("kernel_size", [3, (5, 3)])
def test_output_ignores_current_and_later_pixels(kernel_size):
    layer = MaskedConv2D(4, kernel_size, mask_type="A")
    layer.build((None, 4, 5, 2))
    helpers.randomize_weights(layer, scale=1.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 5, 2)).astype("float32")
    y = helpers.to_np(layer(x))
    for i in range(4):
        for j in range(5):
            x2 = np.where(_later(4, 5, i, j)[None, :, :, None], rng.normal(size=x.shape), x).astype("float32")
            y2 = helpers.to_np(layer(x2))
            np.testing.assert_allclose(y2[:, i, j], y[:, i, j], atol=1e-5)
            if (i, j) != (3, 4):
                assert not np.allclose(y2, y)  # the change reached some later output


def test_color_order_with_random_kernel():
    layer = MaskedConv2D(6, 3, mask_type="B", color_channels=3)
    layer.build((None, 3, 3, 3))
    helpers.randomize_weights(layer, scale=1.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    y = helpers.to_np(layer(x))
    for c in range(3):  # change channels >= c of the centre pixel and every later pixel
        x2 = x.copy()
        x2[:, 1, 1, c:] = rng.normal(size=(2, 3 - c))
        x2[:, 1, 2:], x2[:, 2:] = rng.normal(size=x2[:, 1, 2:].shape), rng.normal(size=x2[:, 2:].shape)
        y2 = helpers.to_np(layer(x2))
        np.testing.assert_allclose(y2[:, 1, 1, : 2 * c], y[:, 1, 1, : 2 * c], atol=1e-5)
        assert not np.allclose(y2[:, 1, 1, 2 * c :], y[:, 1, 1, 2 * c :])


def test_mask_follows_kernel_with_channels_first():
    layer = MaskedConv2D(3, 3, mask_type="A", data_format="channels_first")
    layer.build((None, 2, 5, 7))
    assert layer.mask.shape == tuple(layer.kernel.shape) == (3, 3, 2, 3)


def test_config_and_keras_round_trip(tmp_path):
    layer = MaskedConv2D(6, 3, mask_type="A", color_channels=3, name="masked")
    config = helpers.assert_config_round_trip(layer).get_config()
    assert config["mask_type"] == "A" and config["color_channels"] == 3
    inputs = keras.Input((4, 4, 3))
    outputs = MaskedConv2D(3, 1, mask_type="B", color_channels=3)(keras.ops.relu(layer(inputs)))
    model = keras.Model(inputs, outputs)
    helpers.randomize_weights(model)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[1], MaskedConv2D)
    np.testing.assert_allclose(helpers.to_np(loaded(x)), helpers.to_np(model(x)), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2D(4, 2)
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2D(4, (3, 4))
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2D(4, 3, mask_type="C")
    with pytest.raises(ValueError, match="multiple of 3"):
        MaskedConv2D(4, 3, color_channels=3)
    with pytest.raises(ValueError, match="color_channels"):
        MaskedConv2D(4, 3, color_channels=2)
    with pytest.raises(ValueError, match="padding"):
        MaskedConv2D(4, 3, padding="valid")
    with pytest.raises(ValueError, match="multiple of 3"):
        MaskedConv2D(3, 3, color_channels=3).build((None, 4, 4, 2))


def test_mixed_precision_and_groups():
    from keras_ar.layers import MaskedConv2D

    layer = MaskedConv2D(6, 3, mask_type="A", color_channels=3, dtype="mixed_float16")
    y = layer(np.ones((1, 4, 4, 3), "float16"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    with pytest.raises(ValueError, match="groups"):
        MaskedConv2D(6, 3, groups=3)
