"""Bernoulli head: stable log-probabilities, TFP equality, normalisation, sampling."""


import keras
import numpy as np
import pytest

from keras_ar.distributions.bernoulli import Bernoulli
from tests import helpers


_run = helpers.run_compiled


def _np(x):  # for `to_tfp` results, run eagerly: backend tensors (NumPy arrays on torch, whose TFP is NumPy)
    return keras.ops.convert_to_numpy(x)


def _logits(rng, n):
    extreme = [-50.0, 50.0, -20.0, 20.0, 0.0]
    return np.concatenate([extreme, rng.normal(scale=5.0, size=n - 5)]).astype("float32")


def test_log_prob_equals_tfp():
    rng, head = np.random.default_rng(0), Bernoulli()
    params = np.repeat(_logits(rng, 200)[:, None], 2, 0)
    x = np.tile(np.array([0.0, 1.0], "float32"), 200)
    ours = _run(head.log_prob, params, x)
    assert np.all(np.isfinite(ours)) and ours.shape == (400,)
    view = helpers.tfp_view(head.to_tfp, params)  # None where TFP cannot load (the error asserted)
    if view is not None:
        np.testing.assert_allclose(ours, _np(view.log_prob(x)), atol=1e-5, rtol=1e-5)
    # exact in the tails: log sigmoid(-50) = -50 - log1p(e^-50)
    np.testing.assert_allclose(ours[:4], [0.0, -50.0, -50.0, 0.0], atol=1e-6)


def test_normalisation():
    rng, head = np.random.default_rng(1), Bernoulli()
    params = _logits(rng, 100)[:, None]
    total = np.exp(_run(head.log_prob, params, np.zeros(100, "float32"))) + np.exp(
        _run(head.log_prob, params, np.ones(100, "float32"))
    )
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_sample_frequencies_seed_and_temperature():
    head, n = Bernoulli(), 20000
    params = np.repeat(np.array([-2.0, -0.5, 0.0, 1.0], "float32")[:, None, None], n, 1)  # [4, n, 1]
    samples = _run(head.sample, params, seed=0)
    assert samples.shape == (4, n) and samples.dtype == np.float32
    assert set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_allclose(samples.mean(1), 1.0 / (1.0 + np.exp(-params[:, 0, 0])), atol=0.015)
    np.testing.assert_array_equal(samples, _run(head.sample, params, seed=0))
    assert np.any(samples != _run(head.sample, params, seed=1))
    cold = _run(head.sample, params, seed=0, temperature=0.5).mean(1)
    np.testing.assert_allclose(cold, 1.0 / (1.0 + np.exp(-params[:, 0, 0] / 0.5)), atol=0.015)
    with pytest.raises(ValueError, match="temperature=-1"):
        head.sample(params, seed=0, temperature=-1)


def test_config_and_serialization():
    head = Bernoulli()
    assert (head.num_params, head.event_size, head.num_levels, head.is_discrete) == (1, 1, 2, True)
    assert head.get_config() == {} and isinstance(Bernoulli.from_config({}), Bernoulli)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(head))
    assert isinstance(restored, Bernoulli)


def test_to_tfp_takes_backend_tensors():
    # Model outputs are backend tensors (on torch they require grad; TFP's NumPy substrate gets NumPy).
    head = Bernoulli()
    params = keras.ops.convert_to_tensor(np.array([[-3.0], [0.5], [2.0]], "float32"))
    if keras.backend.backend() == "torch":
        params.requires_grad_()
    x = np.array([1.0, 0.0, 1.0], "float32")
    view = helpers.tfp_view(head.to_tfp, params)
    if view is not None:
        np.testing.assert_allclose(_np(view.log_prob(x)), _np(head.log_prob(params, x)), atol=1e-6)
