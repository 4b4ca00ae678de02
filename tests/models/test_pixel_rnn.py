import keras
import numpy as np
import pytest
from keras import ops

from keras_ar.models import PixelRNN
from tests import helpers

SMALL = dict(units=6, num_layers=1, first_kernel_size=3, output_hidden_units=6)
KINDS = ["row_lstm", "diagonal_bilstm"]
CONFIGS = {
    "bernoulli": dict(input_shape=(3, 3, 1), **SMALL),  # 512 configs
    "categorical": dict(input_shape=(2, 2, 1), distribution="categorical", num_levels=4, **SMALL),  # 256
    "rgb": dict(input_shape=(1, 2, 3), **SMALL),  # R -> G -> B inside a pixel, 64 configs
    "coupled": dict(  # PixelCNN++'s coupled head: one parameter set per pixel, 729 configs
        input_shape=(1, 2, 3), distribution="logistic_mixture", num_levels=3, num_components=2, **SMALL
    ),
    "classes": dict(input_shape=(2, 2, 1), num_classes=3, position_bias=True, **SMALL),
}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("recurrent", KINDS)
def test_causal_and_normalized(recurrent, config):
    model = PixelRNN(recurrent=recurrent, **CONFIGS[config])
    per_pixel = model.event_shape[:2] if model.head.event_size == 3 else model.event_shape
    condition = [0] if model.num_classes else None
    assert tuple(model(np.zeros((1,) + model.event_shape), condition=condition).shape) == (
        (1,) + per_pixel + (model.head.num_params,)
    )
    helpers.assert_causal(model, batch=1)  # before any training: the masks are applied in the forward pass
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.num_classes:
        x = np.zeros((1,) + model.event_shape, "int32")
        lps = [float(helpers.to_np(model.log_prob(x, condition=[c]))[0]) for c in range(model.num_classes)]
        assert np.ptp(lps) > 1e-4, "the class label does not change the distribution"


def _dependence_on(model, pixel, source, seed=0):
    """Whether the parameters of `pixel` move when the value at `source` changes (1-channel levels)."""
    x = np.random.default_rng(seed).integers(0, model.head.num_levels, size=(1,) + model.event_shape)
    x2 = x.copy()
    x2[(0,) + source] = (x2[(0,) + source] + 1) % model.head.num_levels
    p, p2 = (helpers.to_np(model(v.astype("float32")))[(0,) + pixel] for v in (x, x2))
    return np.abs(p - p2).max() > 1e-6


def test_diagonal_bilstm_sees_above_right_through_the_second_direction():
    """4x4: pixel (3, 0) sees (1, 3) above and to its right (through the mask-A 3x3 convolution at
    (2, 2), then the right-to-left direction) and nothing of its own or later pixels."""
    model = PixelRNN((4, 4, 1), "diagonal_bilstm", distribution="categorical", num_levels=4, **SMALL)
    helpers.randomize_weights(model, scale=1.0)
    assert _dependence_on(model, (3, 0, 0), (1, 3, 0))
    assert not any(_dependence_on(model, (3, 0, 0), (r, c, 0)) for r, c in [(3, 0), (3, 1), (3, 3)])
    # the left-to-right direction alone does not reach it
    layer = model.recurrent_layers[0]
    layer.reverse_input_to_state.kernel.assign(np.zeros(layer.reverse_input_to_state.kernel.shape, "float32"))
    assert not _dependence_on(model, (3, 0, 0), (1, 3, 0))
    # the Row LSTM (kernel 3) has a blind spot there
    row = PixelRNN((4, 4, 1), "row_lstm", distribution="categorical", num_levels=4, **SMALL)
    helpers.randomize_weights(row, scale=1.0)
    assert not _dependence_on(row, (3, 0, 0), (1, 3, 0))


@pytest.mark.parametrize("recurrent", KINDS)
@pytest.mark.parametrize("shape", [(1, 2, 1), (3, 2, 1)])
def test_small_shapes_build_and_sample_with_the_defaults(recurrent, shape):
    model = PixelRNN(shape, recurrent)
    samples = helpers.to_np(model.sample(2, seed=0))
    assert samples.shape == (2,) + shape and set(np.unique(samples)) <= {0, 1}
    helpers.assert_causal(model, batch=1)


@pytest.mark.parametrize("recurrent", KINDS)
def test_samples_match_probabilities(recurrent):
    model = PixelRNN((2, 2, 1), recurrent, **SMALL)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def _conditional_rgb(recurrent):
    return PixelRNN(
        (2, 2, 3), recurrent, distribution="categorical", num_levels=3, num_classes=2, units=6, num_layers=2,
        kernel_size=5, first_kernel_size=3, output_hidden_units=None, position_bias=True, name="rnn",
    )


