import numpy as np
import pytest

from keras_ar.models.pixel_cnn import PixelCNN
from tests import helpers

SMALL = dict(filters=6, num_residual_blocks=1, first_kernel_size=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(3, 3, 1), **SMALL),  # 512 configs
        dict(input_shape=(1, 2, 3), output_hidden_units=6, **SMALL),  # RGB sub-pixel order, 64 configs
        dict(input_shape=(2, 2, 1), distribution="categorical", num_levels=4, **SMALL),  # 256 configs
        dict(  # coupled PixelCNN++ head, 729 configs
            input_shape=(1, 2, 3), distribution="logistic_mixture", num_levels=3, num_components=2,
            filters=8, num_residual_blocks=1, first_kernel_size=3,  # any width: no colour groups here
        ),
        dict(input_shape=(2, 2, 1), distribution="logistic_mixture", num_levels=4, num_components=2, **SMALL),
        dict(input_shape=(2, 2, 1), num_classes=3, **SMALL),
        dict(input_shape=(1, 2, 3), position_bias=True, **SMALL),  # learned per-position biases
    ],
)
def test_causal_and_normalized(kwargs):
    model = PixelCNN(**kwargs)
    # RGB with a per-channel head: [b, H, W, 3, P]; coupled head: one parameter set per pixel [b, H, W, P]
    per_pixel = model.event_shape[:2] if model.head.event_size == 3 else model.event_shape
    assert tuple(model(np.zeros((1,) + model.event_shape), condition=[0] if model.num_classes else None).shape) == (
        (1,) + per_pixel + (model.head.num_params,)
    )
    # batch 1 as in `build`: on JAX every new shape compiles every op again
    helpers.assert_causal(model, batch=1)  # before any training: the masks are applied in the forward pass
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.num_classes:
        x = np.zeros((1,) + model.event_shape, "int32")
        lps = [float(helpers.to_np(model.log_prob(x, condition=[c]))[0]) for c in range(model.num_classes)]
        assert np.ptp(lps) > 1e-4, "the class label does not change the distribution"
    if model.head.event_size == 3:  # the coupled head's TFP view, teacher-forced on x
        helpers.assert_tfp_matches(model, helpers.enumerate_space(model.event_shape, 3)[::50])


@pytest.mark.tf_only
@pytest.mark.parametrize("channels", [1, 3])
def test_autoregressive_by_gradients(channels):
    import tensorflow as tf

    model = PixelCNN(  # wide enough that no path of random weights is all dead ReLUs
        input_shape=(4, 4, channels), distribution="categorical", num_levels=4,
        filters=24, num_residual_blocks=1, first_kernel_size=3,
    )
    helpers.randomize_weights(model)
    d = 16 * channels
    x = tf.constant(np.random.default_rng(0).integers(0, 4, size=(1, 4, 4, channels)), "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        params = tf.reshape(tf.reduce_sum(model(x), axis=-1), (d,))  # summed params of each dimension
    jac = tape.jacobian(params, x).numpy().reshape(d, d)  # [dimension k, input dimension m], raster order
    assert np.all(jac[np.triu_indices(d)] == 0.0), "a dimension depends on itself or a later one"
    # and it does depend on the dimension just before it in the same row (R -> G -> B, left -> right)
    for k in range(1, d):
        if (k // channels) % 4 or k % channels:
            assert jac[k, k - 1] != 0.0, k


def test_samples_match_probabilities():
    model = PixelCNN(input_shape=(2, 2, 1), **SMALL)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(16, 2, 2, 3))
    labels = rng.integers(0, 2, size=(16,))
    model = PixelCNN(
        input_shape=(2, 2, 3), distribution="categorical", num_levels=3, num_classes=2,
        output_hidden_units=6, dropout=0.1, position_bias=True, **SMALL,
    )
    helpers.assert_fits(model, x, condition=labels, epochs=2)  # one batch of 16: two steps
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:4], tmp_path, condition=labels[:4])
    helpers.assert_tfp_matches(model, x[:4], condition=labels[:4])


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="filters=8"):
        PixelCNN(input_shape=(4, 4, 3), filters=8)
    with pytest.raises(ValueError, match="output_hidden_units=4"):
        PixelCNN(input_shape=(4, 4, 3), filters=6, output_hidden_units=4)
    with pytest.raises(ValueError, match="channels"):
        PixelCNN(input_shape=(4, 4, 2))
    with pytest.raises(ValueError, match="input_shape"):
        PixelCNN(input_shape=(16,))
    with pytest.raises(ValueError, match="first_kernel_size"):
        PixelCNN(input_shape=(4, 4, 1), first_kernel_size=4)
    with pytest.raises(ValueError, match="dropout"):
        PixelCNN(input_shape=(4, 4, 1), dropout=1.0)
    model = PixelCNN(input_shape=(2, 2, 1), **SMALL)
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 2, 2, 1), 2))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 2, 2, 1)), condition=np.zeros(1))


