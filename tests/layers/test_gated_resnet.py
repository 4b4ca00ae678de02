import numpy as np
import pytest

from keras_ar.layers.gated_resnet import GatedResnet
from tests import helpers


@pytest.mark.parametrize("direction", ["down", "down_right"])
def test_keeps_a_stream_causal(direction):
    """Output (r, c) moves exactly for the inputs in the window of its two shifted convolutions (rows
    r - 2 .. r; columns c - 2 .. c + 2, or c - 2 .. c for down_right) and the aux inputs in the window of one."""
    h, w, f = 4, 5, 4
    block = GatedResnet(f, direction=direction)
    rng = np.random.default_rng(0)
    x, aux = rng.normal(size=(1, h, w, f)).astype("float32"), rng.normal(size=(1, h, w, 2)).astype("float32")
    block(x, aux=aux, condition=np.ones((1, 3), "float32"))
    helpers.randomize_weights(block)
    d = h * w
    r, c = np.divmod(np.arange(d), w)
    dr, dc = r[None] - r[:, None], c[None] - c[:, None]  # [input pixel, output pixel]: output - input
    for target, reach in (("x", 2), ("aux", 1)):
        cols = np.abs(dc) <= reach if direction == "down" else (dc >= 0) & (dc <= reach)
        window = (dr >= 0) & (dr <= reach) & cols
        both = np.concatenate([x, aux], -1)  # row j: pixel j of `target` changed, against itself unchanged
        changed = np.repeat(both, d, axis=0).reshape(d, d, -1)
        changed[np.arange(d), np.arange(d), slice(0, f) if target == "x" else slice(f, None)] += 1.0

        def run(v):
            y = block(v[..., :f], aux=v[..., f:], condition=np.ones((d, 3), "float32"))
            return helpers.to_np(y).reshape(d, d, -1)

        changes = helpers.changes_by_row(run, both, changed.reshape((d,) + both.shape[1:])).max(-1)
        helpers.assert_dependencies(changes, window, name=f"[input pixel, output pixel], changes of {target}")


def test_shapes_conditions_and_config_round_trip():
    block = GatedResnet(4, direction="down_right", kernel_size=(2, 3), dropout=0.2, name="resnet")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5, 4)).astype("float32")
    cond, cmap = np.eye(2, 3, dtype="float32"), rng.normal(size=(2, 3, 5, 2)).astype("float32")
    y = helpers.to_np(block(x, condition=cond, condition_map=cmap))
    assert y.shape == x.shape
    other = helpers.to_np(block(x, condition=cond[::-1], condition_map=cmap))
    assert not np.allclose(y, other), "the condition does not change the output"
    assert not np.allclose(y, helpers.to_np(block(x, condition=cond, condition_map=cmap, training=True)))  # dropout
    clone = helpers.assert_config_round_trip(block)
    assert (clone.name, clone.kernel_size, clone.dropout) == ("resnet", (2, 3), 0.2)
    clone(x, condition=cond, condition_map=cmap)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(helpers.to_np(clone(x, condition=cond, condition_map=cmap)), y, atol=1e-6)


def test_bad_arguments_and_calls():
    for kwargs, match in [
        (dict(filters=0), "filters=0"),
        (dict(filters=4, direction="up"), "direction='up'"),
        (dict(filters=4, dropout=1.0), "dropout=1.0"),
    ]:
        with pytest.raises(ValueError, match=match):
            GatedResnet(**kwargs)
    with pytest.raises(ValueError, match="channels"):
        GatedResnet(4)(np.zeros((1, 2, 2, 3), "float32"))
    block = GatedResnet(4)
    block(np.zeros((1, 2, 2, 4), "float32"))
    with pytest.raises(ValueError, match="aux"):
        block(np.zeros((1, 2, 2, 4), "float32"), aux=np.zeros((1, 2, 2, 4), "float32"))
