import numpy as np
import pytest
from keras import ops

from keras_ar.models.recurrent_ar import RecurrentAR
from tests import helpers

SMALL = dict(units=4, num_layers=2)

CONFIGS = {
    "categorical": dict(input_shape=(3,), num_levels=3, **SMALL),  # 27 configurations
    "gru": dict(input_shape=(3,), num_levels=3, cell="gru", **SMALL),
    "logistic": dict(input_shape=(3,), distribution="logistic_mixture", num_levels=3, num_components=2, **SMALL),
    "channels": dict(input_shape=(2, 2), distribution="bernoulli", **SMALL),  # channel c sees < c
    "class": dict(input_shape=(3,), num_levels=3, num_classes=2, **SMALL),
    "vector": dict(input_shape=(3,), distribution="bernoulli", condition_shape=(2,), cell="gru", **SMALL),
}
STEP_CONFIGS = {
    **CONFIGS,
    "gaussian": dict(  # real values, 2 channels, a vector condition
        input_shape=(5, 2), distribution="gaussian_mixture", num_components=2, condition_shape=(2,), units=5,
        num_layers=2,
    ),
    "categorical_channels": dict(input_shape=(4, 3), num_levels=3, num_classes=3, cell="gru", units=4, num_layers=1),
}


def _model(name, seed=0):
    model = RecurrentAR(**STEP_CONFIGS[name])
    helpers.randomize_weights(model, seed=seed)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_causal_and_normalized(name):
    model = RecurrentAR(**CONFIGS[name])
    helpers.assert_causal(model, batch=2)
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=2, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.condition_size:  # the condition changes the distribution
        x = np.zeros((2,) + model.event_shape, "int32")
        cond = np.arange(2) if model.num_classes else np.random.default_rng(0).normal(size=(2,) + model.condition_shape)
        lps = helpers.to_np(model.log_prob(x, condition=cond))
        assert abs(lps[0] - lps[1]) > 1e-4, "the condition does not change the distribution"


def test_gaussian_normalized_on_a_grid():
    """Real values: exp(log_prob) over a 2-D grid (length 2) integrates to 1."""
    model = RecurrentAR(input_shape=(2,), distribution="gaussian_mixture", num_components=2, units=3, num_layers=1)
    helpers.randomize_weights(model, scale=0.2)
    grid = np.linspace(-9.0, 9.0, 361).astype("float32")
    xs = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(helpers.to_np(model.log_prob(xs)).astype("float64")).reshape(len(grid), len(grid))
    total = np.trapezoid(np.trapezoid(p, grid), grid)
    assert abs(total - 1.0) < 1e-3, total


# ---------------------------------------------------------------------- cached step
def _condition_vector(model, batch, rng):
    cond = helpers._condition(model, batch, rng)
    return None if cond is None else model._condition_vector(ops.convert_to_tensor(cond))


def _step_runner(model, batch):
    """`run(x, mixed, cond, num_known)`: fill_cache with `mixed` (right before `num_known`), then steps
    to the end with the values of `x` in one `fori_loop`; compiled once for every `num_known` (eager
    on torch). Returns the params `[batch, groups, P]`."""
    import keras

    g, e = model.num_groups, model.head.event_size

    def run(x, mixed, cond, num_known):
        groups = ops.reshape(x, (batch, g, e))
        cache = model.fill_cache(model.init_cache(batch, cond), mixed, num_known)

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


