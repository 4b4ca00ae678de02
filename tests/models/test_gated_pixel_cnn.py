import numpy as np
import pytest
import keras
from keras import ops

from keras_ar.models._conditions import warn_unscaled_condition
from keras_ar.models.gated_pixel_cnn import GatedPixelCNN
from keras_ar.models.pixel_cnn import PixelCNN
from tests import helpers

SMALL = dict(filters=6, num_blocks=2, first_kernel_size=3)

CONFIGS = {
    "bernoulli": dict(input_shape=(3, 3, 1), **SMALL),  # 512 configurations
    "categorical": dict(input_shape=(2, 2, 1), distribution="categorical", num_levels=4, **SMALL),  # 256
    "rgb": dict(input_shape=(1, 2, 3), **SMALL),  # R -> G -> B sub-pixels, 64
    "coupled": dict(  # PixelCNN++'s coupled head, 729
        input_shape=(1, 2, 3), distribution="logistic_mixture", num_levels=3, num_components=2,
        filters=4, num_blocks=2, first_kernel_size=3,  # any width: no colour groups here
    ),
    "class": dict(input_shape=(2, 2, 1), num_classes=3, **SMALL),
    "vector": dict(input_shape=(2, 2, 1), condition_shape=(3,), **SMALL),
    "spatial": dict(input_shape=(2, 2, 1), condition_shape=(1, 2, 1), position_bias=True, **SMALL),  # super-res
    "colorize": dict(input_shape=(1, 2, 3), condition_shape=(1, 2, 1), **SMALL),  # grey image -> RGB
}


STEP_CONFIGS = {
    **CONFIGS,
    "wide": dict(  # several rows, two kernel sizes, real values, a vector condition
        input_shape=(3, 4, 1), distribution="gaussian_mixture", num_components=2, condition_shape=(2,),
        filters=6, num_blocks=3, kernel_size=5, first_kernel_size=3,
    ),
}


def _model(name, seed=0):
    model = GatedPixelCNN(**STEP_CONFIGS[name])
    helpers.randomize_weights(model, seed=seed)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_causal_and_normalized(name):
    model = GatedPixelCNN(**CONFIGS[name])
    helpers.assert_causal(model, batch=1)  # before any training: masks are applied in the forward pass
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.condition_size:
        helpers.assert_condition_matters(model)


def _dependencies(model, shape):
    """[pixel, other pixel]: how much the params of a pixel move when the other pixel alone flips,
    each flipped image against the unflipped one at the same batch row (`helpers.changes_by_row`)."""
    helpers.randomize_weights(model, seed=1)
    x = np.random.default_rng(0).integers(0, 2, size=(1,) + shape).astype("float32")
    d = int(np.prod(shape))
    flipped = np.repeat(x.reshape(1, d), d, axis=0)
    flipped[np.arange(d), np.arange(d)] = 1 - flipped[np.arange(d), np.arange(d)]  # row j: pixel j flipped
    changes = helpers.changes_by_row(lambda v: helpers.to_np(model(v)).reshape(d, d, -1), x,
                                     flipped.reshape((d,) + shape))
    return changes.max(-1).T


def test_no_blind_spot():
    # 4 blocks of 3x3 reach 4 columns left and right in the rows above: all of a 5x5 image
    gated = GatedPixelCNN(input_shape=(5, 5, 1), filters=24, num_blocks=4, first_kernel_size=3)
    gated = _dependencies(gated, (5, 5, 1))
    earlier = np.tril(np.ones((25, 25), bool), -1)
    assert np.all(gated[24, :24] > 1e-4), "the last pixel does not depend on every earlier pixel"
    helpers.assert_dependencies(gated, earlier, name="[pixel, flipped pixel]")
    # a PixelCNN of stacked 3x3 masked convolutions, as deep, has the blind spot: pixel (2, 0) sees (0, 2)
    # two rows up but not (1, 2) one row up. (The blind spot lies above-right of a pixel: the last pixel
    # of an image has nothing to its right, so there only depth decides, and this PixelCNN sees it all.)
    plain = PixelCNN(input_shape=(5, 5, 1), filters=24, num_residual_blocks=4, kernel_size=3, first_kernel_size=3)
    plain = _dependencies(plain, (5, 5, 1))
    assert np.all(plain[~earlier] < 1e-6)
    assert plain[2 * 5 + 0, 0 * 5 + 2] > 1e-4 and plain[2 * 5 + 0, 1 * 5 + 2] < 1e-6
    assert np.sum(plain[earlier] < 1e-6) >= 20, "expected a blind spot above-right of every pixel"


