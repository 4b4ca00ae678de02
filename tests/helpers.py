"""Shared checks: every model and layer test is a few calls to these."""

import functools
import importlib
import itertools
import math

import keras
import numpy as np
import pytest

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
    assert model.event_shape == (3,) and model.head.num_levels == 2 and not model.condition_size
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((2, 3)), condition=np.zeros(2))


def _random_inputs(model, batch, rng, length=None):
    """Random values of the model's event, or of a sequence model's events of `length` time steps."""
    shape = (batch,) + (model.event_shape if length is None else (length,) + model.event_shape[1:])
    if model.head.is_discrete:
        return rng.integers(0, model.head.num_levels, size=shape).astype("int32")
    return rng.normal(size=shape).astype("float32")


def _condition(model, batch, rng):
    if model.num_classes:
        return rng.integers(0, model.num_classes, size=(batch,))
    if model.condition_shape:
        return rng.normal(size=(batch,) + model.condition_shape).astype("float32")
    return None


def assert_causal(model, batch=3, seed=0, atol=1e-5):
    """Changing a group (and everything after it) never moves the parameters of earlier groups
    nor of the group itself; changing one dimension never moves the conditionals before it.

    Checked by perturbation, in the model's own order (`group_ordering` / `ordering`). Each perturbed
    batch is compared with the unperturbed one row by row, in calls of the same shape: a row is never
    compared with another row nor with a call of another batch size (see `changes_by_row`).
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


def assert_completion_frequencies(
    model, known, known_mask, condition=None, num_samples=20000, seed=0, tv_max=0.03, use_cache=True,
    conditionals=None,
):
    """Completions of one `known` event under one `known_mask` keep the known values, and their
    frequencies match the distribution the sampler must draw, computed by teacher forcing on an
    enumerable space: q(x) = prod over the free dimensions i of p(x_i | x_<i) (`conditional_log_probs`),
    for every x that agrees with `known`. Where the known values are a prefix of the model's order, q is
    p(x_free | x_known), exp(log_prob) renormalised; a known value later in the order is kept but not
    conditioned on. `conditionals(xs, condition)`, where given, returns a list of such per-dimension
    log-probabilities `[len(xs), *event_shape]`, one per mixture component of equal weight (MADE's masks:
    each sample follows one). Returns the total variation."""
    L = model.head.num_levels
    known = np.broadcast_to(np.asarray(known), model.event_shape)
    mask = np.broadcast_to(np.asarray(known_mask, bool), model.event_shape)
    xs = enumerate_space(model.event_shape, L)
    xs = xs[np.all((xs == known) | ~mask, axis=tuple(range(1, xs.ndim)))]  # the completions there can be
    cond = None if condition is None else np.repeat(np.asarray(condition)[None], len(xs), axis=0)
    if conditionals is None:
        components = [model.conditional_log_probs(xs, condition=cond)]
    else:
        components = conditionals(xs, cond)
    q = np.mean([np.exp(np.where(mask, 0.0, to_np(c).astype("float64")).reshape(len(xs), -1).sum(-1))
                 for c in components], axis=0)
    assert abs(q.sum() - 1.0) < 1e-4, f"the free conditionals sum to {q.sum()} over the completions"
    s = to_np(model.sample(num_samples, condition=condition, known=known, known_mask=mask, seed=seed,
                           use_cache=use_cache))
    np.testing.assert_array_equal(s[:, mask], np.broadcast_to(known[mask], (num_samples, int(mask.sum()))))
    codes = L ** np.arange(xs[0].size)[::-1]
    index = {int(c): i for i, c in enumerate(xs.reshape(len(xs), -1) @ codes)}
    idx = np.array([index[int(c)] for c in s.reshape(num_samples, -1).astype("int64") @ codes])
    freq = np.bincount(idx, minlength=len(xs)) / num_samples
    tv = 0.5 * np.abs(freq - q).sum()
    assert tv < tv_max, f"total variation between completion frequencies and the free conditionals = {tv}"
    return tv


def assert_cached_equals_naive(model, num_samples=4, seed=3, **kwargs):
    """Same seed, same samples: exactly for discrete heads; for real values up to float rounding
    (a running sum and a cumulative sum may differ in the last bit).

    Refuses a model without a cached step (`has_cached_step` False): there `use_cache=True` runs the
    naive sampler too, and the check would compare a function with itself. Test such a model's sampler
    against exp(log_prob) instead (`assert_sample_frequencies`, `assert_completion_frequencies`).
    """
    if not model.has_cached_step:
        raise ValueError(
            f"{type(model).__name__} has no cached step (has_cached_step is False): sample(use_cache=True) "
            "runs the naive sampler too, so cached == naive would compare a function with itself. Test the "
            "naive sampler against exp(log_prob): assert_sample_frequencies or assert_completion_frequencies."
        )
    a = to_np(model.sample(num_samples, seed=seed, use_cache=True, **kwargs))
    b = to_np(model.sample(num_samples, seed=seed, use_cache=False, **kwargs))
    if model.head.is_discrete:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@functools.cache
def tfp_substrate_error():
    """The error with which TFP's substrate for this backend fails to import, or None where it loads.

    TFP 0.25's JAX substrate does not load with jax >= 0.7 (`jax.interpreters.xla` lost
    `pytype_aval_mappings`); keras_ar's TFP views then raise an ImportError, which `tfp_view` asserts.
    """
    if keras.backend.backend() != "jax":
        return None
    try:
        importlib.import_module("tensorflow_probability.substrates.jax.distributions")
    except (ImportError, AttributeError) as e:
        return e
    return None


def tfp_view(fn, *args, **kwargs):
    """`fn(*args, **kwargs)`, a call that builds a TFP view (`to_tfp`, `distribution`). Where TFP's
    substrate cannot load on this backend, asserts instead that the call raises the ImportError that
    names the cause and both fixes, and returns None."""
    if tfp_substrate_error() is None:
        return fn(*args, **kwargs)
    fixes = r"(?s)cannot load with jax .*pip install 'jax\[cpu\]<0\.7'.*pip install tfp-nightly"
    with pytest.raises(ImportError, match=fixes):
        fn(*args, **kwargs)
    return None


def assert_tfp_matches(model, x, condition=None, atol=1e-4):
    """`model.distribution(x).log_prob(x)` equals `model.log_prob(x)` (where TFP loads: `tfp_view`).

    TFP's result is a TensorFlow or JAX tensor, or on torch a NumPy array (TFP's NumPy substrate).
    """
    ours = to_np(model.log_prob(x, condition=condition))
    view = tfp_view(model.distribution, x, condition=condition)
    if view is None:
        return
    theirs = to_np(view.log_prob(np.asarray(x, "float32")))
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


# ---------------------------------------------------------------------- every model: the tests' common steps
def assert_causal_and_normalized(model, batch=2):
    """Causal at the model's initial and at random weights, normalised for every condition, and a
    condition (if any) that changes the distribution."""
    assert_causal(model, batch=batch)
    randomize_weights(model)
    assert_causal(model, batch=batch, seed=1)
    assert_normalized_for_every_condition(model)
    if model.condition_size:
        assert_condition_matters(model)


def assert_condition_matters(model):
    """Two conditions give the all-zero event log-probabilities that differ by more than 1e-4, each
    computed in its own call of the same shape (a row is never compared with another row)."""
    cond = np.arange(2) if model.num_classes else np.random.default_rng(0).normal(size=(2,) + model.condition_shape)
    x = np.zeros((1,) + model.event_shape, "int32")
    a, b = (float(to_np(model.log_prob(x, condition=cond[i : i + 1]))[0]) for i in range(2))
    assert abs(a - b) > 1e-4, f"the condition does not change the distribution: log p = {a}, {b}"


def assert_normalized_on_a_grid(model, low=-9.0, high=9.0, num=361, atol=1e-3):
    """Real values of a length-2 event: exp(log_prob) over a 2-D grid integrates to 1 (trapezoids)."""
    assert model.event_shape == (2,)
    grid = np.linspace(low, high, num).astype("float32")
    xs = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(to_np(model.log_prob(xs)).astype("float64")).reshape(num, num)
    total = np.trapezoid(np.trapezoid(p, grid), grid)
    assert abs(total - 1.0) < atol, total


def assert_cached_sampler_and_completion(model, num_samples=3, seed=1):
    """Cached and naive sampling draw the same values (`assert_cached_equals_naive`), also when
    completing a known prefix (fill_cache) and a known last value; completion keeps the known values."""
    n, rng = num_samples, np.random.default_rng(seed)
    cond = _condition(model, n, rng)
    assert_cached_equals_naive(model, num_samples=n, condition=cond)
    known = _random_inputs(model, n, rng)
    mask = np.zeros(known.shape, bool)
    mask[:, :1] = True
    mask[:, -1] = rng.random(n)[:, None] < 0.5 if known.ndim == 3 else rng.random(n) < 0.5
    assert_cached_equals_naive(model, num_samples=n, condition=cond, known=known, known_mask=mask)
    kept = to_np(model.sample(n, condition=cond, known=known, known_mask=mask, seed=2))
    np.testing.assert_array_equal(kept[mask], known[mask])


def assert_round_trips_and_tfp(model, x, tmp_path, condition=None):
    """The config and a `.keras` file round-trip and TFP's log_prob equals ours; returns the config's clone."""
    clone = assert_config_round_trip(model)
    assert_keras_round_trip(model, x, tmp_path, condition=condition)
    assert_tfp_matches(model, x, condition=condition)
    return clone


def assert_defaults(cls, expected, batch=2, fit=False, **kwargs):
    """`cls(input_shape=(2,), **kwargs)` has the attribute values `expected` (its defaults) and a finite
    log_prob; with `fit`, it trains for an epoch and TFP's log_prob equals ours."""
    model = cls(input_shape=(2,), **kwargs)
    assert {name: getattr(model, name) for name in expected} == expected
    x = _random_inputs(model, batch, np.random.default_rng(0))
    assert np.isfinite(to_np(model.log_prob(x))).all()
    if fit:
        assert_fits(model, x, epochs=1)
        assert_tfp_matches(model, x[:2])
    return model