@pytest.mark.parametrize("recurrent", KINDS)
def test_round_trips_and_tfp(recurrent, tmp_path):
    rng = np.random.default_rng(0)
    x, labels = rng.integers(0, 3, size=(4, 2, 2, 3)), rng.integers(0, 2, size=(4,))
    model = _conditional_rgb(recurrent)
    helpers.randomize_weights(model)
    config = helpers.assert_config_round_trip(model).get_config()
    expected = dict(  # every constructor argument
        input_shape=(2, 2, 3), recurrent=recurrent, distribution="categorical", num_levels=3, num_components=None,
        num_classes=2, condition_shape=None, units=6, num_layers=2, kernel_size=5, first_kernel_size=3,
        output_hidden_units=None, position_bias=True, name="rnn",
    )
    assert {k: config[k] for k in expected} == expected
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=labels)
    helpers.assert_tfp_matches(model, x, condition=labels)


@pytest.mark.parametrize("recurrent", ["row_lstm", pytest.param("diagonal_bilstm", marks=pytest.mark.slow)])
def test_fit_and_reload(recurrent, tmp_path):
    rng = np.random.default_rng(0)
    x, labels = rng.integers(0, 3, size=(16, 2, 2, 3)), rng.integers(0, 2, size=(16,))
    model = _conditional_rgb(recurrent)
    helpers.assert_fits(model, x, condition=labels, epochs=2)  # one batch of 16: two steps
    helpers.assert_keras_round_trip(model, x[:4], tmp_path, condition=labels[:4])  # with the optimizer state


def test_coupled_head_tfp_and_vector_condition():
    model = PixelRNN(
        (1, 2, 3), "diagonal_bilstm", distribution="logistic_mixture", num_levels=3, num_components=2,
        condition_shape=(2,), **SMALL,
    )
    helpers.randomize_weights(model)
    helpers.assert_normalized_for_every_condition(model)
    xs = helpers.enumerate_space(model.event_shape, 3)[::50]
    helpers.assert_tfp_matches(model, xs, condition=np.ones((len(xs), 2), "float32"))


# The defaults (units=48, output_hidden_units=96: multiples of 3) build and train with every head on
# 1 and 3 channels: fast, the RGB per-channel case (the colour groups); slow, the logistic mixture on
# grey 2x2 and on coupled 32x32x3. `test_small_shapes_...` builds and samples the defaults (bernoulli)
# on (1, 2, 1) and (3, 2, 1).
DEFAULT_CASES = [
    ((1, 2, 3), dict(distribution="categorical", num_levels=256)),
    pytest.param((2, 2, 1), dict(distribution="logistic_mixture", num_levels=256), marks=pytest.mark.slow),
    pytest.param((32, 32, 3), dict(distribution="logistic_mixture", num_levels=256), marks=pytest.mark.slow),
]


@pytest.mark.parametrize("recurrent", KINDS)
@pytest.mark.parametrize("shape,head", DEFAULT_CASES)
def test_defaults_build_and_train(recurrent, shape, head):
    model = PixelRNN(shape, recurrent, **head)
    x = np.random.default_rng(0).integers(0, model.head.num_levels, size=(2,) + shape)
    history = model.fit(x, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="recurrent"):
        PixelRNN((4, 4, 1), recurrent="lstm")
    with pytest.raises(ValueError, match="units=8"):
        PixelRNN((4, 4, 3), units=8)  # one group per colour
    with pytest.raises(ValueError, match="output_hidden_units=4"):
        PixelRNN((4, 4, 3), units=6, output_hidden_units=4)
    PixelRNN((2, 2, 3), distribution="logistic_mixture", num_levels=4, units=8, output_hidden_units=4, **{
        "num_layers": 1, "first_kernel_size": 3})  # the coupled head has no colour groups: any width
    with pytest.raises(ValueError, match="channels"):
        PixelRNN((4, 4, 2))
    with pytest.raises(ValueError, match="input_shape"):
        PixelRNN((16,))
    with pytest.raises(ValueError, match="kernel_size=4"):
        PixelRNN((4, 4, 1), kernel_size=4)
    with pytest.raises(ValueError, match="first_kernel_size=2"):
        PixelRNN((4, 4, 1), first_kernel_size=2)
    with pytest.raises(ValueError, match="num_layers=0"):
        PixelRNN((4, 4, 1), num_layers=0)
    with pytest.raises(ValueError, match="position_bias"):
        PixelRNN((4, 4, 1), position_bias=1)
    model = PixelRNN((2, 2, 1), **SMALL)
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 2, 2, 1), 2))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 2, 2, 3)))


# ---------------------------------------------------------------------- cached sampler
CACHED_CONFIGS = [
    dict(input_shape=(3, 3, 1), **SMALL),  # 1 channel bernoulli
    dict(input_shape=(1, 2, 3), distribution="categorical", num_levels=3, **SMALL),  # RGB per-channel
    dict(  # 2 layers, kernel 5, categorical RGB
        input_shape=(2, 3, 3), distribution="categorical", num_levels=4, units=6, num_layers=2, kernel_size=5,
        first_kernel_size=3, output_hidden_units=None,
    ),
    dict(  # coupled PixelCNN++ head, conditional, per-position biases
        input_shape=(2, 2, 3), distribution="logistic_mixture", num_levels=5, num_components=2, units=8,
        num_layers=2, first_kernel_size=5, output_hidden_units=4, num_classes=3, position_bias=True,
    ),
    dict(input_shape=(3, 2, 1), distribution="gaussian_mixture", num_components=2, condition_shape=(2,), **SMALL),
    dict(input_shape=(1, 2, 1), **SMALL),
]