# ---------------------------------------------------------------------- cached sampler
CACHED_CONFIGS = [
    dict(input_shape=(3, 3, 1), **SMALL),  # 1 channel bernoulli
    dict(input_shape=(1, 2, 3), distribution="categorical", num_levels=3, **SMALL),  # RGB per-channel
    dict(input_shape=(2, 2, 3), distribution="categorical", num_levels=4, output_hidden_units=6, **SMALL),
    dict(  # coupled PixelCNN++ head, conditional, per-position biases
        input_shape=(2, 2, 3), distribution="logistic_mixture", num_levels=5, num_components=2,
        filters=8, num_residual_blocks=2, first_kernel_size=5, num_classes=3, position_bias=True,
    ),
    dict(input_shape=(2, 3, 1), num_classes=2, position_bias=True, **SMALL),
    dict(input_shape=(3, 3, 1), filters=6, num_residual_blocks=2, kernel_size=5, first_kernel_size=5),
    dict(input_shape=(2, 2, 1), distribution="gaussian_mixture", num_components=2, condition_shape=(2,), **SMALL),
    dict(input_shape=(1, 2, 1), **SMALL),
    dict(input_shape=(3, 2, 1), filters=6, num_residual_blocks=1, first_kernel_size=5, output_hidden_units=4),
]


def _cached_setup(kwargs, batch=2, seed=0):
    from keras import ops

    model = PixelCNN(**kwargs)
    helpers.randomize_weights(model, seed=seed)
    rng = np.random.default_rng(seed)
    x = helpers._random_inputs(model, batch, rng).astype("float32")
    cond = helpers._condition(model, batch, rng)
    cond = model.condition_vector(None if cond is None else ops.convert_to_tensor(cond))
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, model.num_groups, -1)
    # another x that agrees with x only before position k, for fill_cache(x, k)
    other = helpers._random_inputs(model, batch, rng).astype("float32")
    return model, x, other, cond, params


def _step_params(model, x, other, cond, num_known):
    """Eager driver: fill_cache with a prefix, then step through the remaining positions."""
    from keras import ops

    batch, e = x.shape[0], model.head.event_size
    groups = x.reshape(batch, model.num_groups, e)
    cache = model.init_cache(batch, cond)
    if num_known:
        later = np.arange(model.num_groups) >= num_known  # rubbish after the known prefix
        mixed = np.where(later[None, :, None], other.reshape(groups.shape), groups).reshape(x.shape)
        cache = model.fill_cache(cache, ops.convert_to_tensor(mixed), ops.convert_to_tensor(num_known, "int32"))
    out = []
    for i in range(num_known, model.num_groups):
        x_prev = groups[:, i - 1] if i else np.zeros_like(groups[:, 0])
        params, cache = model.step(cache, ops.convert_to_tensor(x_prev), ops.convert_to_tensor(i, "int32"))
        out.append(helpers.to_np(params))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("kwargs", CACHED_CONFIGS)
def test_cached_step_equals_forward(kwargs):
    model, x, other, cond, params = _cached_setup(kwargs)
    for k in (0, model.num_groups // 2):
        np.testing.assert_allclose(
            _step_params(model, x, other, cond, k), params[:, k:], atol=1e-5, err_msg=f"num_known={k}"
        )


def _compiled_step_params(model, x, cond, num_known):
    """The same, inside one `fori_loop` compiled for the backend, with a traced index."""
    import keras
    from keras import ops

    batch, g, e = x.shape[0], model.num_groups, model.head.event_size

    def run(x, cond, num_known):
        groups = ops.reshape(x, (batch, g, e))
        cache = model.fill_cache(model.init_cache(batch, cond), x, num_known)

        def body(i, carry):
            cache, out = carry
            x_prev = ops.take(groups, ops.maximum(i - 1, 0), axis=1)
            params, cache = model.step(cache, x_prev, i)
            return cache, ops.slice_update(out, [0, i, 0], ops.expand_dims(params, 1))

        return ops.fori_loop(num_known, g, body, (cache, ops.zeros((batch, g, model.head.num_params))))[1]

    if keras.backend.backend() == "jax":
        import jax

        run = jax.jit(run)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        run = tf.function(run)
    args = (ops.convert_to_tensor(x), cond, ops.convert_to_tensor(num_known, "int32"))
    return helpers.to_np(run(*args))[:, num_known:]


@pytest.mark.parametrize("kwargs", [CACHED_CONFIGS[1], CACHED_CONFIGS[3]])
def test_cached_step_compiled(kwargs):
    model, x, _, cond, params = _cached_setup(kwargs)
    for k in (0, 2):
        np.testing.assert_allclose(_compiled_step_params(model, x, cond, k), params[:, k:], atol=1e-5)


@pytest.mark.parametrize("kwargs", [CACHED_CONFIGS[0], CACHED_CONFIGS[2], CACHED_CONFIGS[3]])
def test_cached_sampler_equals_naive(kwargs):
    model = PixelCNN(**kwargs)
    helpers.randomize_weights(model)
    n, rng = 4, np.random.default_rng(1)
    condition = np.arange(n) % model.num_classes if model.num_classes else None
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=condition)
    # completion: the top half known (a prefix, absorbed by fill_cache) and a few pixels below it
    known = helpers._random_inputs(model, n, rng)
    mask = np.zeros(known.shape, bool)
    mask[:, : model.event_shape[0] // 2] = True
    mask[:, -1, -1] = rng.random(n)[:, None] < 0.5
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=condition, known=known, known_mask=mask)
