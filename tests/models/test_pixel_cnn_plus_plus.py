import keras
import numpy as np
import pytest

from keras_ar.models.pixel_cnn_plus_plus import PixelCNNPlusPlus
from tests import helpers

SMALL = dict(filters=4, num_blocks=1, dropout=0.0)
BINARY = dict(distribution="bernoulli", **SMALL)

CONFIGS = {  # causality on every one; normalisation where the space is small enough
    "3x3": dict(input_shape=(3, 3, 1), **BINARY),  # 3 resolutions: 3x3, 2x2, 1x1; 512 configurations
    "2x3": dict(input_shape=(2, 3, 1), **BINARY),  # 2x3, 1x2; 64
    "4x5": dict(input_shape=(4, 5, 1), num_stages=2, **BINARY),  # 4x5, 2x3 (causality only)
    "coupled_2x2": dict(input_shape=(2, 2, 3), num_levels=4, num_components=2, **SMALL),  # causality only
    "mixture_2x2": dict(input_shape=(2, 2, 1), num_levels=4, num_components=2, **SMALL),  # 256
    "coupled_1x2": dict(input_shape=(1, 2, 3), num_levels=3, num_components=2, **SMALL),  # 729
    "class": dict(input_shape=(2, 2, 1), num_classes=3, **BINARY),
    "rgb_bernoulli": dict(input_shape=(1, 2, 3), **BINARY),  # R -> G -> B through the colour groups; 64
    "spatial": dict(input_shape=(2, 3, 1), condition_shape=(1, 2, 1), **BINARY),  # super-resolution
    "vector": dict(input_shape=(2, 2, 1), condition_shape=(3,), **BINARY),
    "real_rgb": dict(input_shape=(1, 2, 3), distribution="gaussian_mixture", num_components=2, **SMALL),
}
NOT_ENUMERABLE = ("4x5", "coupled_2x2", "real_rgb")


# the largest configurations (15-45 s each on JAX, where every op compiles per shape) run on TensorFlow
# only; the other seven cover every head, condition and colour path on every backend
HEAVY = ("3x3", "4x5", "coupled_2x2", "mixture_2x2")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in CONFIGS]
)
def test_causal_and_normalized(name):
    model = PixelCNNPlusPlus(**CONFIGS[name])
    helpers.assert_causal(model, batch=1)  # as built: no masks to apply, the shifts make it causal
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1, seed=1)
    if name not in NOT_ENUMERABLE:
        helpers.assert_normalized_for_every_condition(model)
    if model.condition_size:
        helpers.assert_condition_matters(model)


@pytest.mark.parametrize("shape", [(4, 5, 1), pytest.param((5, 3, 1), marks=pytest.mark.slow)])
def test_every_earlier_pixel_and_no_later_one(shape):
    """Flip one pixel at a time: the parameters of a pixel move for every earlier pixel (no blind
    spot through the strided stages) and for no later one, on odd sizes too."""
    model = PixelCNNPlusPlus(input_shape=shape, **BINARY)
    helpers.randomize_weights(model, scale=0.2, seed=1)  # small weights: no saturated path
    d = int(np.prod(shape))
    x = np.random.default_rng(0).integers(0, 2, size=(1, d))
    flipped = np.repeat(x, d, axis=0)
    flipped[np.arange(d), np.arange(d)] ^= 1  # row j: pixel j flipped, compared with x at the same row
    changes = helpers.changes_by_row(
        lambda v: helpers.run_compiled(model, v.reshape((d,) + shape).astype("float32")).reshape(d, d, -1),
        x, flipped,
    )
    earlier = np.tril(np.ones((d, d), bool), -1)  # the weakest path at these small weights moves ~2e-4
    helpers.assert_dependencies(changes.max(-1).T, earlier, depends=1e-5, name="[pixel, flipped pixel]")


