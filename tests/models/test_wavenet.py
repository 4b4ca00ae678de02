import numpy as np
import pytest

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
    helpers.assert_causal_and_normalized(WaveNet(**CONFIGS[name]))


def test_receptive_field_and_strict_first_layer():
    # dilations 1, 2, 1, 2 and kernel 2: x_t sees x_{t-8} .. x_{t-1}, not x_t
    model = WaveNet(input_shape=(11,), distribution="bernoulli", residual_channels=4, dilation_channels=4,
                    skip_channels=4, num_layers_per_stack=2, num_stacks=2)
    assert model.receptive_field == 8
    helpers.randomize_weights(model)
    changes = helpers.step_dependencies(model)  # [position t, flipped j], each row against itself
    lag = np.arange(11)[:, None] - np.arange(11)[None, :]  # t - j
    helpers.assert_dependencies(changes, (lag >= 1) & (lag <= model.receptive_field),
                                name="[t, j]: params of x_t, x_j flipped")


# ---------------------------------------------------------------------- cached step
@pytest.mark.parametrize("name", list(STEP_CONFIGS))
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass."""
    helpers.assert_step_equals_compute_params(_model(name), every_prefix=False)


# each sampler test compiles the engine twice (cached, naive): about 5 s on TensorFlow here
# ("class" is the categorical head with a global condition)
SLOW = [pytest.param(n, marks=pytest.mark.slow) for n in ("categorical", "transposed", "channels")]
SAMPLERS = ["class", "logistic"] + SLOW


@pytest.mark.parametrize("name", SAMPLERS)
def test_cached_sampler_equals_naive(name):
    helpers.assert_cached_sampler_and_completion(_model(name))


@pytest.mark.parametrize("name", ["repeat", pytest.param("categorical", marks=pytest.mark.slow)])
def test_num_steps_beyond_input_shape(name):
    model = _model(name)
    n, steps, rng = 2, 9, np.random.default_rng(2)
    cond = None
    if model.hop is not None:  # ceil(9 / 2) = 5 frames at least; extra frames are ignored
        cond = rng.normal(size=(n, 6, 3)).astype("float32")
    helpers.assert_num_steps_beyond_input_shape(model, steps, condition=cond, num_samples=n)
    if model.hop is not None:
        with pytest.raises(ValueError, match=r"\(2, >= 5, 3\)"):
            model.sample(n, condition=cond[:, :4], num_steps=steps)
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
    clone = helpers.assert_round_trips_and_tfp(model, x[:2], tmp_path, condition=frames[:2])
    assert (clone.name, clone.dilation_channels, clone.local_conditioning, clone.hop) == (
        "wavenet", 2, "transposed_conv", 2)


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("class")
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    assert helpers.assert_round_trips_and_tfp(model, x, tmp_path, condition=np.array([0, 1])).num_classes == 2


@pytest.mark.parametrize(
    "head", [dict(), dict(distribution="logistic_mixture"), dict(distribution="gaussian_mixture"),
             dict(distribution="bernoulli")],
)
def test_defaults_build_on_length_2(head):
    expected = dict(num_stacks=2, num_layers_per_stack=10, kernel_size=2, receptive_field=2048)
    helpers.assert_defaults(WaveNet, expected, batch=1, **head)


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
    helpers.assert_bad_arguments(WaveNet, SMALL, cases)
    helpers.assert_rejects_bad_sequences(_model("repeat"), np.zeros((1, 2, 3)), bad_condition=np.zeros((1, 4, 3)))


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
