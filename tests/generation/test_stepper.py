"""The public step API: driving a Stepper by hand reproduces `model.sample`; its params are the teacher-forced ones."""

import numpy as np
import pytest

from keras_ar import generation
from keras_ar.models import NADE, RecurrentAR
from tests import helpers


def _models():
    return {
        "nade": lambda: NADE(input_shape=(5,), hidden_units=4, ordering=[2, 0, 4, 1, 3], num_classes=2),
        "recurrent": lambda: RecurrentAR(input_shape=(4, 2), num_levels=3, units=4, num_classes=2),
    }


@pytest.mark.parametrize("use_cache", [True, False])
@pytest.mark.parametrize("name", ["nade", "recurrent"])
def test_stepping_by_hand_reproduces_sample(name, use_cache):
    model = _models()[name]()
    helpers.randomize_weights(model, scale=1.0, seed=1)
    n, seed, labels = 3, 11, np.array([0, 1, 1])
    stepper = generation.Stepper(model, n, condition=labels, use_cache=use_cache)
    e = model.head.event_size
    x = np.zeros((n, model.num_groups, e), "float32")
    cache, value = stepper.init_cache(seed), np.zeros((n, e), "float32")
    for i, g in enumerate(stepper.order):
        params, cache = stepper.step(cache, value, i)
        value = helpers.to_np(stepper.draw(params, i, seed, sampler=generation.samplers.TemperatureSampler(0.8)))
        x[:, g] = value
    expected = helpers.to_np(model.sample(n, condition=labels, seed=seed, temperature=0.8, use_cache=use_cache))
    np.testing.assert_array_equal(x.reshape(expected.shape), expected)


@pytest.mark.parametrize("name", ["nade", "recurrent"])
def test_step_params_are_the_teacher_forced_params(name):
    model = _models()[name]()
    helpers.randomize_weights(model, scale=1.0, seed=2)
    n, labels = 2, np.array([1, 0])
    x = helpers.to_np(model.sample(n, condition=labels, seed=0)).astype("float32")
    expected = helpers.to_np(model(x, condition=labels)).reshape(n, model.num_groups, -1)
    stepper = generation.Stepper(model, n, condition=labels)
    flat = x.reshape(n, model.num_groups, model.head.event_size)
    cache, value = stepper.init_cache(0), np.zeros((n, model.head.event_size), "float32")
    for i, g in enumerate(stepper.order):
        params, cache = stepper.step(cache, value, i)
        for row in range(n):  # row by row: no comparison across batch rows
            np.testing.assert_allclose(helpers.to_np(params)[row], expected[row, g], atol=1e-5, rtol=1e-5)
        value = flat[:, g]
    # a known prefix in one go gives the same next params as stepping through it
    filled = stepper.fill_cache(stepper.init_cache(0), x, 3)
    params, _ = stepper.step(filled, flat[:, stepper.order[2]], 3)
    np.testing.assert_allclose(helpers.to_np(params)[0], expected[0, stepper.order[3]], atol=1e-5, rtol=1e-5)


def test_stepper_arguments_are_checked():
    model = _models()["nade"]()
    with pytest.raises(ValueError, match="batch_size"):
        generation.Stepper(model, 0, condition=np.array([0]))
    with pytest.raises(ValueError, match="num_steps"):
        generation.Stepper(model, 1, condition=np.array([0]), num_steps=4)
    with pytest.raises(ValueError, match="conditional: `condition` must be given"):
        generation.Stepper(model, 2)
    assert isinstance(generation.Stepper(model, 2, condition=[0, 1]).order, np.ndarray)
