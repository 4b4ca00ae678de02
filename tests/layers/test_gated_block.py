import keras
import numpy as np
import pytest
from keras import ops

from keras_ar.layers.gated_block import GatedBlock
from tests import helpers


def _outputs(block, x, **kwargs):
    return [None if t is None else helpers.to_np(t) for t in block((x, x), **kwargs)]


@pytest.mark.parametrize(
    "kwargs, channels",
    [
        (dict(filters=6, kernel_size=3, mask_type="A"), 1),
        (dict(filters=6, kernel_size=5, mask_type="A", color_channels=3, skip_filters=9, dropout=0.2), 3),
        (dict(filters=6, kernel_size=3, mask_type="B", horizontal_output=False), 6),
    ],
)
def test_shapes_and_config_round_trip(kwargs, channels):
    block = GatedBlock(**kwargs, name="gated")
    x = np.random.default_rng(0).normal(size=(2, 3, 4, channels)).astype("float32")
    cond, cmap = np.ones((2, 5), "float32"), np.ones((2, 3, 4, 2), "float32")
    v, h, skip = _outputs(block, x, condition=cond, condition_map=cmap)
    assert v.shape == (2, 3, 4, 6) and skip.shape == (2, 3, 4, kwargs.get("skip_filters", 6))
    assert h is None if kwargs.get("horizontal_output") is False else h.shape == (2, 3, 4, 6)
    clone = helpers.assert_config_round_trip(block)
    assert clone.name == "gated"
    # the same weights give the same outputs
    clone((x, x), condition=cond, condition_map=cmap)
    clone.set_weights(block.get_weights())
    for a, b in zip(_outputs(clone, x, condition=cond, condition_map=cmap), (v, h, skip)):
        if b is not None:
            np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("color_channels", [1, 3])
def test_horizontal_output_is_causal(mask_type, color_channels):
    """The horizontal (and skip) output of a sub-pixel never moves when a later sub-pixel changes,
    nor (mask A) when the sub-pixel itself changes; it does see the pixel just before it."""
    channels = 3 if color_channels == 3 else 1
    block = GatedBlock(6, kernel_size=3, mask_type=mask_type, color_channels=color_channels)
    height, width = 3, 4
    x = np.random.default_rng(0).normal(size=(1, height, width, 6 if mask_type == "B" else channels))
    x = x.astype("float32")
    block((x, x))
    helpers.randomize_weights(block)
    d = height * width * channels
    # row j: sub-pixel j changed (a mask-B block reads a previous block: the colour group of its channels)
    changed = np.repeat(x, d, axis=0).reshape(d, d, -1)
    changed[np.arange(d), np.arange(d)] += 1.0
    changed = changed.reshape((d,) + x.shape[1:])
    for index in (1, 2):  # the horizontal and the skip output
        changes = helpers.changes_by_row(lambda v, i=index: _outputs(block, v)[i].reshape(d, d, -1), x, changed)
        moved = changes.max(-1).T  # [output sub-pixel, input sub-pixel], each row against itself
        allowed = np.tril(np.ones((d, d), bool), 0 if mask_type == "B" else -1)
        assert np.all(moved[~allowed] == 0.0), "an output depends on a later (or, mask A, its own) sub-pixel"
        k = np.arange(1, d)
        same_row = (k % channels > 0) | ((k // channels) % width > 0)
        assert np.all(moved[k, k - 1][same_row] > 1e-4)  # and on the sub-pixel just before it in its row
        if mask_type == "B":
            assert np.all(np.diagonal(moved) > 1e-4)


def test_incremental_parts_equal_call():
    block = GatedBlock(6, kernel_size=5, mask_type="B", color_channels=3)
    rng = np.random.default_rng(0)
    v, h = (rng.normal(size=(2, 3, 4, 6)).astype("float32") for _ in range(2))
    cond, cmap = rng.normal(size=(2, 2)).astype("float32"), rng.normal(size=(2, 3, 4, 3)).astype("float32")
    v_out, h_out, skip = (helpers.to_np(t) for t in block((v, h), condition=cond, condition_map=cmap))
    padded = ops.pad(v, [[0, 0], [2, 0], [2, 2], [0, 0]])
    row_out, links = block.vertical_stack(padded, cond, cmap)
    np.testing.assert_allclose(helpers.to_np(row_out), v_out, atol=1e-5)
    links = np.pad(helpers.to_np(links)[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]])
    hp = np.pad(h, [[0, 0], [0, 0], [2, 0], [0, 0]])
    for r in range(3):
        for c in range(4):
            args = (hp[:, r, c : c + 3], links[:, r, c], cond, cmap[:, r, c])
            out, s = block.horizontal_pixel(*(ops.convert_to_tensor(a) for a in args))
            np.testing.assert_allclose(helpers.to_np(out), h_out[:, r, c], atol=1e-5)
            np.testing.assert_allclose(helpers.to_np(s), skip[:, r, c], atol=1e-5)


def test_bad_arguments():
    for kwargs, match in [
        (dict(filters=0), "filters=0"),
        (dict(filters=4, color_channels=3), "filters=4"),
        (dict(filters=6, color_channels=3, skip_filters=4), "skip_filters=4"),
        (dict(filters=6, kernel_size=4), "kernel_size=4"),
        (dict(filters=6, mask_type="C"), "mask_type"),
        (dict(filters=6, color_channels=2), "color_channels"),
        (dict(filters=6, dropout=1.0), "dropout"),
        (dict(filters=6, horizontal_output=1), "horizontal_output"),
    ]:
        with pytest.raises(ValueError, match=match):
            GatedBlock(**kwargs)
    x = keras.ops.ones((1, 2, 2, 3))
    with pytest.raises(ValueError, match="residual"):
        GatedBlock(6, mask_type="B")((x, x))