def test_dependencies_compare_each_row_with_itself():
    """The defect `test_no_blind_spot` once had on an AMD EPYC: a kernel that rounds batch rows differently
    showed a dependency of 1.2e-5 that is not there. `changes_by_row` compares each changed input only with
    the unchanged one at the same row of a call of the same shape, so such rounding cancels."""
    d = 6

    def rounds_by_row(v):  # output k sums the inputs before k; each batch row rounds its own way
        return np.cumsum(v, -1) - v + 1e-5 * np.arange(len(v))[:, None] * (np.cumsum(v, -1) - v)

    base = np.arange(1.0, d + 1)[None]
    changed = np.repeat(base, d, axis=0)
    changed[np.arange(d), np.arange(d)] += 1.0  # row j: input j changed
    earlier = np.tril(np.ones((d, d), bool), -1)  # output k depends on inputs j < k
    helpers.assert_dependencies(helpers.changes_by_row(rounds_by_row, base, changed).T, earlier)
    across_rows = np.abs(rounds_by_row(changed) - rounds_by_row(base)).T  # row j against row 0
    with pytest.raises(AssertionError, match="moved where it must not"):
        helpers.assert_dependencies(across_rows, earlier)


# ---------------------------------------------------------------------- cached sampler
def _setup(name, batch=2):
    model = _model(name)
    rng = np.random.default_rng(0)
    x = helpers._random_inputs(model, batch, rng).astype("float32")
    cond = helpers._condition(model, batch, rng)
    cond = model.condition_vector(None if cond is None else ops.convert_to_tensor(cond))
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x), cond)).reshape(batch, model.num_groups, -1)
    return model, x, helpers._random_inputs(model, batch, rng).astype("float32"), cond, params


