"""Samplers: greedy is the argmax chain, top-k / top-p draw from the renormalised truncation, temperature is today's."""

import keras
import numpy as np
import pytest

from keras_ar.generation import samplers
from keras_ar.utils.compile import trace_count
from keras_ar.models import FVSBN, WaveNet
from tests import helpers


def _wavenet(levels=4, length=3, seed=0):
    model = WaveNet(input_shape=(length,), num_levels=levels, residual_channels=4, dilation_channels=4,
                    skip_channels=4, num_layers_per_stack=2, num_stacks=1)
    helpers.randomize_weights(model, scale=1.0, seed=seed)
    return model


def _conditionals(model, x):
    """log p(level | x_<i) of every level at every dimension, teacher-forced on `x`: `[n, D, levels]`."""
    params = keras.ops.convert_to_tensor(helpers.to_np(model(x)))
    return helpers.to_np(samplers.sampler.level_log_probs(model.head, params, samplers.GreedySampler()))


@pytest.mark.parametrize("kind", ["categorical", "bernoulli"])
def test_greedy_is_the_argmax_of_every_conditional(kind):
    model = _wavenet() if kind == "categorical" else FVSBN(input_shape=(5,))
    helpers.randomize_weights(model, scale=1.0, seed=3)
    x = helpers.to_np(model.sample(3, seed=0, sampler="greedy"))
    again = helpers.to_np(model.sample(3, seed=1, sampler=samplers.GreedySampler()))
    np.testing.assert_array_equal(x, again)  # no randomness
    log_probs = _conditionals(model, x).reshape(3, x.shape[1], -1)
    # teacher-forced on the greedy event itself: each value is the argmax given the values before it
    np.testing.assert_array_equal(x, np.argmax(log_probs, axis=-1))
    assert np.ptp(log_probs, axis=-1).min() > 1e-3  # no ties, so the argmax is unique


def _truncated(log_probs, sampler):
    """The renormalised top-k / top-p conditionals `[..., levels]` (NumPy, ties kept)."""
    probs = np.exp(log_probs - log_probs.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    ranked = -np.sort(-probs, axis=-1)
    if isinstance(sampler, samplers.TopKSampler):
        last = ranked[..., min(sampler.k, probs.shape[-1]) - 1 : min(sampler.k, probs.shape[-1])]
    else:
        kept = ((np.cumsum(ranked, -1) - ranked) < sampler.p).sum(-1, keepdims=True)
        last = np.take_along_axis(ranked, kept - 1, -1)
    q = np.where(probs >= last, probs, 0.0)
    return q / q.sum(-1, keepdims=True)


@pytest.mark.parametrize("sampler", [samplers.TopKSampler(k=2), samplers.TopPSampler(p=0.6)], ids=["top_k", "top_p"])
def test_truncated_samplers_draw_from_the_renormalised_truncation(sampler):
    model = _wavenet(levels=4, length=2, seed=1)
    space = helpers.enumerate_space((2,), 4)  # 16 events
    log_probs = _conditionals(model, space).reshape(16, 2, 4)
    q = _truncated(log_probs, sampler)
    joint = np.prod(np.take_along_axis(q, space[:, :, None], -1)[..., 0], axis=-1)  # q(x) of each event
    assert 0 < (joint > 0).sum() < 16  # the truncation rules some events out
    np.testing.assert_allclose(joint.sum(), 1.0, atol=1e-5)
    draws = helpers.to_np(model.sample(20000, seed=4, sampler=sampler))
    index = draws[:, 0] * 4 + draws[:, 1]
    assert joint[index].min() > 0, "drew a level outside the kept ones"
    freq = np.bincount(index, minlength=16) / len(index)
    assert 0.5 * np.abs(freq - joint).sum() < 0.02


def test_temperature_sampler_is_the_temperature_argument():
    model = _wavenet()
    a = helpers.to_np(model.sample(4, seed=2, temperature=0.7))
    b = helpers.to_np(model.sample(4, seed=2, sampler=samplers.TemperatureSampler(0.7)))
    c = helpers.to_np(model.sample(4, seed=2, sampler={"class_name": "temperature", "config": {"temperature": 0.7}}))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    # top-k with every level kept is temperature sampling too (the same Gumbel noise)
    d = helpers.to_np(model.sample(4, seed=2, sampler=samplers.TopKSampler(k=4, temperature=0.7)))
    np.testing.assert_array_equal(a, d)


def test_sampler_numbers_are_tensors_not_recompiles():
    model = _wavenet()
    first = helpers.to_np(model.sample(64, seed=0, sampler=samplers.TopKSampler(k=1)))
    wider = helpers.to_np(model.sample(64, seed=0, sampler=samplers.TopKSampler(k=4, temperature=2.0)))
    greedy = helpers.to_np(model.sample(64, seed=5, sampler="greedy"))
    np.testing.assert_array_equal(first, greedy)  # k=1 is greedy
    assert not np.array_equal(first, wider)
    expected = 0 if keras.backend.backend() == "torch" else 1
    assert trace_count(model, "sample_cached_TopKSampler") == expected


def test_get_names_configs_and_errors():
    for name, cls in [("temperature", samplers.TemperatureSampler), ("greedy", samplers.GreedySampler),
                      ("top_k", samplers.TopKSampler), ("top_p", samplers.TopPSampler)]:
        sampler = samplers.get(name)
        assert type(sampler) is cls
        again = samplers.get(keras.saving.serialize_keras_object(sampler))
        assert type(again) is cls and again.get_config() == sampler.get_config()
    assert samplers.get({"class_name": "TopKSampler", "config": {"k": 3}}).k == 3
    with pytest.raises(ValueError, match="Received: sampler='nucleus'"):
        samplers.get("nucleus")
    with pytest.raises(ValueError, match="k=0"):
        samplers.TopKSampler(k=0)
    with pytest.raises(ValueError, match="p=1.5"):
        samplers.TopPSampler(p=1.5)
    with pytest.raises(ValueError, match="temperature=0"):
        samplers.TemperatureSampler(temperature=0)


def test_sampler_arguments_are_checked_by_sample():
    model = FVSBN(input_shape=(3,))
    with pytest.raises(ValueError, match="not both.*temperature=0.5"):
        model.sample(2, sampler="top_k", temperature=0.5)
    real = FVSBN(input_shape=(3,), distribution="gaussian_mixture", num_components=2)
    with pytest.raises(ValueError, match="TopPSampler.*GaussianMixture.*TemperatureSampler"):
        real.sample(2, sampler="top_p")
    assert tuple(real.sample(2, seed=0, sampler="temperature").shape) == (2, 3)
