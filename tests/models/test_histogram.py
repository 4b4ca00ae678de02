import numpy as np
import pytest

from keras_ar.models.histogram import Histogram
from tests import helpers


def _frequency_tv(model, samples, condition=None):
    """Total variation between sample frequencies and exp(log_prob) over the whole space."""
    xs = helpers.enumerate_space(model.event_shape, model.head.num_levels)
    cond = None if condition is None else np.full(len(xs), condition)
    p = np.exp(helpers.to_np(model.log_prob(xs, condition=cond)).astype("float64"))
    s = helpers.to_np(samples).reshape(len(samples), -1)
    idx = s @ (model.head.num_levels ** np.arange(s.shape[1])[::-1])
    freq = np.bincount(idx, minlength=len(xs)) / len(s)
    return 0.5 * np.abs(freq - p).sum()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(2, 2)),
        dict(input_shape=(2, 2), distribution="categorical", num_levels=3, num_classes=2),
    ],
)
def test_causal_and_normalized_with_random_weights(kwargs):
    model = Histogram(**kwargs)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_causal(model)
    for c in range(model.num_classes or 1):
        helpers.assert_normalized(model, condition=c if model.num_classes else None)


def test_count_is_smoothed_empirical_frequency():
    x = np.array([[0, 0], [0, 1], [0, 1], [1, 1]])  # counts of 00, 01, 10, 11: 1, 2, 0, 1
    xs = helpers.enumerate_space((2,), 2)
    model = Histogram(input_shape=(2,))
    np.testing.assert_array_equal(model.count(x), [[1, 2, 0, 1]])
    p = np.exp(helpers.to_np(model.log_prob(xs)))
    np.testing.assert_allclose(p, np.array([2, 3, 1, 2]) / 8, atol=1e-6)
    model = Histogram(input_shape=(2,), pseudocount=0.5)
    model.count(x)
    p = np.exp(helpers.to_np(model.log_prob(xs)))
    np.testing.assert_allclose(p, np.array([1.5, 2.5, 0.5, 1.5]) / 6, atol=1e-6)
    # conditionals: p(x_1 = 1 | x_0 = 0) = 2.5 / 4
    clp = np.exp(helpers.to_np(model.conditional_log_probs(np.array([[0, 1]]))))
    np.testing.assert_allclose(clp, [[4 / 6, 2.5 / 4]], atol=1e-6)


def test_count_per_class_tables_and_datasets():
    import tensorflow as tf

    x = np.array([[0, 2], [0, 2], [1, 0], [2, 2], [2, 2], [2, 2]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    xs = helpers.enumerate_space((2,), 3)
    model = Histogram(input_shape=(2,), distribution="categorical", num_levels=3, num_classes=3)
    ds = tf.data.Dataset.from_tensor_slices((x, labels)).batch(4)
    counts = model.count(ds)
    np.testing.assert_array_equal(counts, model.count(x, labels))
    for c, n_c in [(0, 3), (1, 3), (2, 0)]:  # class 2 has no data: uniform
        expected = (counts[c] + 1.0) / (n_c + 9.0)
        p = np.exp(helpers.to_np(model.log_prob(xs, condition=np.full(9, c))))
        np.testing.assert_allclose(p, expected, atol=1e-6)
    np.testing.assert_allclose(expected, 1 / 9)


@pytest.mark.parametrize(
    "kwargs", [dict(input_shape=(4,)), dict(input_shape=(2,), distribution="categorical", num_levels=4)]
)
def test_samples_match_probabilities(kwargs):
    model = Histogram(**kwargs)  # 16 configurations
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)
    assert _frequency_tv(model, model.sample_inverse_cdf(20000, seed=1)) < 0.03


def test_inverse_cdf_sampler_per_class():
    model = Histogram(input_shape=(2, 2), num_classes=2)
    helpers.randomize_weights(model, scale=1.5)
    for c in range(2):
        samples = model.sample_inverse_cdf(20000, condition=c, seed=c)
        assert samples.shape == (20000, 2, 2)
        assert _frequency_tv(model, samples, condition=c) < 0.03
    # the seed decides the draws: the same seed again, the same samples; another seed, others
    draws = helpers.to_np(model.sample_inverse_cdf(50, condition=0, seed=3))
    np.testing.assert_array_equal(helpers.to_np(model.sample_inverse_cdf(50, condition=0, seed=3)), draws)
    assert not np.array_equal(helpers.to_np(model.sample_inverse_cdf(50, condition=0, seed=4)), draws)


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(64, 3))
    labels = rng.integers(0, 2, size=(64,))
    model = Histogram(input_shape=(3,), distribution="categorical", num_levels=3, num_classes=2, pseudocount=0.5)
    model.count(x, labels)
    helpers.assert_fits(model, x, condition=labels)
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:8], tmp_path, condition=labels[:8])
    helpers.assert_tfp_matches(model, x[:8], condition=labels[:8])


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="2097152"):
        Histogram(input_shape=(21,))
    with pytest.raises(ValueError, match="condition_shape"):
        Histogram(input_shape=(3,), condition_shape=(2,))
    with pytest.raises(ValueError, match="pseudocount"):
        Histogram(input_shape=(3,), pseudocount=0.0)
    with pytest.raises(ValueError, match="bernoulli"):
        Histogram(input_shape=(3,), distribution="gaussian_mixture")
    model = Histogram(input_shape=(3,))
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="0..1"):
        model.count(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="shape"):
        model.count(np.zeros((2, 4), "int32"))
    with pytest.raises(ValueError, match="no example"):
        model.count(np.zeros((0, 3), "int32"))
    with pytest.raises(ValueError, match="condition"):
        Histogram(input_shape=(3,), num_classes=2).count(np.zeros((2, 3), "int32"))