def _step_runner(model, batch):
    """`run(x, mixed, cond, num_known)`: fill_cache with `mixed` (right before `num_known`), then
    steps to the end with the values of `x`, in one `fori_loop`; compiled for the backend (one
    trace for every `num_known`), eager on torch. Returns the params `[batch, groups, P]`."""
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
    model, x, other, cond, params = _setup(name)
    batch, g, e = x.shape[0], model.num_groups, model.head.event_size
    run = _step_runner(model, batch)
    for k in sorted({0, 1, g // 2, g - 1}):
        later = np.arange(g) >= k  # after the known prefix: rubbish, which the steps must overwrite
        mixed = np.where(later[None, :, None], other.reshape(batch, g, e), x.reshape(batch, g, e)).reshape(x.shape)
        args = [ops.convert_to_tensor(a) for a in (x, mixed)] + [cond, ops.convert_to_tensor(k, "int32")]
        np.testing.assert_allclose(helpers.to_np(run(*args))[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


@pytest.mark.parametrize("name", list(STEP_CONFIGS))
def test_cached_sampler_equals_naive(name):
    model = _model(name)
    n, rng = 3, np.random.default_rng(1)
    cond = helpers._condition(model, n, rng)
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond)
    # completion: the top half (or the first pixel) known, a prefix absorbed by fill_cache, and the last
    # pixel of some samples
    known = helpers._random_inputs(model, n, rng)
    mask = np.zeros(known.shape, bool)
    if model.event_shape[0] > 1:
        mask[:, : model.event_shape[0] // 2] = True
    else:
        mask[:, :, :1] = True
    mask[:, -1, -1] = rng.random(n)[:, None] < 0.5
    helpers.assert_cached_equals_naive(model, num_samples=n, condition=cond, known=known, known_mask=mask)
    kept = helpers.to_np(model.sample(n, condition=cond, known=known, known_mask=mask, seed=2))
    np.testing.assert_array_equal(kept[mask], known[mask])


def test_samples_match_probabilities():
    model = GatedPixelCNN(input_shape=(2, 2, 1), **SMALL)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


# ---------------------------------------------------------------------- Keras plumbing
def test_fit_round_trip_and_tfp(tmp_path):
    """Colorization: the grey image conditions the RGB one; every constructor argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(16, 2, 2, 3))
    grey = x.mean(axis=-1, keepdims=True).astype("float32")
    model = GatedPixelCNN(
        input_shape=(2, 2, 3), distribution="categorical", num_levels=3, num_components=None,
        condition_shape=(2, 2, 1), condition_scale=2.0, filters=6, num_blocks=2, kernel_size=5, first_kernel_size=3,
        skip_filters=9, output_hidden_units=3, dropout=0.1, position_bias=True, name="gated",
    )
    helpers.assert_fits(model, x, condition=grey, epochs=2)  # one batch of 16: two steps
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.skip_filters, clone.kernel_size, clone.condition_shape, clone.condition_scale) == (
        "gated", 9, 5, (2, 2, 1), 2.0
    )
    helpers.assert_keras_round_trip(model, x[:2], tmp_path, condition=grey[:2])
    helpers.assert_tfp_matches(model, x[:2], condition=grey[:2])


def test_condition_scale_divides_condition_images_and_fit_warns_without_it(recwarn):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 17, size=(8, 4, 4, 1))
    low = rng.integers(0, 17, size=(8, 2, 2, 1)).astype("float32")  # raw levels 0..16, as digits-superres
    scaled = GatedPixelCNN(input_shape=(4, 4, 1), distribution="categorical", num_levels=17,
                           condition_shape=(2, 2, 1), condition_scale=16, **SMALL)
    helpers.randomize_weights(scaled)
    plain = GatedPixelCNN.from_config({**scaled.get_config(), "condition_scale": None})
    plain.build()
    plain.set_weights(scaled.get_weights())
    np.testing.assert_allclose(helpers.to_np(scaled.log_prob(x, low)), helpers.to_np(plain.log_prob(x, low / 16)),
                               rtol=1e-5, atol=1e-5)
    # sampling scales the condition too: the same draws for the same seed
    np.testing.assert_array_equal(helpers.to_np(scaled.sample(2, condition=low[:2], seed=3)),
                                  helpers.to_np(plain.sample(2, condition=low[:2] / 16, seed=3)))
    scaled.fit((x, low), epochs=1, batch_size=8, verbose=0)
    assert not [w for w in recwarn if "condition_scale" in str(w.message)]
    with pytest.warns(UserWarning, match=r"reach 16: .*Pass `condition_scale=16`"):
        plain.fit((x, low), epochs=1, batch_size=8, verbose=0)
    with pytest.warns(UserWarning, match=r"reach 255: .*Pass `condition_scale=255`"):  # uint8 images
        warn_unscaled_condition(plain, (low * 255 / 16).astype("uint8"))
    with pytest.warns(UserWarning, match="divides them by condition_scale=16"):  # scaled twice
        warn_unscaled_condition(scaled, low / 16)
    for bad in (0, -1.0, float("inf"), True, "255"):
        with pytest.raises(ValueError, match="finite number > 0"):
            GatedPixelCNN(input_shape=(4, 4, 1), condition_shape=(2, 2, 1), condition_scale=bad, **SMALL)
    with pytest.raises(ValueError, match="pass it with `condition_shape`"):
        GatedPixelCNN(input_shape=(4, 4, 1), num_classes=3, condition_scale=255.0, **SMALL)


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = GatedPixelCNN(
        input_shape=(2, 2, 3), distribution="logistic_mixture", num_levels=4, num_components=2, num_classes=3, **SMALL
    )
    helpers.randomize_weights(model)
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=np.array([0, 2]))
    helpers.assert_tfp_matches(model, x, condition=np.array([0, 2]))


@pytest.mark.parametrize("shape", [(1, 2, 1), (2, 2, 1), (1, 2, 3)])
@pytest.mark.parametrize(
    "head",
    [
        dict(),
        dict(distribution="categorical", num_levels=4),
        dict(distribution="logistic_mixture", num_levels=4),
        dict(distribution="gaussian_mixture"),
    ],
)
def test_defaults_build_on_tiny_images(shape, head):
    model = GatedPixelCNN(input_shape=shape, **head)
    assert (model.filters, model.num_blocks, model.kernel_size, model.first_kernel_size) == (96, 6, 3, 7)
    x = helpers._random_inputs(model, 1, np.random.default_rng(0))
    assert np.isfinite(helpers.to_np(model.log_prob(x))).all()


@pytest.mark.slow
@pytest.mark.parametrize("head", [dict(), dict(distribution="categorical", num_levels=256),
                                  dict(distribution="logistic_mixture", num_levels=256)])
def test_defaults_train_on_32x32_rgb(head):
    model = GatedPixelCNN(input_shape=(32, 32, 3), **head)
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    history = model.fit(x, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_bad_arguments():
    cases = [
        (dict(input_shape=(4, 4, 3), filters=8), "filters=8"),
        (dict(input_shape=(4, 4, 3), filters=6, skip_filters=4), "skip_filters=4"),
        (dict(input_shape=(4, 4, 3), filters=6, output_hidden_units=4), "output_hidden_units=4"),
        (dict(input_shape=(4, 4, 2)), "channels"),
        (dict(input_shape=(16,)), "input_shape"),
        (dict(input_shape=(4, 4, 1), kernel_size=4), "kernel_size=4"),
        (dict(input_shape=(4, 4, 1), first_kernel_size=1), "first_kernel_size=1"),
        (dict(input_shape=(4, 4, 1), num_blocks=0), "num_blocks=0"),
        (dict(input_shape=(4, 4, 1), dropout=1.0), "dropout"),
        (dict(input_shape=(4, 4, 1), position_bias=1), "position_bias"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            GatedPixelCNN(**kwargs)
    model = GatedPixelCNN(input_shape=(2, 2, 1), condition_shape=(1, 1, 1), **SMALL)
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 2, 2, 1)), condition=np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 2, 2, 1), 2), condition=np.zeros((1, 1, 1, 1)))
