import numpy as np
import pytest
from keras import ops

from keras_ar.models.transformer_ar import TransformerAR
from tests import helpers

SMALL = dict(hidden_dim=8, num_layers=2, num_heads=2, intermediate_dim=8)

CONFIGS = {
    "categorical": dict(input_shape=(3,), num_levels=3, **SMALL),  # 27 configurations
    "logistic": dict(input_shape=(3,), distribution="logistic_mixture", num_levels=3, num_components=2, **SMALL),
    "channels": dict(input_shape=(2, 2), distribution="bernoulli", **SMALL),  # channel c sees < c
    "class": dict(input_shape=(3,), num_levels=3, num_classes=2, **SMALL),
    "vector": dict(input_shape=(3,), distribution="bernoulli", condition_shape=(2,), position_embedding="sinusoidal",
                   **SMALL),
}
STEP_CONFIGS = {
    **CONFIGS,
    "gaussian": dict(  # real values, 2 channels, a vector condition, sinusoidal positions
        input_shape=(5, 2), distribution="gaussian_mixture", num_components=2, condition_shape=(2,),
        position_embedding="sinusoidal", hidden_dim=12, num_layers=3, num_heads=3, intermediate_dim=6,
    ),
    "categorical_channels": dict(input_shape=(4, 2), num_levels=3, num_classes=2, max_length=6, **SMALL),
}


def _model(name, seed=0):
    model = TransformerAR(**STEP_CONFIGS[name])
    helpers.randomize_weights(model, seed=seed)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_causal_and_normalized(name):
    model = TransformerAR(**CONFIGS[name])
    helpers.assert_causal(model, batch=2)
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=2, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.condition_size:  # the condition changes the distribution
        x = np.zeros((2,) + model.event_shape, "int32")
        cond = np.arange(2) if model.num_classes else np.random.default_rng(0).normal(size=(2,) + model.condition_shape)
        lps = helpers.to_np(model.log_prob(x, condition=cond))
        assert abs(lps[0] - lps[1]) > 1e-4, "the condition does not change the distribution"


def test_attends_to_the_whole_past():
    """Unlike a convolution, position t sees every earlier step, however far, and no later one."""
    model = TransformerAR(input_shape=(9,), distribution="bernoulli", **SMALL)
    helpers.randomize_weights(model)
    x = np.zeros((10, 9), "float32")
    x[np.arange(1, 10), np.arange(9)] = 1.0  # row 1 + j: x_j flipped
    params = helpers.to_np(model(x))[..., 0]
    moved = np.abs(params[1:] - params[:1]) > 1e-6  # [flipped j, position t]
    np.testing.assert_array_equal(moved, np.arange(9)[None, :] > np.arange(9)[:, None])


# ---------------------------------------------------------------------- cached step
def _condition_vector(model, batch, rng):
    cond = helpers._condition(model, batch, rng)
    return None if cond is None else model._condition_vector(ops.convert_to_tensor(cond))


def _step_runner(model, batch, steps):
    """`run(x, mixed, cond, num_known)`: a cache of `steps` positions filled with `mixed` (right before
    `num_known`), then steps to the end with the values of `x` in one `fori_loop`; compiled once for every
    `num_known` (eager on torch). Returns the params `[batch, groups, P]`."""
    import keras

    e = model.head.event_size
    g = steps * model.num_dims // model.event_shape[0] // e

    def run(x, mixed, cond, num_known):
        groups = ops.reshape(x, (batch, g, e))
        cache = model.fill_cache(model.init_cache(batch, cond, num_steps=steps), mixed, num_known)

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


@pytest.mark.parametrize("name", [*CONFIGS, pytest.param("gaussian", marks=pytest.mark.slow), "categorical_channels"])
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass, at every position; past the training length
    too (learned positions up to `max_length`)."""
    model = _model(name)
    batch, rng = 2, np.random.default_rng(0)
    steps = model.max_length + (3 if model.position_embedding == "sinusoidal" else 0)  # past the length
    shape = (batch, steps) + model.event_shape[1:]

    def values():
        if model.head.is_discrete:
            return rng.integers(0, model.head.num_levels, size=shape).astype("float32")
        return rng.normal(size=shape).astype("float32")

    x = values()
    cond = _condition_vector(model, batch, rng)
    e = model.head.event_size
    g = x[0].size // e
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, g, -1)
    run = _step_runner(model, batch, steps)
    for k in sorted({0, 1, model.num_channels + 1, g - 1}):
        later = (np.arange(g) >= k)[None, :, None]  # after the known prefix: rubbish, which the steps overwrite
        other = values().reshape(batch, g, e)
        mixed = np.where(later, other, x.reshape(batch, g, e)).reshape(x.shape).astype("float32")
        args = [ops.convert_to_tensor(a) for a in (x, mixed)] + [cond, ops.convert_to_tensor(k, "int32")]
        np.testing.assert_allclose(helpers.to_np(run(*args))[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


# each sampler test compiles the engine twice (cached, naive): 5-15 s here
# ("class" is the categorical head with a global condition)
SLOW = [pytest.param(n, marks=pytest.mark.slow) for n in ("logistic", "categorical", "channels", "gaussian")]
SAMPLERS = ["class"] + SLOW


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


def test_num_steps_beyond_input_shape():
    """Sinusoidal positions generate any length; learned ones up to `max_length`, and say so beyond."""
    model = _model("vector")  # sinusoidal, a vector condition
    n, steps, rng = 2, 7, np.random.default_rng(2)
    cond = helpers._condition(model, n, rng)
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond, num_steps=steps)
    samples = helpers.to_np(model.sample(n, condition=cond, num_steps=steps, seed=0))
    assert samples.shape == (n, steps)
    assert samples.min() >= 0 and samples.max() < model.head.num_levels
    learned = _model("categorical_channels")  # learned positions, max_length=6 > length 4 (steps to 6: above)
    with pytest.raises(ValueError, match="max_length.*num_steps=7"):
        learned.sample(n, condition=np.array([0, 1]), num_steps=7)
    with pytest.raises(ValueError, match="num_steps=7"):
        learned.init_cache(n, num_steps=7)
    with pytest.raises(ValueError, match="num_steps=4"):
        _model("categorical").sample(n, num_steps=4)
    with pytest.raises(ValueError, match="num_steps=0"):
        model.sample(n, condition=cond, num_steps=0)


@pytest.mark.slow
def test_samples_match_probabilities():
    model = _model("categorical")
    helpers.assert_sample_frequencies(model)


# ---------------------------------------------------------------------- Keras plumbing
def _full_model():
    """Every constructor argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(8, 4, 2))
    vectors = rng.normal(size=(8, 3)).astype("float32")
    model = TransformerAR(
        input_shape=(4, 2), distribution="logistic_mixture", num_levels=5, num_components=2, hidden_dim=6,
        num_layers=2, num_heads=3, intermediate_dim=10, dropout=0.1, position_embedding="sinusoidal", max_length=7,
        condition_shape=(3,), name="transformer",
    )
    return model, x, vectors


