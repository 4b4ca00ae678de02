"""DiscretizedLogisticMixture: stable log-probabilities, TFP equality, normalisation, sampling."""

import itertools

import keras
import numpy as np
import pytest
from scipy.special import log_expit, log_softmax, logsumexp

from keras_ar.distributions.discretized_logistic_mixture import DiscretizedLogisticMixture
from tests import helpers

K = 3


_run = helpers.run_compiled


def _params(rng, n, num_levels, coupled, raw_scale=(-12.0, 2.0), coeffs=None):
    """Random parameters: logits with +-50 entries, dyadic means, log scales down to below the floor.

    Means are multiples of 2**-14 and (with `coeffs="exact"`) the coupling coefficients are tanh(0) = 0
    or tanh(+-20) = +-1 in float32, so with num_levels = 2**m + 1 every bin edge is exact in float32.
    Otherwise a scale s amplifies the float32 rounding of (v - mu) ~ 1e-7 by 1/s (up to ~1e-4 at
    min_log_scale): an error of the inputs' conditioning, shared by TFP, not of the formula.
    """
    c = 3 if coupled else 1
    logits = rng.choice([-50.0, 0.0, 50.0], (n, K)) + rng.normal(size=(n, K))
    means = np.round(rng.uniform(-1.2, 1.2, (n, c * K)) * 2**14) / 2**14
    raw = rng.uniform(*raw_scale, (n, c * K))
    parts = [logits, means, raw]
    if coupled:
        exact = rng.choice([-20.0, 0.0, 20.0], (n, c * K))
        parts.append(exact if coeffs == "exact" else rng.normal(size=(n, c * K)))
    return np.concatenate(parts, -1).astype("float32")


