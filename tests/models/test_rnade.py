import numpy as np
import pytest

from keras_ar.models.rnade import RNADE
from tests import helpers

H, K = 8, 2  # one hidden size and mixture size for every model: JAX compiles each shape once


def test_one_dimension_integrates_to_one():
    model = RNADE(input_shape=(1,), num_components=K, hidden_units=H)
    helpers.randomize_weights(model)
    grid = np.linspace(-30, 30, 20001, dtype="float32")
    density = np.exp(helpers.to_np(model.log_prob(grid[:, None])).astype("float64"))
    assert abs(np.trapezoid(density, grid) - 1.0) < 1e-4


@pytest.mark.parametrize("kwargs", [dict(ordering=[1, 0]), dict(order_agnostic=True, rescale_activations=False)])
def test_two_dimensions_integrate_to_one_and_causal(kwargs):
    model = RNADE(input_shape=(2,), num_components=K, hidden_units=H, **kwargs)
    helpers.randomize_weights(model, scale=0.3)
    helpers.assert_causal(model)
    grid = np.linspace(-12, 12, 801, dtype="float32")
    xs = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    density = np.exp(helpers.to_np(model.log_prob(xs)).astype("float64")).reshape(len(grid), len(grid))
    assert abs(np.trapezoid(np.trapezoid(density, grid, axis=1), grid) - 1.0) < 1e-3


def assert_cached_close_to_naive(model, num_samples=4, seed=3, **kwargs):
    # The running sum and the cumulative sum may round differently in compiled code (1 ulp in
    # a parameter); real-valued samples then agree to float precision, not bit for bit.
    a = helpers.to_np(model.sample(num_samples, seed=seed, use_cache=True, **kwargs))
    b = helpers.to_np(model.sample(num_samples, seed=seed, use_cache=False, **kwargs))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_causal_with_condition_and_cached_sampler():
    model = RNADE(input_shape=(3,), num_components=K, hidden_units=H, ordering="random", seed=1, num_classes=3)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)
    assert_cached_close_to_naive(model, condition=2)
    known = np.array([0.5, 0.0, -1.0], "float32")
    mask = np.array([True, False, True])
    assert_cached_close_to_naive(model, condition=0, known=known, known_mask=mask)
    s = helpers.to_np(model.sample(4, condition=1, known=known, known_mask=mask, seed=0))
    np.testing.assert_array_equal(s[:, mask], np.broadcast_to(known[mask], (4, 2)))


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32") * [1.0, 0.5, 2.0]
    model = RNADE(input_shape=(3,), num_components=K, hidden_units=H, ordering="random", seed=2)
    helpers.assert_fits(model, x)
    clone = helpers.assert_config_round_trip(model)
    assert "distribution" not in clone.get_config()
    helpers.assert_keras_round_trip(model, x[:8], tmp_path)
    helpers.assert_tfp_matches(model, x[:8])


def test_order_agnostic_fit():
    x = np.random.default_rng(1).normal(size=(48, 3)).astype("float32")
    model = RNADE(input_shape=(3,), num_components=K, hidden_units=H, order_agnostic=True)
    helpers.assert_fits(model, x)


def test_bad_inputs():
    model = RNADE(input_shape=(2,), num_components=K, hidden_units=H)
    with pytest.raises(ValueError, match="float"):
        model.log_prob(np.zeros((2, 2), "int32"))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(np.array([[0.0, np.nan]], "float32"))
    with pytest.raises(ValueError, match="distribution"):
        RNADE(input_shape=(2,), distribution="bernoulli")
    with pytest.raises(ValueError, match="num_components"):
        RNADE(input_shape=(2,), num_components=0)
    with pytest.raises(ValueError, match="rescale_activations"):
        RNADE(input_shape=(2,), rescale_activations=1)


def test_direct_connection_keeps_the_density_normalised_and_causal():
    model = RNADE(input_shape=(2,), num_components=2, hidden_units=4, direct_connection=True)
    helpers.randomize_weights(model, scale=0.3)
    helpers.assert_causal(model)
    grid = np.linspace(-25, 25, 1601, dtype="float32")
    xx = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    density = np.exp(helpers.to_np(model.log_prob(xx))).reshape(1601, 1601)
    assert abs(np.trapezoid(np.trapezoid(density, grid, axis=1), grid) - 1.0) < 1e-3
    helpers.assert_cached_equals_naive(model)
