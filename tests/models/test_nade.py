import itertools

import numpy as np
import pytest

from keras_ar.models.nade import NADE
from tests import helpers

H = 8  # one hidden size (and few event shapes) for every model: JAX compiles each shape once


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(4,)),
        dict(input_shape=(3,), distribution="categorical", num_levels=3),
        dict(input_shape=(2, 2), ordering="random", seed=1),
        dict(input_shape=(4,), num_classes=3),
        dict(input_shape=(4,), ordering=[3, 0, 2, 1], order_agnostic=True),
        dict(input_shape=(3,), distribution="categorical", num_levels=3, order_agnostic=True, condition_shape=(2,)),
    ],
)
def test_causal_and_normalized_with_random_weights(kwargs):
    model = NADE(hidden_units=H, **kwargs)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)
    helpers.assert_normalized_for_every_condition(model)


def test_teacher_forced_pass_equals_one_network_per_dimension():
    model = NADE(input_shape=(4,), hidden_units=H, ordering=[2, 0, 3, 1], num_classes=3)
    helpers.randomize_weights(model)
    x = np.random.default_rng(0).integers(0, 2, size=(3, 4)).astype("float32")
    labels = np.array([0, 2, 1])
    params = helpers.to_np(model(x, condition=labels))[..., 0]
    w, c, v, b, u = (helpers.to_np(t) for t in (model.input_kernel, model.hidden_bias, model.output_kernel,
                                                 model.output_bias, model.condition_kernel))
    for i, d in enumerate(model.order):
        before = model.order[:i]
        h = 1.0 / (1.0 + np.exp(-(c + u[labels] + x[:, before] @ w[before])))
        np.testing.assert_allclose(params[:, d], h @ v[d, :, 0] + b[d, 0], atol=1e-5)


def test_samples_match_probabilities():
    model = NADE(input_shape=(4,), hidden_units=H, ordering=[2, 0, 3, 1])
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


@pytest.mark.parametrize("order_agnostic", [False, True])
def test_cached_sampler_equals_naive(order_agnostic):
    model = NADE(input_shape=(3,), hidden_units=H, ordering=[2, 0, 1], order_agnostic=order_agnostic,
                 distribution="categorical", num_levels=3, num_classes=3)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_cached_equals_naive(model, condition=1)
    known = np.array([2, 0, 1])
    mask = np.array([True, False, True])
    labels = np.array([0, 1, 2] * 2)
    cached, naive = (
        helpers.to_np(model.sample(6, condition=labels, known=known, known_mask=mask, seed=1, use_cache=c))
        for c in (True, False)
    )
    np.testing.assert_array_equal(cached, naive)
    np.testing.assert_array_equal(cached[:, mask], np.broadcast_to(known[mask], (6, 2)))


def test_order_agnostic_estimator_is_unbiased():
    # E[D / (D - d) sum_{unobserved} log p(x_i | x_obs)] = mean over the D! orders of log p_order(x).
    model = NADE(input_shape=(4,), hidden_units=H, order_agnostic=True)
    helpers.randomize_weights(model)
    x = np.array([[1, 0, 1, 1]], "float32")
    exact = []
    for order in itertools.permutations(range(4)):
        other = NADE(input_shape=(4,), hidden_units=H, order_agnostic=True, ordering=list(order))
        other.set_weights(model.get_weights())
        exact.append(helpers.to_np(other.log_prob(x))[0])
    draws = helpers.to_np(model.log_prob_from_params(None, np.repeat(x, 20000, axis=0), None, training=True))
    assert abs(draws.mean() - np.mean(exact)) < 4 * draws.std() / np.sqrt(len(draws)) + 1e-4


def test_order_agnostic_fit_normalized_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(64, 4))
    model = NADE(input_shape=(4,), hidden_units=H, order_agnostic=True, ordering="random", seed=4)
    helpers.assert_fits(model, x)
    helpers.assert_normalized(model)
    helpers.assert_causal(model)
    helpers.assert_keras_round_trip(model, x[:8], tmp_path)


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(64, 3))
    labels = rng.integers(0, 3, size=(64,))
    model = NADE(input_shape=(3,), distribution="categorical", num_levels=3, hidden_units=H, ordering="random",
                 seed=3, num_classes=3)
    helpers.assert_fits(model, x, condition=labels)
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:8], tmp_path, condition=labels[:8])
    helpers.assert_tfp_matches(model, x[:8], condition=labels[:8])


def test_bad_inputs():
    model = NADE(input_shape=(3,), hidden_units=H)
    helpers.assert_rejects_bad_inputs(model)
    with pytest.raises(ValueError, match="ordering"):
        NADE(input_shape=(3,), ordering=[0, 0, 1])
    with pytest.raises(ValueError, match="hidden_units=0"):
        NADE(input_shape=(3,), hidden_units=0)
    with pytest.raises(ValueError, match="order_agnostic"):
        NADE(input_shape=(3,), order_agnostic="yes")
    with pytest.raises(ValueError, match="event_size"):
        NADE(input_shape=(2, 2, 3), distribution="logistic_mixture", num_levels=4)
    with pytest.raises(ValueError):
        NADE(input_shape=(3,), activation="no_such_activation")


def test_direct_connection_is_causal_normalised_and_cached_sampling_matches():
    model = NADE(input_shape=(2, 3), hidden_units=8, ordering="random", seed=2, direct_connection=True,
                 distribution="categorical", num_levels=2, num_classes=2)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)
    for c in (0, 1):
        helpers.assert_normalized(model, condition=c)
    helpers.assert_cached_equals_naive(model, condition=1)
    helpers.assert_config_round_trip(model)
    with pytest.raises(ValueError, match="order_agnostic"):
        NADE(input_shape=(3,), direct_connection=True, order_agnostic=True)


def test_dropout_only_while_training():
    model = NADE(input_shape=(4,), hidden_units=16, dropout=0.5)
    helpers.randomize_weights(model)
    x = np.array([[0, 1, 1, 0]], "float32")
    a, b = helpers.to_np(model(x)), helpers.to_np(model(x))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(helpers.to_np(model(x, training=True)), a)
    helpers.assert_normalized(model)
    helpers.assert_config_round_trip(model)
    with pytest.raises(ValueError, match="dropout"):
        NADE(input_shape=(4,), dropout=1.0)