def _cached_setup(recurrent, kwargs, batch=2, seed=0):
    model = PixelRNN(recurrent=recurrent, **kwargs)
    helpers.randomize_weights(model, seed=seed)
    rng = np.random.default_rng(seed)
    x = helpers._random_inputs(model, batch, rng).astype("float32")
    cond = helpers._condition(model, batch, rng)
    cond = model.condition_vector(None if cond is None else ops.convert_to_tensor(cond))
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, model.num_groups, -1)
    other = helpers._random_inputs(model, batch, rng).astype("float32")  # agrees with x before the prefix only
    return model, x, other, cond, params


def _jit_on_jax(fn):
    """On JAX one `jax.jit` per shapes for every call: eagerly, JAX compiles each op (and each
    `cond`) again on every call of a step."""
    if keras.backend.backend() != "jax":
        return fn
    import jax

    return jax.jit(fn)


def _step_params(model, fill, step, x, other, cond, num_known):
    """Driver (eager but on JAX): fill_cache with a prefix (rubbish after it), then step through the rest."""
    batch, e = x.shape[0], model.head.event_size
    groups = x.reshape(batch, model.num_groups, e)
    later = np.arange(model.num_groups) >= num_known
    mixed = np.where(later[None, :, None], other.reshape(groups.shape), groups).reshape(x.shape)
    num_known_tensor = ops.convert_to_tensor(num_known, "int32")
    cache = fill(model.init_cache(batch, cond), ops.convert_to_tensor(mixed), num_known_tensor)
    out = []
    for i in range(num_known, model.num_groups):
        x_prev = groups[:, i - 1] if i else np.zeros_like(groups[:, 0])
        params, cache = step(cache, ops.convert_to_tensor(x_prev), ops.convert_to_tensor(i, "int32"))
        out.append(helpers.to_np(params))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("recurrent", KINDS)
@pytest.mark.parametrize("kwargs", CACHED_CONFIGS)
def test_cached_step_equals_compute_params(recurrent, kwargs):
    model, x, other, cond, params = _cached_setup(recurrent, kwargs)
    assert model.has_cached_step
    fill, step = _jit_on_jax(model.fill_cache), _jit_on_jax(model.step)
    for k in sorted({0, model.num_groups // 2, model.num_groups - 1}):
        np.testing.assert_allclose(
            _step_params(model, fill, step, x, other, cond, k), params[:, k:], atol=1e-5, err_msg=f"num_known={k}"
        )


@pytest.mark.parametrize("recurrent", KINDS)
@pytest.mark.parametrize("kwargs", [CACHED_CONFIGS[2], CACHED_CONFIGS[3]])
def test_cached_step_compiled(recurrent, kwargs):
    """The same inside one `fori_loop` compiled for the backend, with traced indices."""
    model, x, _, cond, params = _cached_setup(recurrent, kwargs)
    batch, g, e = x.shape[0], model.num_groups, model.head.event_size

    def run(x, cond, num_known):
        groups = ops.reshape(x, (batch, g, e))
        cache = model.fill_cache(model.init_cache(batch, cond), x, num_known)

        def body(i, carry):
            cache, out = carry
            params, cache = model.step(cache, ops.take(groups, ops.maximum(i - 1, 0), axis=1), i)
            return cache, ops.slice_update(out, [0, i, 0], ops.expand_dims(params, 1))

        return ops.fori_loop(num_known, g, body, (cache, ops.zeros((batch, g, model.head.num_params))))[1]

    if keras.backend.backend() == "jax":
        import jax

        run = jax.jit(run)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        run = tf.function(run)
    for k in (0, 2):
        out = helpers.to_np(run(ops.convert_to_tensor(x), cond, ops.convert_to_tensor(k, "int32")))
        np.testing.assert_allclose(out[:, k:], params[:, k:], atol=1e-5)


@pytest.mark.parametrize("recurrent", KINDS)
@pytest.mark.parametrize("kwargs", [CACHED_CONFIGS[0], CACHED_CONFIGS[3]])
def test_cached_sampler_equals_naive(recurrent, kwargs):
    model = PixelRNN(recurrent=recurrent, **kwargs)
    helpers.randomize_weights(model)
    n, rng = 4, np.random.default_rng(1)
    condition = np.arange(n) % model.num_classes if model.num_classes else None
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=condition)
    # completion: the top row known (a prefix, absorbed by fill_cache) and a few pixels below it
    known = helpers._random_inputs(model, n, rng)
    mask = np.zeros(known.shape, bool)
    mask[:, : max(1, model.event_shape[0] // 2)] = True
    mask[:, -1, -1] = rng.random(n)[:, None] < 0.5
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=condition, known=known, known_mask=mask)
    samples = helpers.to_np(model.sample(n, condition=condition, known=known, known_mask=mask, seed=2))
    np.testing.assert_array_equal(samples[mask], known[mask])