def test_samples_match_probabilities():
    model = PixelCNNPlusPlus(input_shape=(2, 2, 1), **BINARY)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def test_naive_sampler_completes_from_the_conditionals():
    """No cached step (`use_cache` runs the naive engine either way, so cached == naive would compare it
    with itself): completions keep the known pixels and draw the free ones from the teacher-forced
    conditionals, for the coupled head and a class condition, a known prefix or a known later pixel."""
    # one resolution: each sampler compiles the network (strided stages sample in the test above)
    model = PixelCNNPlusPlus(**{**CONFIGS["coupled_1x2"], "num_stages": 1}, num_classes=2)  # 27 per pixel
    assert not model.has_cached_step
    helpers.randomize_weights(model)
    known = np.array([[[2, 0, 1], [1, 2, 0]]])
    first = np.zeros(known.shape, bool)
    first[0, 0] = True
    # the first pixel known: the second follows p(x_2 | x_1, class)
    helpers.assert_completion_frequencies(model, known, first, condition=1)
    # the second pixel known: kept, while the first follows p(x_1 | class), not conditioned on it
    helpers.assert_completion_frequencies(model, known, ~first, condition=0, seed=1)


def test_fit_round_trip_and_tfp(tmp_path):
    """Colorization (the grey image conditions an RGB one), a per-channel head, every argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(16, 3, 2, 3))
    grey = x.mean(axis=-1, keepdims=True).astype("float32")
    model = PixelCNNPlusPlus(
        input_shape=(3, 2, 3), distribution="categorical", num_levels=3, num_components=None, filters=4,
        num_blocks=1, num_stages=1, dropout=0.1, condition_shape=(3, 2, 1), name="pp",
    )  # one resolution: a compiled train step costs graph ops per variable (strided stages: the tests below)
    assert model.stage_shapes == [(3, 2)]
    helpers.assert_fits(model, x, condition=grey, epochs=2)  # one batch of 16: two steps
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.filters, clone.num_blocks, clone.num_stages, clone.dropout) == ("pp", 4, 1, 1, 0.1)
    helpers.assert_keras_round_trip(model, x[:2], tmp_path, condition=grey[:2])
    helpers.assert_tfp_matches(model, x[:2], condition=grey[:2])


def test_coupled_class_conditional_round_trip_and_tfp(tmp_path):
    model = PixelCNNPlusPlus(input_shape=(2, 2, 3), num_levels=4, num_components=2, num_classes=3, **SMALL)
    helpers.randomize_weights(model, scale=0.1)  # moderate parameters: TFP's logistic is exact there
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=np.array([0, 2]))
    helpers.assert_tfp_matches(model, x, condition=np.array([0, 2]))


# JAX runs eager ops one compilation per op and shape: the default network takes ~45 s per shape there
ON_JAX = pytest.mark.slow if keras.backend.backend() == "jax" else ()


@pytest.mark.parametrize(
    "shape", [(1, 2, 1), pytest.param((2, 2, 1), marks=ON_JAX), pytest.param((8, 8, 1), marks=ON_JAX)]
)
def test_defaults_build_and_fit(shape):
    model = PixelCNNPlusPlus(input_shape=shape)
    assert (model.head.num_levels, model.filters, model.num_blocks, model.num_stages) == (256, 32, 2, 3)
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    model.compile(run_eagerly=True)  # one step: tracing the default network would take longer than the step
    history = model.fit(x, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


@pytest.mark.slow
def test_defaults_fit_on_32x32_rgb():
    model = PixelCNNPlusPlus(input_shape=(32, 32, 3))
    assert model.stage_shapes == [(32, 32), (16, 16), (8, 8)]
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    model.compile(run_eagerly=True)  # one step: tracing the default network would take longer than the step
    history = model.fit(x, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_bad_arguments_and_inputs():
    cases = [
        (dict(input_shape=(4, 4, 2)), "channels"),
        (dict(input_shape=(16,)), "input_shape"),
        (dict(input_shape=(4, 4, 1), filters=0), "filters=0"),
        (dict(input_shape=(4, 4, 1), num_blocks=0), "num_blocks=0"),
        (dict(input_shape=(4, 4, 1), num_stages=1.5), "num_stages=1.5"),
        (dict(input_shape=(4, 4, 1), dropout=1.0), "dropout=1.0"),
        (dict(input_shape=(4, 4, 1), distribution="categorical"), "num_levels"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            PixelCNNPlusPlus(**kwargs)
    model = PixelCNNPlusPlus(input_shape=(2, 2, 1), condition_shape=(1, 1, 1), **BINARY)
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 2, 2, 1)), condition=np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 2, 2, 1), 2), condition=np.zeros((1, 1, 1, 1)))
