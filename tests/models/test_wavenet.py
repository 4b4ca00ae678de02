import numpy as np
import pytest
from keras import ops

from keras_ar.models.fvsbn import FVSBN
from keras_ar.models.wavenet import WaveNet
from tests import helpers

SMALL = dict(residual_channels=4, dilation_channels=4, skip_channels=4, num_layers_per_stack=2, num_stacks=1)

CONFIGS = {
    "categorical": dict(input_shape=(3,), num_levels=3, **SMALL),  # 27 configurations
    "logistic": dict(input_shape=(3,), distribution="logistic_mixture", num_levels=3, num_components=2, **SMALL),
    "channels": dict(input_shape=(2, 2), distribution="bernoulli", kernel_size=3, **SMALL),  # channel c sees < c
    "class": dict(input_shape=(3,), num_levels=3, num_classes=2, **SMALL),
    "vector": dict(input_shape=(3,), distribution="bernoulli", condition_shape=(2,), **SMALL),
    "repeat": dict(input_shape=(4,), distribution="bernoulli", condition_shape=(2, 3), local_conditioning="repeat",
                   **SMALL),
    "transposed": dict(input_shape=(4,), distribution="bernoulli", condition_shape=(2, 3),
                       local_conditioning="transposed_conv", **SMALL),
}
STEP_CONFIGS = {
    **CONFIGS,
    "gaussian": dict(  # real values, 2 channels, several stacks, a vector condition
        input_shape=(6, 2), distribution="gaussian_mixture", num_components=2, condition_shape=(2,), kernel_size=3,
        residual_channels=4, dilation_channels=3, skip_channels=5, num_layers_per_stack=2, num_stacks=2,
    ),
    "categorical_channels": dict(input_shape=(4, 2), num_levels=3, condition_shape=(2, 1),
                                 local_conditioning="repeat", **SMALL),
}


def _model(name, seed=0):
    model = WaveNet(**STEP_CONFIGS[name])
    helpers.randomize_weights(model, seed=seed)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_causal_and_normalized(name):
    model = WaveNet(**CONFIGS[name])
    helpers.assert_causal(model, batch=2)
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=2, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.condition_size:  # the condition changes the distribution
        x = np.zeros((2,) + model.event_shape, "int32")
        cond = np.arange(2) if model.num_classes else np.random.default_rng(0).normal(size=(2,) + model.condition_shape)
        lps = helpers.to_np(model.log_prob(x, condition=cond))
        assert abs(lps[0] - lps[1]) > 1e-4, "the condition does not change the distribution"