def _levels(rng, n, num_levels, coupled):
    x = rng.integers(0, num_levels, (n, 3) if coupled else (n,))
    x[: n // 4], x[n // 4 : n // 2] = 0, num_levels - 1  # the boundary levels, always
    return x.astype("float32")


def _reference_log_prob(params, x, num_levels, coupled, min_log_scale=-7.0):
    """float64 NumPy reference: log(F(b) - F(a)) from whichever tail of F keeps its digits."""
    c, p = (3 if coupled else 1), params.astype("float64")
    x = x.astype("float64").reshape(x.shape[0], c)
    means = p[:, K : K + c * K].reshape(-1, c, K).copy()
    log_s = np.maximum(p[:, K + c * K : K + 2 * c * K].reshape(-1, c, K), min_log_scale)
    v = 2.0 * x / (num_levels - 1) - 1.0
    if coupled:
        coef = np.tanh(p[:, K + 2 * c * K :].reshape(-1, c, K))
        means[:, 1] += coef[:, 0] * v[:, :1]
        means[:, 2] += coef[:, 1] * v[:, :1] + coef[:, 2] * v[:, 1:2]
    h, s, v, x = 1.0 / (num_levels - 1), np.exp(log_s), v[..., None], x[..., None]
    a, b = (v - h - means) / s, (v + h - means) / s
    with np.errstate(all="ignore"):
        left = log_expit(b) + np.log1p(-np.exp(log_expit(a) - log_expit(b)))  # both edges below the mean
        right = log_expit(-a) + np.log1p(-np.exp(log_expit(-b) - log_expit(-a)))  # both above
        middle = np.log(np.exp(log_expit(b)) - np.exp(log_expit(a)))
    bins = np.where(b < 0, left, np.where(a > 0, right, middle))
    bins = np.where(x == 0, log_expit(b), np.where(x == num_levels - 1, log_expit(-a), bins))
    joint = logsumexp(log_softmax(p[:, None, :K], -1) + np.cumsum(bins, axis=1), -1)
    out = np.diff(joint, axis=1, prepend=0.0)
    return out if coupled else out[:, 0]


def _assert_close(actual, expected, tol=1e-5):
    scale = np.maximum(1.0, np.abs(expected))  # absolute error, relative when large
    if expected.ndim == 2:
        # log p(b | r, g) after a very unlikely (r, g) weighs the components by differences of per-component
        # log-likelihoods of ~1e3, each known to float32's ~1e-7 relative: the error scales with the joint.
        scale = np.maximum(scale, np.abs(np.cumsum(expected, -1)))
    err = np.abs(actual - expected) / scale
    assert np.all(np.isfinite(actual)) and err.max() < tol, err.max()


@pytest.mark.parametrize("coupled", [False, True])
@pytest.mark.parametrize("num_levels", [2, 5, 17])
def test_log_prob_equals_tfp(coupled, num_levels):
    rng = np.random.default_rng(num_levels)
    head = DiscretizedLogisticMixture(K, num_levels, coupled=coupled)
    params = _params(rng, 4000, num_levels, coupled, coeffs="exact")
    x = _levels(rng, 4000, num_levels, coupled)
    ours = _run(head.log_prob, params, x)
    assert ours.shape == x.shape
    joint = ours.sum(-1) if coupled else ours
    theirs = helpers.tfp_view(_run, lambda p, v: head.to_tfp(p, v).log_prob(v), params, x)
    if theirs is not None:  # None where TFP cannot load (the error asserted)
        _assert_close(joint, theirs)
    _assert_close(ours, _reference_log_prob(params, x, num_levels, coupled))


@pytest.mark.parametrize("coupled", [False, True])
def test_log_prob_equals_float64_reference_with_many_levels(coupled):
    # With 257 levels and wide components (log scale up to 4) a bin is ~1e-4 standard units wide:
    # TFP's float32 QuantizedDistribution forms log(F(y) - F(y-1)) from two nearly equal log-CDFs and
    # is off by up to ~1e-4 there, so this regime is checked against a float64 NumPy reference instead.
    rng = np.random.default_rng(7)
    head = DiscretizedLogisticMixture(K, 257, coupled=coupled)
    params, x = _params(rng, 4000, 257, coupled, (-12.0, 4.0), "exact"), _levels(rng, 4000, 257, coupled)
    _assert_close(_run(head.log_prob, params, x), _reference_log_prob(params, x, 257, coupled))


def test_coupled_log_prob_with_real_coefficients():
    rng = np.random.default_rng(3)
    head = DiscretizedLogisticMixture(K, 256, coupled=True)
    params, x = _params(rng, 4000, 256, True, (-3.0, 2.0)), _levels(rng, 4000, 256, True)
    _assert_close(_run(head.log_prob, params, x), _reference_log_prob(params, x, 256, True))


@pytest.mark.parametrize("num_levels", [2, 5, 256])
def test_normalisation(num_levels):
    rng = np.random.default_rng(0)
    head = DiscretizedLogisticMixture(K, num_levels)
    params = _params(rng, 64, num_levels, False)[:, None, :]
    levels = np.arange(num_levels, dtype="float32")[None, :]
    total = np.exp(_run(head.log_prob, np.repeat(params, num_levels, 1), np.repeat(levels, 64, 0))).sum(-1)
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_coupled_normalisation():
    rng, num_levels = np.random.default_rng(1), 4
    head = DiscretizedLogisticMixture(K, num_levels, coupled=True)
    pixels = np.array(list(itertools.product(range(num_levels), repeat=3)), "float32")  # [64, 3], RGB order
    params = _params(rng, 16, num_levels, True, (-9.0, 1.0))[:, None, :]
    log_p = _run(head.log_prob, np.repeat(params, len(pixels), 1), np.tile(pixels, (16, 1, 1)))  # [16, 64, 3]
    np.testing.assert_allclose(np.exp(log_p.sum(-1)).sum(-1), 1.0, atol=1e-5)
    # each conditional normalises too: sum_b p(b | r, g) = 1 for every (r, g)
    np.testing.assert_allclose(np.exp(log_p[..., 2]).reshape(16, -1, num_levels).sum(-1), 1.0, atol=1e-5)


def _total_variation(samples, probs):
    """Largest total variation distance between the sample frequencies and `probs`, per row."""
    counts = [np.bincount(row, minlength=probs.shape[-1]) for row in samples.astype("int64")]
    freq = np.stack(counts) / samples.shape[-1]
    return 0.5 * np.abs(freq - probs).sum(-1).max()


def test_sample_frequencies():
    rng, n, num_levels = np.random.default_rng(2), 20000, 5
    head = DiscretizedLogisticMixture(K, num_levels)
    params = _params(rng, 4, num_levels, False, (-3.0, 0.5))[:, None, :]
    samples = _run(head.sample, np.repeat(params, n, 1), seed=0)
    assert samples.shape == (4, n) and samples.dtype == np.float32
    levels = np.tile(np.arange(num_levels, dtype="float32"), (4, 1))
    probs = np.exp(_run(head.log_prob, np.repeat(params, num_levels, 1), levels))
    assert _total_variation(samples, probs) < 0.02


def test_coupled_sample_frequencies():
    rng, n, num_levels = np.random.default_rng(4), 50000, 3
    head = DiscretizedLogisticMixture(K, num_levels, coupled=True)
    pixels = np.array(list(itertools.product(range(num_levels), repeat=3)), "float32")
    params = _params(rng, 2, num_levels, True, (-2.5, 0.0))[:, None, :]
    params[..., :K] = rng.normal(size=(2, 1, K))  # all components in play
    samples = _run(head.sample, np.repeat(params, n, 1), seed=0)
    assert samples.shape == (2, n, 3) and samples.dtype == np.float32
    probs = np.exp(_run(head.log_prob, np.repeat(params, len(pixels), 1), np.tile(pixels, (2, 1, 1))).sum(-1))
    assert _total_variation(samples @ np.array([9.0, 3.0, 1.0]), probs) < 0.02


def test_sample_seed_and_temperature():
    head = DiscretizedLogisticMixture(K, 16)
    params = np.tile(np.array([0.0, 0.5, -0.5, -0.6, 0.0, 0.5, -1.5, -1.5, -1.5], "float32"), (20000, 1))
    a, b, c = (_run(head.sample, params, seed=s) for s in (11, 11, 12))
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)

    def entropy(samples):
        p = np.bincount(samples.astype("int64"), minlength=16) / len(samples)
        return -np.sum(p[p > 0] * np.log(p[p > 0]))

    assert entropy(_run(head.sample, params, seed=1, temperature=0.5)) < entropy(a) - 0.1
    with pytest.raises(ValueError, match="temperature"):
        head.sample(params, seed=1, temperature=0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_components": 0, "num_levels": 4}, "num_components=0"),
        ({"num_components": 2.0, "num_levels": 4}, "num_components=2.0"),
        ({"num_components": 2, "num_levels": 1}, "num_levels=1"),
        ({"num_components": 2, "num_levels": True}, "num_levels=True"),
        ({"num_components": 2, "num_levels": 4, "coupled": 1}, "coupled=1"),
        ({"num_components": 2, "num_levels": 4, "min_log_scale": "x"}, "min_log_scale='x'"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiscretizedLogisticMixture(**kwargs)


def test_config_and_serialization():
    head = DiscretizedLogisticMixture(5, 256, coupled=True, min_log_scale=-5.0)
    assert (head.num_params, head.event_size, head.num_levels, head.is_discrete) == (50, 3, 256, True)
    assert DiscretizedLogisticMixture(5, 256).num_params == 15
    config = head.get_config()
    assert config == {"num_components": 5, "num_levels": 256, "coupled": True, "min_log_scale": -5.0}
    assert DiscretizedLogisticMixture.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert isinstance(restored, DiscretizedLogisticMixture) and restored.get_config() == config
    with pytest.raises(ValueError, match="x=None"):
        head.to_tfp(np.zeros((2, 50), "float32"))


@pytest.mark.parametrize("coupled", [False, True])
def test_gradients_are_finite_for_extreme_params(coupled):
    rng, backend = np.random.default_rng(5), keras.backend.backend()
    head = DiscretizedLogisticMixture(K, 256, coupled=coupled)
    params = rng.normal(scale=30.0, size=(2000, head.num_params)).astype("float32")  # log scales to ~100
    x = _levels(rng, 2000, 256, coupled)
    if backend == "tensorflow":
        import tensorflow as tf

        params = tf.Variable(params)
        with tf.GradientTape() as tape:
            loss = keras.ops.sum(head.log_prob(params, x))
        grad = tape.gradient(loss, params)
    elif backend == "jax":
        import jax

        grad = jax.jit(jax.grad(lambda p: keras.ops.sum(head.log_prob(p, x))))(params)
    elif backend == "torch":
        params = keras.ops.convert_to_tensor(params).requires_grad_()  # on Keras's device
        keras.ops.sum(head.log_prob(params, x)).backward()
        grad = params.grad
    else:
        pytest.skip(f"no gradient helper for backend {backend}")
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(grad)))
