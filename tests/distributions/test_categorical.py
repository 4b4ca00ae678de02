"""Categorical head: log-softmax log-probabilities, TFP equality, normalisation, sampling."""


import keras
import numpy as np
import pytest

from keras_ar.distributions.categorical import Categorical
from tests import helpers


_run = helpers.run_compiled


def _np(x):  # for `to_tfp` results, run eagerly: backend tensors (NumPy arrays on torch, whose TFP is NumPy)
    return keras.ops.convert_to_numpy(x)


def _logits(rng, n, num_levels):
    logits = rng.normal(scale=3.0, size=(n, num_levels))
    logits[: n // 2] += rng.choice([-50.0, 0.0, 50.0], (n // 2, num_levels))
    return logits.astype("float32")


@pytest.mark.parametrize("num_levels", [2, 7, 256])
def test_log_prob_equals_tfp_and_normalises(num_levels):
    rng, head = np.random.default_rng(num_levels), Categorical(num_levels)
    params = _logits(rng, 64, num_levels)
    x = rng.integers(0, num_levels, 64).astype("float32")
    x[:8], x[8:16] = 0, num_levels - 1
    ours = _run(head.log_prob, params, x)
    assert np.all(np.isfinite(ours)) and ours.shape == (64,)
    view = helpers.tfp_view(head.to_tfp, params)  # None where TFP cannot load (the error asserted)
    if view is not None:
        np.testing.assert_allclose(ours, _np(view.log_prob(x)), atol=1e-5, rtol=1e-5)
    levels = np.tile(np.arange(num_levels, dtype="float32"), (64, 1))
    total = np.exp(_run(head.log_prob, np.repeat(params[:, None], num_levels, 1), levels)).sum(-1)
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_sample_frequencies_seed_and_temperature():
    head, n = Categorical(5), 20000
    logits = np.array([[0.0, 1.0, -1.0, 0.5, -3.0], [2.0, 0.0, 0.0, -1.0, 1.0]], "float32")
    params = np.repeat(logits[:, None], n, 1)
    samples = _run(head.sample, params, seed=0)
    assert samples.shape == (2, n) and samples.dtype == np.float32

    def frequencies(s):
        return np.stack([np.bincount(row, minlength=5) / n for row in s.astype("int64")])

    probs = np.exp(logits - np.log(np.exp(logits).sum(-1, keepdims=True)))
    assert 0.5 * np.abs(frequencies(samples) - probs).sum(-1).max() < 0.02
    np.testing.assert_array_equal(samples, _run(head.sample, params, seed=0))
    assert np.any(samples != _run(head.sample, params, seed=1))

    def entropy(f):
        return -np.sum(np.where(f > 0, f * np.log(np.maximum(f, 1e-12)), 0.0), -1)

    cold = frequencies(_run(head.sample, params, seed=0, temperature=0.5))
    assert np.all(entropy(cold) < entropy(frequencies(samples)) - 0.1)


@pytest.mark.parametrize("num_levels", [1, 0, 2.0, True, "4"])
def test_constructor_errors(num_levels):
    with pytest.raises(ValueError, match=f"num_levels={num_levels}"):
        Categorical(num_levels)


def test_config_and_serialization():
    head = Categorical(256)
    assert (head.num_params, head.event_size, head.num_levels) == (256, 1, 256)
    assert head.get_config() == {"num_levels": 256}
    assert Categorical.from_config(head.get_config()).get_config() == {"num_levels": 256}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert isinstance(restored, Categorical) and restored.num_levels == 256
