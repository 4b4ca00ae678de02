import numpy as np
import pytest

from keras_ar.layers.shifted_conv2d import ShiftedConv2D
from keras_ar.layers.shifted_conv2d_transpose import ShiftedConv2DTranspose
from tests import helpers
from tests.layers.test_shifted_conv2d import moved_outputs


@pytest.mark.parametrize("direction", ["down", "down_right"])
@pytest.mark.parametrize("output_size", [(5, 7), (6, 8)])
def test_input_writes_from_its_pixel_on(direction, output_size):
    """Input (i, j) reaches output rows 2i .. 2i + kh - 1 only (and columns from 2j on for down_right),
    so the up-sampled map is as causal as the down-sampled one; any size with ceil(size / 2) = 3 x 4."""
    layer = ShiftedConv2DTranspose(3, direction=direction, strides=2)
    moved = moved_outputs(layer, (3, 4, 2), output_size=output_size)
    assert moved.shape[1:] == output_size
    kh, kw = layer.kernel_size
    i, j = np.divmod(np.arange(12), 4)
    r, c = np.arange(output_size[0]), np.arange(output_size[1])
    rows = (r[None] >= 2 * i[:, None]) & (r[None] < 2 * i[:, None] + kh)
    start = 2 * j[:, None] - ((kw - 1) // 2 if direction == "down" else 0)
    cols = (c[None] >= start) & (c[None] < start + kw)
    np.testing.assert_array_equal(moved, rows[:, :, None] & cols[:, None, :])


def test_inverts_the_shapes_of_the_strided_conv():
    x = np.zeros((1, 5, 7, 2), "float32")
    down = ShiftedConv2D(3, direction="down", strides=2)(x)
    up = ShiftedConv2DTranspose(2, direction="down", strides=2)
    assert tuple(up(down, output_size=(5, 7)).shape) == x.shape
    assert tuple(up(down).shape) == (1, 6, 8, 2)
    assert up.compute_output_shape((None, 3, 4, 3), output_size=(5, 7)) == (None, 5, 7, 2)


def test_config_round_trip():
    layer = ShiftedConv2DTranspose(4, direction="down_right", strides=2, name="up")
    x = np.random.default_rng(0).normal(size=(2, 2, 3, 2)).astype("float32")
    y = helpers.to_np(layer(x, output_size=(3, 5)))
    clone = helpers.assert_config_round_trip(layer)
    assert (clone.name, clone.direction, clone.kernel_size, clone.strides) == ("up", "down_right", (2, 2), (2, 2))
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(helpers.to_np(clone(x, output_size=(3, 5))), y, atol=1e-6)


def test_bad_arguments():
    cases = [
        (dict(direction="left"), "direction='left'"),
        (dict(padding="same"), "padding='same'"),
        (dict(output_padding=1), "output_padding"),
        (dict(kernel_size=(1, 3), strides=2), "cover its strides"),
        (dict(kernel_size=(2, 1), strides=2, direction="down_right"), "cover its strides"),
        (dict(kernel_size=(2, 4)), "odd"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            ShiftedConv2DTranspose(4, **kwargs)
    layer = ShiftedConv2DTranspose(4, strides=2)
    with pytest.raises(ValueError, match="output_size"):
        layer(np.zeros((1, 3, 4, 2), "float32"), output_size=(4, 7))  # ceil(4 / 2) != 3
