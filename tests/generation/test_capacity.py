"""One compilation for every length up to a capacity: the number of steps is a tensor."""

import keras
import numpy as np
import pytest

from keras_ar import generation
from keras_ar.utils.compile import compiled_method
from keras_ar.utils.compile import trace_count
from keras_ar.generation.sampling import capacity_bucket
from keras_ar.models import TransformerAR, WaveNet
from tests import helpers

COMPILES = 0 if keras.backend.backend() == "torch" else 1


def _wavenet():
    model = WaveNet(input_shape=(8,), num_levels=4, residual_channels=4, dilation_channels=4, skip_channels=4,
                    num_layers_per_stack=2, num_stacks=1)
    helpers.randomize_weights(model, scale=1.0, seed=0)
    return model


def _exact_length(model, n, steps, seed, use_cache=True):
    """What the per-length path compiled: the engine on a canvas of exactly `steps` time steps."""

    def run(model, known, seed):
        return generation.sample_tensors(model, None, known, known, seed, 1.0, use_cache=use_cache)

    fn = compiled_method(model, f"test_exact_{steps}_{use_cache}", run)
    return helpers.to_np(fn(keras.ops.zeros((n, steps), "float32"), keras.ops.convert_to_tensor(seed, "int32")))


def test_capacity_bucket():
    assert [capacity_bucket(n, 8) for n in (1, 8, 9, 16, 17, 100, 101, 128, 129)] == [8, 8, 16, 16, 32, 128, 128,
                                                                                     128, 256]


@pytest.mark.parametrize("use_cache", [True, False])
def test_wavenet_compiles_once_for_100_and_101_steps(use_cache):
    model, n = _wavenet(), 2
    name = ("sample_cached" if use_cache else "sample_naive") + "_capacity128"
    a = helpers.to_np(model.sample(n, num_steps=100, seed=3, use_cache=use_cache))
    b = helpers.to_np(model.sample(n, num_steps=101, seed=3, use_cache=use_cache))
    assert a.shape == (n, 100) and b.shape == (n, 101)
    assert trace_count(model, name) == COMPILES
    np.testing.assert_array_equal(a, b[:, :100])  # the same seeds per position
    np.testing.assert_array_equal(b, _exact_length(model, n, 101, 3, use_cache))
    short = helpers.to_np(model.sample(n, num_steps=5, seed=3, use_cache=use_cache))  # below the input length
    np.testing.assert_array_equal(short, a[:, :5])
    assert trace_count(model, "sample_cached" if use_cache else "sample_naive") == COMPILES


def test_generate_compiles_once_for_chunks_up_to_a_capacity():
    model, n = _wavenet(), 2
    whole = helpers.to_np(model.sample(n, num_steps=201, seed=7))
    a, state = model.generate(100, num_samples=n, seed=7)
    b, state = model.generate(101, state=state)
    assert trace_count(model, "generate_capacity128") == COMPILES
    np.testing.assert_array_equal(np.concatenate([helpers.to_np(a), helpers.to_np(b)], 1), whole)


def test_transformer_keeps_its_max_length():
    model = TransformerAR(input_shape=(4,), num_levels=3, hidden_dim=4, num_layers=1, num_heads=1,
                          intermediate_dim=4, max_length=6)
    assert model.sample_capacity(5) == 6 and model.sample_capacity(3) == 4
    out = helpers.to_np(model.sample(2, num_steps=5, seed=0))
    assert out.shape == (2, 5)
    with pytest.raises(ValueError, match="max_length.*num_steps=7"):
        model.sample(2, num_steps=7)