def assert_bad_arguments(cls, base, cases):
    """`cls(**{**base, **kwargs})` raises a ValueError matching `match` for every `(kwargs, match)`."""
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            cls(**{**base, **kwargs})


# ---------------------------------------------------------------------- sequence models
def assert_rejects_bad_sequences(model, condition=None, bad_condition=None):
    """`log_prob` of one sequence with `bad_condition` (None: a missing one), with a value past the
    levels, or with one time step too many raises a ValueError that says so."""
    levels, event = model.head.num_levels, model.event_shape
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1,) + event), condition=bad_condition)
    with pytest.raises(ValueError, match=f"0..{levels - 1}"):
        model.log_prob(np.full((1,) + event, levels), condition=condition)
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, event[0] + 1) + event[1:]), condition=condition)


def assert_num_steps_beyond_input_shape(model, num_steps, condition=None, num_samples=2):
    """`sample(num_steps=...)` past the input length: cached equals naive, the samples have the shape
    asked for and values in the levels; `num_steps=0` is refused."""
    n = num_samples
    assert_cached_equals_naive(model, num_samples=n, condition=condition, num_steps=num_steps)
    samples = to_np(model.sample(n, condition=condition, num_steps=num_steps, seed=0))
    assert samples.shape == (n, num_steps) + model.event_shape[1:]
    assert samples.min() >= 0 and samples.max() < model.head.num_levels
    with pytest.raises(ValueError, match="num_steps=0"):
        model.sample(n, condition=condition, num_steps=0)


