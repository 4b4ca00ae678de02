import keras
import numpy as np
import pytest
from keras import ops

from keras_ar.layers.causal_dilated_conv1d import CausalDilatedConv1D
from tests import helpers


@pytest.mark.parametrize("kernel_size, dilation_rate", [(1, 1), (2, 1), (2, 4), (3, 2)])
def test_steps_equal_the_full_call(kernel_size, dilation_rate):
    layer = CausalDilatedConv1D(3, kernel_size, dilation_rate=dilation_rate, activation="tanh")
    x = np.random.default_rng(0).normal(size=(2, 9, 2)).astype("float32")
    full = helpers.to_np(layer(x))
    assert layer.buffer_size == (kernel_size - 1) * dilation_rate + 1
    for known in (0, 1, 5, 9):  # a prefix absorbed at once, then one step at a time
        cache = layer.fill_cache(x, known) if known else layer.init_cache(2)
        assert tuple(cache["buffer"].shape) == (2, layer.buffer_size, 2)
        for t in range(known, 9):
            y, cache = layer.step(x[:, t], cache)
            np.testing.assert_allclose(helpers.to_np(y), full[:, t], atol=1e-5, err_msg=f"known={known}, t={t}")


def test_causal():
    layer = CausalDilatedConv1D(2, 3, dilation_rate=2)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 10, 2)).astype("float32")
    base = helpers.to_np(layer(x))
    for t in range(10):
        y = x.copy()
        y[:, t:] = rng.normal(size=y[:, t:].shape)
        np.testing.assert_allclose(helpers.to_np(layer(y))[:, :t], base[:, :t], atol=1e-6)
        assert t < 9 or np.abs(helpers.to_np(layer(y))[:, t] - base[:, t]).max() > 1e-4  # x_t reaches y_t


def test_compiled_steps():
    """Steps inside a compiled `fori_loop` (as the generation engine runs them)."""
    layer = CausalDilatedConv1D(4, 2, dilation_rate=3)
    x = ops.convert_to_tensor(np.random.default_rng(2).normal(size=(2, 7, 3)).astype("float32"))
    full = helpers.to_np(layer(x))

    def run(x):
        def body(t, carry):
            cache, out = carry
            y, cache = layer.step(ops.take(x, t, axis=1), cache)
            return cache, ops.slice_update(out, [0, t, 0], ops.expand_dims(y, 1))

        return ops.fori_loop(0, 7, body, (layer.init_cache(2), ops.zeros((2, 7, 4))))[1]

    np.testing.assert_allclose(helpers.run_compiled(run, x), full, atol=1e-5)


def test_config_round_trip_and_save(tmp_path):
    layer = CausalDilatedConv1D(5, 3, dilation_rate=4, activation="relu", use_bias=False, name="conv")
    x = np.random.default_rng(3).normal(size=(2, 6, 2)).astype("float32")
    y = helpers.to_np(layer(x))
    clone = helpers.assert_config_round_trip(layer)
    assert (clone.kernel_size, clone.dilation_rate, clone.padding, clone.name) == ((3,), (4,), "causal", "conv")
    model = keras.Sequential([keras.Input((6, 2)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0], CausalDilatedConv1D)
    np.testing.assert_allclose(helpers.to_np(loaded(x)), y, atol=1e-6)


def test_bad_arguments():
    cases = [
        (dict(kernel_size=0), "kernel_size=0"),
        (dict(kernel_size=2.5), "kernel_size=2.5"),
        (dict(dilation_rate=0), "dilation_rate=0"),
        (dict(padding="same"), "padding='same'"),
        (dict(strides=2), "strides=2"),
        (dict(groups=2), "groups=2"),
        (dict(data_format="channels_first"), "channels_first"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            CausalDilatedConv1D(4, **{"kernel_size": 2, **kwargs})
    with pytest.raises(ValueError, match="channels"):
        CausalDilatedConv1D(4, 2).init_cache(1)
