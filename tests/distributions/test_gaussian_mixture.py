"""GaussianMixture head: log-sum-exp log-densities, TFP equality, normalisation, sampling."""


import keras
import numpy as np
import pytest
from scipy.special import log_softmax, logsumexp
from scipy.stats import norm

from keras_ar.distributions.gaussian_mixture import GaussianMixture
from tests import helpers

K = 3


_run = helpers.run_compiled


def _params(rng, n, raw_scale=(-10.0, 4.0)):
    logits = rng.choice([-50.0, 0.0, 50.0], (n, K)) + rng.normal(size=(n, K))
    means, raw = rng.normal(scale=3.0, size=(n, K)), rng.uniform(*raw_scale, (n, K))
    return np.concatenate([logits, means, raw], -1).astype("float32")


def _points(rng, params):
    """Values near a component (within a few scales) in 3/4 of the rows, anywhere in [-100, 100] else."""
    n, scales = len(params), np.exp(np.maximum(params[:, 2 * K :], -7.0))
    near = params[:, K : 2 * K] + rng.normal(scale=2.0, size=(n, K)) * scales
    near = np.take_along_axis(near, rng.integers(0, K, (n, 1)), 1)[:, 0]
    return np.where(np.arange(n) < 3 * n // 4, near, rng.uniform(-100.0, 100.0, n)).astype("float32")


def _assert_close(actual, expected, tol=1e-5):
    err = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))  # absolute, relative when large
    assert np.all(np.isfinite(actual)) and err.max() < tol, err.max()


def test_log_prob_equals_tfp():
    rng, head = np.random.default_rng(0), GaussianMixture(K)
    params = _params(rng, 4000, (-3.0, 4.0))
    x = _points(rng, params)
    ours = _run(head.log_prob, params, x)
    assert ours.shape == (4000,)
    theirs = helpers.tfp_view(_run, lambda p, v: head.to_tfp(p).log_prob(v), params, x)
    if theirs is not None:  # None where TFP cannot load (the error asserted)
        _assert_close(ours, theirs)


def test_log_prob_equals_float64_reference_with_tiny_scales():
    # TFP's float32 Normal standardizes as x / scale - loc / scale: two numbers of ~|loc| / scale ~ 1e4 at
    # scale e^-7 that cancel near the mean (log p off by ~1e-3). The head forms (x - loc) / scale instead,
    # so below a log scale of ~-3 it is checked against float64 NumPy.
    rng, head = np.random.default_rng(1), GaussianMixture(K)
    params = _params(rng, 4000)
    x = _points(rng, params)
    p, x64 = params.astype("float64"), x.astype("float64")[:, None]
    log_s = np.maximum(p[:, 2 * K :], -7.0)
    log_normal = -0.5 * ((x64 - p[:, K : 2 * K]) / np.exp(log_s)) ** 2 - log_s - 0.5 * np.log(2 * np.pi)
    _assert_close(_run(head.log_prob, params, x), logsumexp(log_softmax(p[:, :K], -1) + log_normal, -1))


def test_normalisation():
    rng, head = np.random.default_rng(1), GaussianMixture(K)
    params = _params(rng, 8, (-9.0, 2.0))
    means, scales = params[:, K : 2 * K], np.exp(np.maximum(params[:, 2 * K :], -7.0))
    # a fine grid around every component (its scale may be ~1e-3) plus a coarse one over all of them
    local = np.linspace(means - 15 * scales, means + 15 * scales, 4001, axis=-1).reshape(8, -1)
    wide = np.linspace(local.min(-1), local.max(-1), 4001, axis=-1)
    grid = np.sort(np.concatenate([local, wide], -1), -1).astype("float32")
    density = np.exp(_run(head.log_prob, np.repeat(params[:, None], grid.shape[1], 1), grid))
    np.testing.assert_allclose(np.trapezoid(density, grid, axis=-1), 1.0, atol=1e-4)


def test_sample_moments_and_distribution():
    rng, head, n = np.random.default_rng(2), GaussianMixture(K), 20000
    params = _params(rng, 3, (-2.0, 1.0))
    params[:, :K] = rng.normal(size=(3, K))
    samples = _run(head.sample, np.repeat(params[:, None], n, 1), seed=0)
    assert samples.shape == (3, n) and samples.dtype == np.float32
    w = np.exp(log_softmax(params[:, :K].astype("float64"), -1))
    mu, s = params[:, K : 2 * K], np.exp(params[:, 2 * K :])
    mean = (w * mu).sum(-1)
    var = (w * (s**2 + mu**2)).sum(-1) - mean**2
    np.testing.assert_array_less(np.abs(samples.mean(-1) - mean), 5 * np.sqrt(var / n))
    np.testing.assert_allclose(samples.var(-1), var, rtol=0.06)
    for row, wi, mi, si in zip(np.sort(samples, -1), w, mu, s):  # Kolmogorov-Smirnov distance
        cdf = (wi * norm.cdf((row[:, None] - mi) / si)).sum(-1)
        assert np.abs(cdf - np.arange(1, n + 1) / n).max() < 0.015


def test_sample_seed_and_temperature():
    head, n = GaussianMixture(1), 1000
    params = np.tile(np.array([0.0, 2.0, 0.5], "float32"), (n, 1))
    a = _run(head.sample, params, seed=5)
    np.testing.assert_array_equal(a, _run(head.sample, params, seed=5))
    assert np.any(a != _run(head.sample, params, seed=6))
    # with one component, temperature scales the deviation from the mean, for the same noise
    cold = _run(head.sample, params, seed=5, temperature=0.5)
    np.testing.assert_allclose(cold - 2.0, 0.5 * (a - 2.0), atol=1e-5)
    mixture = GaussianMixture(2)
    params = np.tile(np.array([1.0, 0.0, -3.0, 3.0, -1.0, -1.0], "float32"), (n, 1))
    cold, warm = _run(mixture.sample, params, seed=1, temperature=0.5), _run(mixture.sample, params, seed=1)
    assert cold.std() < 0.85 * warm.std()  # the heavier component dominates more
    with pytest.raises(ValueError, match="temperature=0"):
        head.sample(params, seed=1, temperature=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_components": 0}, "num_components=0"),
        ({"num_components": 1.5}, "num_components=1.5"),
        ({"num_components": True}, "num_components=True"),
        ({"num_components": 2, "min_log_scale": None}, "min_log_scale=None"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs)


def test_config_and_serialization():
    head = GaussianMixture(4, min_log_scale=-5.0)
    assert (head.num_params, head.event_size, head.num_levels, head.is_discrete) == (12, 1, None, False)
    config = head.get_config()
    assert config == {"num_components": 4, "min_log_scale": -5.0}
    assert GaussianMixture.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert isinstance(restored, GaussianMixture) and restored.get_config() == config