def changes_by_row(fn, base, changed):
    """`|fn(changed) - fn(base repeated)|`, row by row: how much the output of example i moves when
    `base` (one example, `[1, ...]`) becomes `changed[i]`.

    Both calls have the same batch shape and each changed example sits at the row of its unchanged
    copy, so the two rows go through the same kernel path. Rows of one batch, or calls of different
    batch sizes, may round differently (oneDNN on AMD and Intel CPUs alike: ~1e-5 on parameters of
    ~100): comparing across rows would see dependencies that are not there. `fn` maps a batch to a NumPy
    array `[batch, ...]`."""
    changed = np.asarray(changed)
    unchanged = np.repeat(np.asarray(base, changed.dtype), len(changed), axis=0)
    return np.abs(np.asarray(fn(changed), "float64") - np.asarray(fn(unchanged), "float64"))


def assert_dependencies(changes, expected, depends=1e-4, independent=1e-6, name="[output, input]"):
    """`changes[i, j]` (how much output i moves when input j alone changes, `changes_by_row`) clears
    `depends` wherever `expected[i, j]` and stays below `independent` everywhere else: a dependency is
    told from none by orders of magnitude, never by rounding."""
    changes, expected = np.asarray(changes), np.asarray(expected, bool)
    assert changes.shape == expected.shape, (changes.shape, expected.shape)
    missing = np.argwhere(expected & ~(changes > depends))
    extra = np.argwhere(~expected & ~(changes < independent))
    assert not len(extra), f"{name} moved where it must not: " + ", ".join(
        f"[{i}, {j}] = {changes[i, j]:.3g}" for i, j in extra[:10])
    assert not len(missing), f"{name} did not move where it must: " + ", ".join(
        f"[{i}, {j}] = {changes[i, j]:.3g}" for i, j in missing[:10])