def test_receptive_field_and_strict_first_layer():
    # dilations 1, 2, 1, 2 and kernel 2: x_t sees x_{t-8} .. x_{t-1}, not x_t
    model = WaveNet(input_shape=(11,), distribution="bernoulli", residual_channels=4, dilation_channels=4,
                    skip_channels=4, num_layers_per_stack=2, num_stacks=2)
    assert model.receptive_field == 8
    helpers.randomize_weights(model)
    x = np.zeros((12, 11), "float32")
    x[np.arange(1, 12), np.arange(11)] = 1.0  # row 1 + j: x_j flipped
    params = helpers.to_np(model(x))[..., 0]
    moved = np.abs(params[1:] - params[:1]) > 1e-6  # [flipped j, position t]
    seen = (np.arange(11)[None, :] > np.arange(11)[:, None]) & (
        np.arange(11)[None, :] - np.arange(11)[:, None] <= model.receptive_field
    )
    np.testing.assert_array_equal(moved, seen)


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
    every step's params equal the teacher-forced pass."""
    model = _model(name)
    batch, rng = 2, np.random.default_rng(0)
    x = helpers._random_inputs(model, batch, rng).astype("float32")
    cond = _condition_vector(model, batch, rng)
    g, e = model.num_groups, model.head.event_size
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, g, -1)
    run = _step_runner(model, batch)
    for k in sorted({0, 1, model.num_channels + 1, g - 1}):
        later = (np.arange(g) >= k)[None, :, None]  # after the known prefix: rubbish, which the steps overwrite
        other = helpers._random_inputs(model, batch, rng).reshape(batch, g, e)
        mixed = np.where(later, other, x.reshape(batch, g, e)).reshape(x.shape).astype("float32")
        args = [ops.convert_to_tensor(a) for a in (x, mixed)] + [cond, ops.convert_to_tensor(k, "int32")]
        np.testing.assert_allclose(helpers.to_np(run(*args))[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


# each sampler test compiles the engine twice (cached, naive): about 5 s on TensorFlow here
# ("class" is the categorical head with a global condition)
SLOW = [pytest.param(n, marks=pytest.mark.slow) for n in ("categorical", "transposed", "channels")]
SAMPLERS = ["class", "logistic"] + SLOW


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


@pytest.mark.parametrize("name", ["repeat", pytest.param("categorical", marks=pytest.mark.slow)])
def test_num_steps_beyond_input_shape(name):
    model = _model(name)
    n, steps, rng = 2, 9, np.random.default_rng(2)
    cond = None
    if model.hop is not None:  # ceil(9 / 2) = 5 frames at least; extra frames are ignored
        cond = rng.normal(size=(n, 6, 3)).astype("float32")
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond, num_steps=steps)
    samples = helpers.to_np(model.sample(n, condition=cond, num_steps=steps, seed=0))
    assert samples.shape == (n, steps)
    assert samples.min() >= 0 and samples.max() < model.head.num_levels
    if model.hop is not None:
        with pytest.raises(ValueError, match=r"\(2, >= 5, 3\)"):
            model.sample(n, condition=cond[:, :4], num_steps=steps)
    with pytest.raises(ValueError, match="num_steps=0"):
        model.sample(n, condition=cond, num_steps=0)
    with pytest.raises(ValueError, match="num_steps"):
        FVSBN(input_shape=(3,)).sample(2, num_steps=4)


@pytest.mark.slow
def test_samples_match_probabilities():
    model = _model("categorical")
    helpers.assert_sample_frequencies(model)


# ---------------------------------------------------------------------- Keras plumbing
def _local_model():
    """Local conditioning by transposed convolution, every constructor argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(8, 6, 2))
    frames = rng.normal(size=(8, 3, 2)).astype("float32")
    model = WaveNet(
        input_shape=(6, 2), distribution="logistic_mixture", num_levels=5, num_components=2, residual_channels=3,
        dilation_channels=2, skip_channels=5, kernel_size=3, num_layers_per_stack=2, num_stacks=2,
        local_conditioning="transposed_conv", condition_shape=(3, 2), name="wavenet",
    )
    return model, x, frames


@pytest.mark.slow
def test_fits():
    model, x, frames = _local_model()
    helpers.assert_fits(model, x, condition=frames, epochs=1)


def test_round_trips_and_tfp(tmp_path):
    model, x, frames = _local_model()
    helpers.randomize_weights(model)
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.dilation_channels, clone.local_conditioning, clone.hop) == (
        "wavenet", 2, "transposed_conv", 2)
    helpers.assert_keras_round_trip(model, x[:2], tmp_path, condition=frames[:2])
    helpers.assert_tfp_matches(model, x[:2], condition=frames[:2])


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("class")
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    assert helpers.assert_config_round_trip(model).num_classes == 2
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=np.array([0, 1]))
    helpers.assert_tfp_matches(model, x, condition=np.array([0, 1]))


@pytest.mark.parametrize(
    "head", [dict(), dict(distribution="logistic_mixture"), dict(distribution="gaussian_mixture"),
             dict(distribution="bernoulli")],
)
def test_defaults_build_on_length_2(head):
    model = WaveNet(input_shape=(2,), **head)
    assert (model.num_stacks, model.num_layers_per_stack, model.kernel_size, model.receptive_field) == (2, 10, 2, 2048)
    x = helpers._random_inputs(model, 1, np.random.default_rng(0))
    assert np.isfinite(helpers.to_np(model.log_prob(x))).all()


def test_bad_arguments():
    cases = [
        (dict(input_shape=(4, 2, 1)), "input_shape"),
        (dict(input_shape=(4,), kernel_size=1), "kernel_size=1"),
        (dict(input_shape=(4,), residual_channels=0), "residual_channels=0"),
        (dict(input_shape=(4,), dilation_channels=2.0), "dilation_channels=2.0"),
        (dict(input_shape=(4,), skip_channels=None), "skip_channels=None"),
        (dict(input_shape=(4,), num_layers_per_stack=0), "num_layers_per_stack=0"),
        (dict(input_shape=(4,), num_stacks=True), "num_stacks=True"),
        (dict(input_shape=(4,), local_conditioning="nearest"), "local_conditioning='nearest'"),
        (dict(input_shape=(4,), local_conditioning="repeat", num_classes=3), "condition_shape=\\(frames, features\\)"),
        (dict(input_shape=(5,), local_conditioning="repeat", condition_shape=(2, 3)), "multiple of `frames`"),
        (dict(input_shape=(4,), distribution="bernoulli", num_levels=3), "num_levels=3"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            WaveNet(**{**SMALL, **kwargs})
    model = _model("repeat")
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 4)), condition=np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 4), 2), condition=np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 5)), condition=np.zeros((1, 2, 3)))


# ---------------------------------------------------------------------- streaming generation
def _chunks(model, cond, sizes, seed=4, temperature=1.0):
    """`generate` in calls of `sizes` steps; the local frames of each call as they arrive."""
    outs, state, start = [], None, 0
    for size in sizes:
        frames = None
        if model.hop is not None:
            frames = cond[:, start // model.hop : -(-(start + size) // model.hop)]
        kwargs = dict(num_samples=cond.shape[0] if cond is not None else 2, seed=seed) if state is None else {}
        c = frames if model.hop is not None else (cond if state is None else None)
        out, state = model.generate(size, condition=c, state=state, temperature=temperature, **kwargs)
        outs.append(helpers.to_np(out))
        start += size
    return np.concatenate(outs, axis=1), state


@pytest.mark.parametrize("name", ["class", "repeat", "gaussian", pytest.param("transposed", marks=pytest.mark.slow)])
def test_generate_in_chunks_equals_one_call_and_sample(name):
    model = _model(name)
    n, rng = 2, np.random.default_rng(5)
    total = 12
    cond = helpers._condition(model, n, rng)
    if model.hop is not None:  # frames for 12 steps
        cond = rng.normal(size=(n, total // model.hop, model.condition_shape[1])).astype("float32")
    sizes = [4, 8] if model.hop is not None else [5, 7]  # calls start on a frame boundary (hop 2)
    chunked, state = _chunks(model, cond, sizes)
    whole, _ = _chunks(model, cond, [total])
    expected = helpers.to_np(model.sample(n, condition=cond, num_steps=total, seed=4))
    assert chunked.shape == (n, total) + model.event_shape[1:]
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_allclose(chunked, expected, rtol=1e-5, atol=1e-6)
    assert int(helpers.to_np(state["index"])) == total * model.num_channels
    # each call's temperature is the one `sample` uses
    hot, _ = _chunks(model, cond, sizes, temperature=3.0)
    expected = helpers.to_np(model.sample(n, condition=cond, num_steps=total, seed=4, temperature=3.0))
    np.testing.assert_allclose(hot, expected, rtol=1e-5, atol=1e-6)


def test_generate_errors():
    model = _model("repeat")
    frames = np.zeros((2, 4, 3), "float32")
    out, state = model.generate(3, num_samples=2, condition=frames, seed=0)
    with pytest.raises(ValueError, match="frame boundary"):
        model.generate(2, condition=frames, state=state)
    with pytest.raises(ValueError, match="seed=None"):
        model.generate(2, condition=frames, state=state, seed=1)
    with pytest.raises(ValueError, match="num_steps=0"):
        model.generate(0, num_samples=2, condition=frames)
    with pytest.raises(ValueError, match=r"\(2, >= 2, 3\)"):
        model.generate(4, num_samples=2, condition=frames[:, :1])
    with pytest.raises(ValueError, match="state"):
        model.generate(2, state={"cache": {}})
    glob = _model("class")
    _, state = glob.generate(2, num_samples=2, condition=np.array([0, 1]), seed=0)
    with pytest.raises(ValueError, match="condition=None"):
        glob.generate(2, condition=np.array([0, 1]), state=state)
    with pytest.raises(ValueError, match="use `sample"):
        FVSBN(input_shape=(3,)).generate(2)