def test_round_trips_and_tfp(tmp_path):
    model, x, vectors = _full_model()
    helpers.randomize_weights(model)
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.hidden_dim, clone.num_layers, clone.num_heads, clone.intermediate_dim, clone.dropout,
            clone.position_embedding, clone.max_length, clone.condition_shape, clone.num_components) == (
        "transformer", 6, 2, 3, 10, 0.1, "sinusoidal", 7, (3,), 2)
    helpers.assert_keras_round_trip(model, x[:2], tmp_path, condition=vectors[:2])
    helpers.assert_tfp_matches(model, x[:2], condition=vectors[:2])


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("categorical_channels")  # learned positions, max_length=6
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    clone = helpers.assert_config_round_trip(model)
    assert (clone.num_classes, clone.max_length, clone.position_embedding) == (2, 6, "learned")
    assert TransformerAR(input_shape=(4,), **SMALL).get_config()["max_length"] == 4  # None: the length
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=np.array([0, 1]))
    helpers.assert_tfp_matches(model, x, condition=np.array([0, 1]))


@pytest.mark.slow
def test_fits_with_dropout():
    model, x, vectors = _full_model()
    helpers.assert_fits(model, x, condition=vectors, epochs=1)


HEADS = [dict(), dict(distribution="logistic_mixture"), dict(distribution="gaussian_mixture"),
         dict(distribution="bernoulli")]


@pytest.mark.parametrize("head", HEADS)
def test_defaults_build_on_length_2(head):
    model = TransformerAR(input_shape=(2,), **head)
    assert (model.hidden_dim, model.num_layers, model.num_heads, model.intermediate_dim, model.dropout,
            model.position_embedding, model.max_length) == (128, 4, 4, 512, 0.0, "learned", 2)
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    assert np.isfinite(helpers.to_np(model.log_prob(x))).all()


# compiling the default model's train and test steps takes 10-30 s per head here
@pytest.mark.parametrize("head", [HEADS[0]] + [pytest.param(h, marks=pytest.mark.slow) for h in HEADS[1:]])
def test_defaults_train_on_length_2(head):
    model = TransformerAR(input_shape=(2,), **head)
    helpers.assert_fits(model, helpers._random_inputs(model, 16, np.random.default_rng(0)), epochs=1)


def test_bad_arguments():
    cases = [
        (dict(input_shape=(4, 2, 1)), "input_shape"),
        (dict(input_shape=(4,), hidden_dim=0), "hidden_dim=0"),
        (dict(input_shape=(4,), num_layers=2.0), "num_layers=2.0"),
        (dict(input_shape=(4,), num_heads=None), "num_heads=None"),
        (dict(input_shape=(4,), intermediate_dim=True), "intermediate_dim=True"),
        (dict(input_shape=(4,), hidden_dim=6, num_heads=4), "hidden_dim=6, num_heads=4"),
        (dict(input_shape=(4,), dropout=1.0), "dropout=1.0"),
        (dict(input_shape=(4,), dropout="0.1"), "dropout='0.1'"),
        (dict(input_shape=(4,), position_embedding="rotary"), "position_embedding='rotary'"),
        (dict(input_shape=(4,), max_length=3), "max_length=3"),
        (dict(input_shape=(4,), max_length=5.0), "max_length=5.0"),
        (dict(input_shape=(4,), distribution="bernoulli", num_levels=3), "num_levels=3"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            TransformerAR(**{**SMALL, **kwargs})
    model = _model("class")
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="0..2"):
        model.log_prob(np.full((1, 3), 3), condition=np.zeros(1, "int32"))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 4)), condition=np.zeros(1, "int32"))
