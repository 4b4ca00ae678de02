import math

import numpy as np
import pytest

from keras_ar.layers.shifted_conv2d import ShiftedConv2D
from tests import helpers


def moved_outputs(layer, shape, **kwargs):
    """Bool [input pixel, out row, out col]: the outputs that move when one input pixel alone changes
    (each changed input against the unchanged one at the same batch row: `helpers.changes_by_row`).
    A change clears 1e-4 or stays below 1e-6: never a rounding difference between the two."""
    layer.build((None,) + shape)
    helpers.randomize_weights(layer, scale=1.0)
    d = shape[0] * shape[1]
    x = np.random.default_rng(0).normal(size=(1,) + shape).astype("float32")
    changed = np.repeat(x, d, axis=0).reshape(d, d, shape[2])
    changed[np.arange(d), np.arange(d)] += 1.0
    changes = helpers.changes_by_row(lambda v: helpers.to_np(layer(v, **kwargs)), x, changed.reshape((d,) + shape))
    changes = changes.max(-1)
    assert not np.any((changes >= 1e-6) & (changes <= 1e-4)), "a change of the size of float rounding"
    return changes > 1e-4


@pytest.mark.parametrize("direction", ["down", "down_right"])
@pytest.mark.parametrize("strides, kernel_size", [(1, None), (2, None), (2, (3, 5))])
def test_output_reads_the_window_that_ends_at_its_pixel(direction, strides, kernel_size):
    if direction == "down_right" and kernel_size:
        kernel_size = (3, 2)
    layer = ShiftedConv2D(3, kernel_size, direction=direction, strides=strides)
    h, w = 5, 7  # odd sizes: ceil(5 / 2) x ceil(7 / 2) outputs
    moved = moved_outputs(layer, (h, w, 2))
    kh, kw = layer.kernel_size
    assert moved.shape[1:] == (math.ceil(h / strides), math.ceil(w / strides))
    r, c = np.divmod(np.arange(h * w), w)
    i, j = np.arange(moved.shape[1]), np.arange(moved.shape[2])
    rows = (r[:, None] <= strides * i[None]) & (r[:, None] > strides * i[None] - kh)
    if direction == "down":
        cols = np.abs(c[:, None] - strides * j[None]) <= (kw - 1) // 2
    else:
        cols = (c[:, None] <= strides * j[None]) & (c[:, None] > strides * j[None] - kw)
    np.testing.assert_array_equal(moved, rows[:, :, None] & cols[:, None, :])


def test_config_round_trip():
    layer = ShiftedConv2D(4, direction="down_right", strides=2, name="shifted")
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 2)).astype("float32")
    y = helpers.to_np(layer(x))
    clone = helpers.assert_config_round_trip(layer)
    assert (clone.name, clone.direction, clone.kernel_size, clone.strides) == ("shifted", "down_right", (2, 2), (2, 2))
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(helpers.to_np(clone(x)), y, atol=1e-6)
    assert layer.compute_output_shape((None, 3, 5, 2)) == (None, 2, 3, 4)


def test_bad_arguments():
    cases = [
        (dict(direction="up"), "direction='up'"),
        (dict(padding="same"), "padding='same'"),
        (dict(dilation_rate=2), "dilation_rate"),
        (dict(data_format="channels_first"), "data_format"),
        (dict(kernel_size=(2, 2)), "odd"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            ShiftedConv2D(4, **kwargs)
