import numpy as np
import pytest

from keras_ar.models import FVSBN
from tests import helpers


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(6,)),
        dict(input_shape=(2, 3), ordering="random", seed=1),
        dict(input_shape=(3,), distribution="categorical", num_levels=3),
        dict(input_shape=(4,), num_classes=3),
        dict(input_shape=(4,), condition_shape=(2,)),
    ],
)
def test_causal_and_normalized_with_random_weights(kwargs):
    model = FVSBN(**kwargs)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)
    helpers.assert_normalized_for_every_condition(model)


def test_samples_match_probabilities():
    model = FVSBN(input_shape=(4,), ordering=[2, 0, 3, 1])
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def test_naive_sampler_completes_from_the_conditionals():
    """No cached step, so no cached == naive (the helper refuses it): completions keep the known values
    and draw the free ones from the teacher-forced conditionals, after a known prefix of the order or
    around known values later in it."""
    model = FVSBN(input_shape=(5,), ordering=[2, 0, 4, 3, 1], num_classes=2)
    assert not model.has_cached_step
    helpers.randomize_weights(model, scale=1.0)
    with pytest.raises(ValueError, match="has no cached step"):
        helpers.assert_cached_equals_naive(model, condition=1)
    known = np.array([1, 0, 1, 1, 0])
    helpers.assert_completion_frequencies(model, known, [True, False, True, False, False], condition=1)
    helpers.assert_completion_frequencies(model, known, [False, True, False, False, True], condition=0, seed=1)


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(64, 5))
    model = FVSBN(input_shape=(5,), ordering="random", seed=3)
    helpers.assert_fits(model, x)
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:8], tmp_path)
    helpers.assert_tfp_matches(model, x[:8])


def test_real_valued_head_integrates_to_one():
    model = FVSBN(input_shape=(1,), distribution="gaussian_mixture", num_components=2)
    helpers.randomize_weights(model)
    grid = np.linspace(-30, 30, 20001, dtype="float32")[:, None]
    density = np.exp(helpers.to_np(model.log_prob(grid)))
    assert abs(np.trapezoid(density, grid[:, 0]) - 1.0) < 1e-4


def test_bad_inputs():
    model = FVSBN(input_shape=(3,))
    helpers.assert_rejects_bad_inputs(model)
    with pytest.raises(ValueError, match="ordering"):
        FVSBN(input_shape=(3,), ordering=[0, 0, 1])