def step_dependencies(model):
    """A binary sequence model's dependencies, `changes[t, j]`: how much the parameters of x_t move
    when x_j alone flips from 0 to 1 in an all-zero sequence (`changes_by_row`)."""
    length = model.event_shape[0]
    flipped = np.zeros((length, length), "float32")
    flipped[np.arange(length), np.arange(length)] = 1.0  # row j: x_j flipped
    changes = changes_by_row(lambda x: to_np(model(x))[..., 0], np.zeros((1, length), "float32"), flipped)
    return changes.T  # [position t, flipped j]


def condition_vector(model, batch, rng):
    """A random condition (`_condition`) as the float32 vector `compute_params` and `init_cache` take, or None."""
    cond = _condition(model, batch, rng)
    return None if cond is None else model.condition_vector(keras.ops.convert_to_tensor(cond))


def sequence_step_runner(model, batch, steps=None):
    """`run(x, mixed, cond, num_known)`: a cache (of `steps` time steps where given, else the model's
    own length) filled with `mixed` right before `num_known`, then steps to the end with the values of
    `x` in one `fori_loop`; compiled once for every `num_known` (eager on torch). Returns the params
    `[batch, groups, P]`."""
    ops = keras.ops
    e, length = model.head.event_size, model.event_shape[0]
    g = (length if steps is None else steps) * (model.num_dims // length) // e
    sized = {} if steps is None else {"num_steps": steps}

    def run(x, mixed, cond, num_known):
        groups = ops.reshape(x, (batch, g, e))
        cache = model.fill_cache(model.init_cache(batch, cond, **sized), mixed, num_known)

        def body(i, carry):
            cache, out = carry
            params, cache = model.step(cache, ops.take(groups, ops.maximum(i - 1, 0), axis=1), i)
            return cache, ops.slice_update(out, [0, i, 0], ops.expand_dims(params, 1))

        return ops.fori_loop(num_known, g, body, (cache, ops.zeros((batch, g, model.head.num_params))))[1]

    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(run)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(run)
    return run


def assert_step_equals_compute_params(model, every_prefix=True, steps=None, batch=2, seed=0, atol=1e-5):
    """fill_cache with a known prefix (the groups before k; rubbish after, which the steps overwrite),
    then steps to the end: every step's params equal the teacher-forced pass. For every k, or with
    `every_prefix=False` for k in {0, 1, num_channels + 1, last}; over `steps` time steps where given
    (past the training length)."""
    rng = np.random.default_rng(seed)
    x = _random_inputs(model, batch, rng, steps).astype("float32")
    cond = condition_vector(model, batch, rng)
    e = model.head.event_size
    g = x[0].size // e
    params = to_np(model.compute_params(keras.ops.convert_to_tensor(x), cond)).reshape(batch, g, -1)
    run = sequence_step_runner(model, batch, steps)
    for k in range(g) if every_prefix else sorted({0, 1, model.num_channels + 1, g - 1}):
        later = (np.arange(g) >= k)[None, :, None]
        other = _random_inputs(model, batch, rng, steps).reshape(batch, g, e)
        mixed = np.where(later, other, x.reshape(batch, g, e)).reshape(x.shape).astype("float32")
        args = [keras.ops.convert_to_tensor(a) for a in (x, mixed)] + [cond, keras.ops.convert_to_tensor(k, "int32")]
        np.testing.assert_allclose(to_np(run(*args))[:, k:], params[:, k:], atol=atol, err_msg=f"k={k}")