@pytest.mark.parametrize("name", list(STEP_CONFIGS))
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass, for every position k."""
    model = _model(name)
    batch, rng = 2, np.random.default_rng(0)
    x = helpers._random_inputs(model, batch, rng).astype("float32")
    cond = _condition_vector(model, batch, rng)
    g, e = model.num_groups, model.head.event_size
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, g, -1)
    run = _step_runner(model, batch)
    for k in range(g):
        later = (np.arange(g) >= k)[None, :, None]  # after the known prefix: rubbish, which the steps overwrite
        other = helpers._random_inputs(model, batch, rng).reshape(batch, g, e)
        mixed = np.where(later, other, x.reshape(batch, g, e)).reshape(x.shape).astype("float32")
        args = [ops.convert_to_tensor(a) for a in (x, mixed)] + [cond, ops.convert_to_tensor(k, "int32")]
        np.testing.assert_allclose(helpers.to_np(run(*args))[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


def test_long_sequence_runs_the_rnn_loop():
    """Past 32 steps the RNN is not unrolled: the looped (and masked, in fill_cache) pass agrees with the steps."""
    model = RecurrentAR(input_shape=(40,), distribution="bernoulli", cell="lstm", units=3, num_layers=1)
    helpers.randomize_weights(model)
    rng = np.random.default_rng(0)
    x = helpers._random_inputs(model, 2, rng).astype("float32")
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x)))
    run = _step_runner(model, 2)
    for k in (0, 17):
        mixed = np.where(np.arange(40) >= k, 1.0 - x, x).astype("float32")
        out = helpers.to_np(run(ops.convert_to_tensor(x), ops.convert_to_tensor(mixed), None, ops.convert_to_tensor(k)))
        np.testing.assert_allclose(out[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


# each sampler test compiles the engine twice (cached, naive)
SAMPLERS = ["class", "gaussian", pytest.param("channels", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", SAMPLERS)
def test_cached_sampler_equals_naive(name):
    model = _model(name)
    n, rng = 3, np.random.default_rng(1)
    cond = helpers._condition(model, n, rng)
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond)
    # completion in the same compiled functions: a known prefix (fill_cache) and a known last value
    known = helpers._random_inputs(model, n, rng)
    mask = np.zeros(known.shape, bool)
    mask[:, :1] = True
    mask[:, -1] = rng.random(n)[:, None] < 0.5 if known.ndim == 3 else rng.random(n) < 0.5
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond, known=known, known_mask=mask)
    kept = helpers.to_np(model.sample(n, condition=cond, known=known, known_mask=mask, seed=2))
    np.testing.assert_array_equal(kept[mask], known[mask])


@pytest.mark.parametrize("name", ["vector", pytest.param("categorical", marks=pytest.mark.slow)])
def test_num_steps_beyond_input_shape(name):
    model = _model(name)
    n, steps, rng = 2, 9, np.random.default_rng(2)
    cond = helpers._condition(model, n, rng)
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond, num_steps=steps)
    samples = helpers.to_np(model.sample(n, condition=cond, num_steps=steps, seed=0))
    assert samples.shape == (n, steps)
    assert samples.min() >= 0 and samples.max() < model.head.num_levels
    with pytest.raises(ValueError, match="num_steps=0"):
        model.sample(n, condition=cond, num_steps=0)


@pytest.mark.slow
def test_samples_match_probabilities():
    helpers.assert_sample_frequencies(_model("categorical"))


# ---------------------------------------------------------------------- Keras plumbing
def _full_model():
    """Every constructor argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(8, 4, 2))
    cond = rng.normal(size=(8, 3)).astype("float32")
    model = RecurrentAR(
        input_shape=(4, 2), distribution="logistic_mixture", num_levels=5, num_components=2, cell="gru", units=3,
        num_layers=3, condition_shape=(3,), name="recurrent",
    )
    return model, x, cond


@pytest.mark.slow
def test_fits():
    model, x, cond = _full_model()
    helpers.assert_fits(model, x, condition=cond, epochs=1)


def test_round_trips_and_tfp(tmp_path):
    model, x, cond = _full_model()
    helpers.randomize_weights(model)
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.cell, clone.units, clone.num_layers, clone.condition_shape, clone.num_components) == (
        "recurrent", "gru", 3, 3, (3,), 2)
    assert set(clone.get_config()) >= {
        "input_shape", "distribution", "num_levels", "num_components", "cell", "units", "num_layers", "num_classes",
        "condition_shape", "name"}
    helpers.assert_keras_round_trip(model, x[:2], tmp_path, condition=cond[:2])
    helpers.assert_tfp_matches(model, x[:2], condition=cond[:2])


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("class")
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    assert helpers.assert_config_round_trip(model).num_classes == 2
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=np.array([0, 1]))
    helpers.assert_tfp_matches(model, x, condition=np.array([0, 1]))


# on JAX each compiles a train and a test step of the default (wide) network: about 10 s
HEADS = [pytest.param(dict(), id="categorical")] + [
    pytest.param(dict(distribution=d), id=d, marks=pytest.mark.slow)
    for d in ("logistic_mixture", "gaussian_mixture", "bernoulli")
]


@pytest.mark.parametrize("head", HEADS)
def test_defaults_build_and_train_on_length_2(head):
    model = RecurrentAR(input_shape=(2,), **head)
    assert (model.cell, model.units, model.num_layers) == ("lstm", 256, 2)
    x = helpers._random_inputs(model, 16, np.random.default_rng(0))
    assert np.isfinite(helpers.to_np(model.log_prob(x))).all()
    helpers.assert_fits(model, x, epochs=1)
    helpers.assert_tfp_matches(model, x[:2])


def test_bad_arguments():
    cases = [
        (dict(input_shape=(4, 2, 1)), "input_shape"),
        (dict(input_shape=(4,), cell="rnn"), "cell='rnn'"),
        (dict(input_shape=(4,), cell=None), "cell=None"),
        (dict(input_shape=(4,), units=0), "units=0"),
        (dict(input_shape=(4,), units=2.0), "units=2.0"),
        (dict(input_shape=(4,), num_layers=0), "num_layers=0"),
        (dict(input_shape=(4,), num_layers=True), "num_layers=True"),
        (dict(input_shape=(4,), distribution="bernoulli", num_levels=3), "num_levels=3"),
        (dict(input_shape=(4,), num_classes=0), "num_classes=0"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            RecurrentAR(**{**SMALL, **kwargs})
    model = _model("vector")
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 3)), condition=np.zeros((1, 4)))
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 3), 2), condition=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 5)), condition=np.zeros((1, 2)))
