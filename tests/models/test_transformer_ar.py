import numpy as np
import pytest

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
    helpers.assert_causal_and_normalized(TransformerAR(**CONFIGS[name]))


def test_attends_to_the_whole_past():
    """Unlike a convolution, position t sees every earlier step, however far, and no later one."""
    model = TransformerAR(input_shape=(9,), distribution="bernoulli", **SMALL)
    helpers.randomize_weights(model)
    changes = helpers.step_dependencies(model)  # [position t, flipped j], each row against itself
    # (attention to far steps is weak at random weights: the smallest dependency here is ~2e-4)
    helpers.assert_dependencies(changes, np.arange(9)[:, None] > np.arange(9)[None, :], depends=1e-5,
                                name="[t, j]: params of x_t, x_j flipped")


# ---------------------------------------------------------------------- cached step
@pytest.mark.parametrize("name", [*CONFIGS, pytest.param("gaussian", marks=pytest.mark.slow), "categorical_channels"])
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass, at every position; past the training length
    too (learned positions up to `max_length`)."""
    model = _model(name)
    steps = model.max_length + (3 if model.position_embedding == "sinusoidal" else 0)  # past the length
    helpers.assert_step_equals_compute_params(model, every_prefix=False, steps=steps)


# each sampler test compiles the engine twice (cached, naive): 5-15 s here
# ("class" is the categorical head with a global condition)
SLOW = [pytest.param(n, marks=pytest.mark.slow) for n in ("logistic", "categorical", "channels", "gaussian")]
SAMPLERS = ["class"] + SLOW


@pytest.mark.parametrize("name", SAMPLERS)
def test_cached_sampler_equals_naive(name):
    helpers.assert_cached_sampler_and_completion(_model(name))


def test_num_steps_beyond_input_shape():
    """Sinusoidal positions generate any length; learned ones up to `max_length`, and say so beyond."""
    model, n = _model("vector"), 2  # sinusoidal, a vector condition
    cond = helpers._condition(model, n, np.random.default_rng(2))
    helpers.assert_num_steps_beyond_input_shape(model, 7, condition=cond, num_samples=n)
    learned = _model("categorical_channels")  # learned positions, max_length=6 > length 4 (steps to 6: above)
    with pytest.raises(ValueError, match="max_length.*num_steps=7"):
        learned.sample(n, condition=np.array([0, 1]), num_steps=7)
    with pytest.raises(ValueError, match="num_steps=7"):
        learned.init_cache(n, num_steps=7)
    with pytest.raises(ValueError, match="num_steps=4"):
        _model("categorical").sample(n, num_steps=4)


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
    clone = helpers.assert_round_trips_and_tfp(model, x[:2], tmp_path, condition=vectors[:2])
    assert (clone.name, clone.hidden_dim, clone.num_layers, clone.num_heads, clone.intermediate_dim, clone.dropout,
            clone.position_embedding, clone.max_length, clone.condition_shape, clone.num_components) == (
        "transformer", 6, 2, 3, 10, 0.1, "sinusoidal", 7, (3,), 2)


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("categorical_channels")  # learned positions, max_length=6
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    clone = helpers.assert_round_trips_and_tfp(model, x, tmp_path, condition=np.array([0, 1]))
    assert (clone.num_classes, clone.max_length, clone.position_embedding) == (2, 6, "learned")
    assert TransformerAR(input_shape=(4,), **SMALL).get_config()["max_length"] == 4  # None: the length


@pytest.mark.slow
def test_fits_with_dropout():
    model, x, vectors = _full_model()
    helpers.assert_fits(model, x, condition=vectors, epochs=1)


HEADS = [dict(), dict(distribution="logistic_mixture"), dict(distribution="gaussian_mixture"),
         dict(distribution="bernoulli")]


@pytest.mark.parametrize("head", HEADS)
def test_defaults_build_on_length_2(head):
    expected = dict(hidden_dim=128, num_layers=4, num_heads=4, intermediate_dim=512, dropout=0.0,
                    position_embedding="learned", max_length=2)
    helpers.assert_defaults(TransformerAR, expected, **head)


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
    helpers.assert_bad_arguments(TransformerAR, SMALL, cases)
    helpers.assert_rejects_bad_sequences(_model("class"), np.zeros(1, "int32"))  # no condition: bad
