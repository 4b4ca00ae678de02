import numpy as np
import pytest

from keras_ar.models.finite_memory_ar import FiniteMemoryAR
from tests import helpers

SMALL = dict(order=2, hidden_units=(4, 3))

CONFIGS = {
    "categorical": dict(input_shape=(3,), num_levels=3, **SMALL),  # 27 configurations
    "order1": dict(input_shape=(3,), num_levels=3, order=1, hidden_units=(5,)),
    "long_order": dict(input_shape=(3,), num_levels=3, order=5, hidden_units=(4,)),  # longer than the sequence
    "logistic": dict(input_shape=(3,), distribution="logistic_mixture", num_levels=3, num_components=2, **SMALL),
    "channels": dict(input_shape=(2, 2), distribution="bernoulli", **SMALL),  # channel c sees < c
    "class": dict(input_shape=(3,), num_levels=3, num_classes=2, **SMALL),
    "vector": dict(input_shape=(3,), distribution="bernoulli", condition_shape=(2,), **SMALL),
}
STEP_CONFIGS = {
    **CONFIGS,
    "gaussian": dict(  # real values, 2 channels, a vector condition
        input_shape=(5, 2), distribution="gaussian_mixture", num_components=2, condition_shape=(2,), order=3,
        hidden_units=(5, 4),
    ),
    "categorical_channels": dict(input_shape=(4, 3), num_levels=3, num_classes=3, order=2, hidden_units=(4,)),
    "direct": dict(  # the linear term of the window, 2 channels, a Gaussian mixture
        input_shape=(5, 2), distribution="gaussian_mixture", num_components=2, order=2, hidden_units=(3,),
        direct_connection=True,
    ),
}
CONFIGS["direct"] = dict(input_shape=(3,), num_levels=3, order=2, hidden_units=(3,), direct_connection=True)


def _model(name, seed=0):
    model = FiniteMemoryAR(**STEP_CONFIGS[name])
    # small weights for the direct connection: a random linear recursion with large weights diverges to inf
    helpers.randomize_weights(model, seed=seed, scale=0.1 if name == "direct" else 0.5)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_causal_and_normalized(name):
    helpers.assert_causal_and_normalized(FiniteMemoryAR(**CONFIGS[name]))


def test_gaussian_normalized_on_a_grid():
    """Real values: exp(log_prob) over a 2-D grid (length 2) integrates to 1."""
    model = FiniteMemoryAR(input_shape=(2,), distribution="gaussian_mixture", num_components=2, order=1,
                           hidden_units=(3,))
    helpers.randomize_weights(model, scale=0.2)
    helpers.assert_normalized_on_a_grid(model)


def test_memory_is_exactly_order_steps():
    """The conditional of x_t moves when one of x_{t-order} .. x_{t-1} changes, and never otherwise."""
    model = FiniteMemoryAR(input_shape=(9,), distribution="bernoulli", order=3, hidden_units=(8,))
    helpers.randomize_weights(model)
    changes = helpers.step_dependencies(model)  # [position t, flipped j], each row against itself
    lag = np.arange(9)[:, None] - np.arange(9)[None, :]  # t - j
    helpers.assert_dependencies(changes, (lag >= 1) & (lag <= model.order), name="[t, j]: params of x_t, x_j flipped")


# ---------------------------------------------------------------------- cached step
@pytest.mark.parametrize("name", list(STEP_CONFIGS))
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass, for every position k."""
    helpers.assert_step_equals_compute_params(_model(name))


# each sampler test compiles the engine twice (cached, naive)
SAMPLERS = ["class", "gaussian", "direct", pytest.param("channels", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", SAMPLERS)
def test_cached_sampler_equals_naive(name):
    helpers.assert_cached_sampler_and_completion(_model(name))


@pytest.mark.parametrize("name", ["vector", pytest.param("categorical", marks=pytest.mark.slow)])
def test_num_steps_beyond_input_shape(name):
    model = _model(name)
    cond = helpers._condition(model, 2, np.random.default_rng(2))
    helpers.assert_num_steps_beyond_input_shape(model, 9, condition=cond)


@pytest.mark.slow
def test_samples_match_probabilities():
    helpers.assert_sample_frequencies(_model("categorical"))


# ---------------------------------------------------------------------- Keras plumbing
def _full_model():
    """Every constructor argument off its default."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(8, 4, 2))
    cond = rng.normal(size=(8, 3)).astype("float32")
    model = FiniteMemoryAR(
        input_shape=(4, 2), distribution="logistic_mixture", num_levels=5, num_components=2, order=3,
        hidden_units=(3, 2), direct_connection=True, condition_shape=(3,), name="finite_memory",
    )
    return model, x, cond


@pytest.mark.slow
def test_fits():
    model, x, cond = _full_model()
    helpers.assert_fits(model, x, condition=cond, epochs=1)


def test_round_trips_and_tfp(tmp_path):
    model, x, cond = _full_model()
    helpers.randomize_weights(model)
    clone = helpers.assert_round_trips_and_tfp(model, x[:2], tmp_path, condition=cond[:2])
    assert (clone.name, clone.order, clone.hidden_units, clone.condition_shape, clone.num_components,
            clone.direct_connection) == ("finite_memory", 3, (3, 2), (3,), 2, True)
    assert set(clone.get_config()) >= {
        "input_shape", "distribution", "num_levels", "num_components", "order", "hidden_units", "direct_connection",
        "num_classes", "condition_shape", "name"}


def test_class_conditional_round_trip_and_tfp(tmp_path):
    model = _model("class")
    x = helpers._random_inputs(model, 2, np.random.default_rng(0))
    assert helpers.assert_round_trips_and_tfp(model, x, tmp_path, condition=np.array([0, 1])).num_classes == 2


# on JAX each compiles a train and a test step of the default (wide) network: about 10 s
HEADS = [pytest.param(dict(), id="categorical")] + [
    pytest.param(dict(distribution=d), id=d, marks=pytest.mark.slow)
    for d in ("logistic_mixture", "gaussian_mixture", "bernoulli")
]


@pytest.mark.parametrize("head", HEADS)
def test_defaults_build_and_train_on_length_2(head):
    helpers.assert_defaults(FiniteMemoryAR, dict(order=4, hidden_units=(128, 128)), batch=16, fit=True, **head)


def test_bad_arguments():
    cases = [
        (dict(input_shape=(4, 2, 1)), "input_shape"),
        (dict(input_shape=(4,), order=0), "order=0"),
        (dict(input_shape=(4,), order=2.0), "order=2.0"),
        (dict(input_shape=(4,), order=True), "order=True"),
        (dict(input_shape=(4,), hidden_units=()), "hidden_units=\\(\\)"),
        (dict(input_shape=(4,), hidden_units=(4, 0)), "hidden_units=\\(4, 0\\)"),
        (dict(input_shape=(4,), hidden_units=8), "hidden_units=8"),
        (dict(input_shape=(4,), distribution="bernoulli", num_levels=3), "num_levels=3"),
        (dict(input_shape=(4,), num_classes=0), "num_classes=0"),
        (dict(input_shape=(4,), direct_connection="yes"), "direct_connection='yes'"),
    ]
    helpers.assert_bad_arguments(FiniteMemoryAR, SMALL, cases)
    helpers.assert_rejects_bad_sequences(_model("vector"), np.zeros((1, 2)), bad_condition=np.zeros((1, 4)))
