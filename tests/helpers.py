"""Shared checks: every model and layer test is a few calls to these."""

import functools
import itertools
import math

import keras
import numpy as np

to_np = keras.ops.convert_to_numpy


def randomize_weights(model, scale=0.5, seed=0):
    """Overwrite every weight with N(0, scale^2) draws: properties must hold for any weights."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, scale, size=w.shape).astype(w.dtype))


def enumerate_space(event_shape, num_levels):
    """Every configuration of a discrete event space, shape [num_levels**D, *event_shape] int32."""
    d = int(np.prod(event_shape))
    grid = np.array(list(itertools.product(range(num_levels), repeat=d)), dtype="int32")
    return grid.reshape((-1,) + tuple(event_shape))


def assert_normalized(model, condition=None, atol=1e-4):
    """exp(log_prob) summed over the whole (small, discrete) space is 1."""
    xs = enumerate_space(model.event_shape, model.head.num_levels)
    cond = None if condition is None else np.repeat(np.asarray(condition)[None], len(xs), axis=0)
    total = np.exp(to_np(model.log_prob(xs, condition=cond)).astype("float64")).sum()
    assert abs(total - 1.0) < atol, f"sum of exp(log_prob) over the space = {total}"
    return total


def _changed(model, x, rng):
    """`x` with every value changed (discrete: another level; real: a new draw)."""
    if model.head.is_discrete:
        L = model.head.num_levels
        return (x + 1 + rng.integers(0, L - 1, size=x.shape)) % L
    return x + rng.normal(size=x.shape).astype(x.dtype) + 0.5


def assert_normalized_for_every_condition(model, atol=1e-4):
    """`assert_normalized` for each class of a class-conditional model, for one fixed vector of a
    vector-conditional model, or once for an unconditional model."""
    if model.num_classes:
        for c in range(model.num_classes):
            assert_normalized(model, condition=c, atol=atol)
    elif model.condition_shape:
        vector = np.random.default_rng(7).normal(size=model.condition_shape).astype("float32")
        assert_normalized(model, condition=vector, atol=atol)
    else:
        assert_normalized(model, atol=atol)


def assert_rejects_bad_inputs(model):
    """An unconditional binary model of event shape (3,): values outside {0, 1}, a wrong shape and
    an unexpected condition each raise a ValueError that says so."""
    import pytest

    assert model.event_shape == (3,) and model.head.num_levels == 2 and not model.condition_size
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((2, 3)), condition=np.zeros(2))


def _random_inputs(model, batch, rng):
    if model.head.is_discrete:
        return rng.integers(0, model.head.num_levels, size=(batch,) + model.event_shape).astype("int32")
    return rng.normal(size=(batch,) + model.event_shape).astype("float32")


def _condition(model, batch, rng):
    if model.num_classes:
        return rng.integers(0, model.num_classes, size=(batch,))
    if model.condition_shape:
        return rng.normal(size=(batch,) + model.condition_shape).astype("float32")
    return None


def assert_causal(model, batch=3, seed=0, atol=1e-5):
    """Changing a group (and everything after it) never moves the parameters of earlier groups
    nor of the group itself; changing one dimension never moves the conditionals before it.

    Checked by perturbation, in the model's own order (`group_ordering` / `ordering`).
    """
    rng = np.random.default_rng(seed)
    x = _random_inputs(model, batch, rng)
    cond = _condition(model, batch, rng)
    e = model.head.event_size
    groups = model.group_ordering()
    params = to_np(model(x.astype("float32"), condition=cond)).reshape(batch, model.num_groups, -1)
    for k, g in enumerate(groups):
        y = x.reshape(batch, model.num_groups, e).copy()
        later = groups[k:]
        y[:, later] = _changed(model, y[:, later], rng)
        y = y.reshape(x.shape)
        p2 = to_np(model(y.astype("float32"), condition=cond)).reshape(batch, model.num_groups, -1)
        earlier_and_self = groups[: k + 1]
        np.testing.assert_allclose(
            p2[:, earlier_and_self], params[:, earlier_and_self], atol=atol,
            err_msg=f"parameters of groups up to position {k} (group {g}) moved when groups from {g} on changed",
        )
    order = model.ordering()
    clp = to_np(model.conditional_log_probs(x, condition=cond)).reshape(batch, -1)
    for k, d in enumerate(order):
        y = x.reshape(batch, -1).copy()
        y[:, d] = _changed(model, y[:, d], rng)
        c2 = to_np(model.conditional_log_probs(y.reshape(x.shape), condition=cond)).reshape(batch, -1)
        np.testing.assert_allclose(
            c2[:, order[:k]], clp[:, order[:k]], atol=atol,
            err_msg=f"conditionals before position {k} moved when dimension {d} changed",
        )


def assert_sample_frequencies(model, num_samples=20000, seed=0, tv_max=0.03, condition=None, use_cache=True):
    """Frequencies of many samples match exp(log_prob) on an enumerable space (total variation)."""
    xs = enumerate_space(model.event_shape, model.head.num_levels)
    cond = None if condition is None else np.repeat(np.asarray(condition)[None], len(xs), axis=0)
    p = np.exp(to_np(model.log_prob(xs, condition=cond)).astype("float64"))
    s = to_np(model.sample(num_samples, condition=condition, seed=seed, use_cache=use_cache))
    L = model.head.num_levels
    idx = (s.reshape(num_samples, -1) * (L ** np.arange(s[0].size)[::-1])).sum(-1)
    freq = np.bincount(idx, minlength=len(xs)) / num_samples
    tv = 0.5 * np.abs(freq - p).sum()
    assert tv < tv_max, f"total variation between sample frequencies and exp(log_prob) = {tv}"
    return tv


def assert_cached_equals_naive(model, num_samples=4, seed=3, **kwargs):
    """Same seed, same samples: exactly for discrete heads; for real values up to float rounding
    (a running sum and a cumulative sum may differ in the last bit)."""
    a = to_np(model.sample(num_samples, seed=seed, use_cache=True, **kwargs))
    b = to_np(model.sample(num_samples, seed=seed, use_cache=False, **kwargs))
    if model.head.is_discrete:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def assert_tfp_matches(model, x, condition=None, atol=1e-4):
    """`model.distribution(x).log_prob(x)` equals `model.log_prob(x)`.

    TFP's result is a TensorFlow or JAX tensor, or on torch a NumPy array (TFP's NumPy substrate).
    """
    ours = to_np(model.log_prob(x, condition=condition))
    theirs = to_np(model.distribution(x, condition=condition).log_prob(np.asarray(x, "float32")))
    np.testing.assert_allclose(theirs, ours, atol=atol, rtol=1e-5)


def assert_config_round_trip(obj):
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    return clone


def assert_keras_round_trip(model, x, tmp_path, condition=None):
    """save -> load_model gives a model of the same class with equal log_probs."""
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(
        to_np(loaded.log_prob(x, condition=condition)), to_np(model.log_prob(x, condition=condition)), atol=1e-6
    )
    return loaded


def assert_fits(model, x, condition=None, epochs=2):
    """fit works without compile, the loss is finite and bits_per_dim = loss / (D ln 2)."""
    data = x if condition is None else (x, condition)
    history = model.fit(data, epochs=epochs, batch_size=16, verbose=0)
    loss = history.history["loss"][-1]
    assert math.isfinite(loss)
    res = model.evaluate(data, verbose=0, return_dict=True)
    np.testing.assert_allclose(res["bits_per_dim"], res["loss"] / (model.num_dims * math.log(2)), rtol=1e-4)
    return history


def run_compiled(fn, *arrays, **static):
    """`fn(*arrays, **static)` as NumPy. On JAX under `jax.jit` (one compilation, not one per op): an int
    seed s is passed as the key [s, 0] that keras.random makes of it, so new seeds reuse the compilation
    and the head is exercised with a traced `TensorSeed`, the way the models' sampling loops call it."""
    if keras.backend.backend() != "jax":
        return keras.ops.convert_to_numpy(fn(*arrays, **static))
    seed = static.pop("seed", None)
    key = () if seed is None else (np.array([seed, 0], "uint32"),)
    return keras.ops.convert_to_numpy(_jit(fn, tuple(static.items()), bool(key))(*key, *arrays))


@functools.cache
def _jit(fn, static, seeded):
    import jax

    from keras_ar.utils.random import TensorSeed

    if seeded:
        return jax.jit(lambda key, *arrays: fn(*arrays, seed=TensorSeed(key), **dict(static)))
    return jax.jit(lambda *arrays: fn(*arrays, **dict(static)))
