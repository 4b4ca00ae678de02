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
    helpers.assert_causal_and_normalized(RecurrentAR(**CONFIGS[name]))


def test_gaussian_normalized_on_a_grid():
    """Real values: exp(log_prob) over a 2-D grid (length 2) integrates to 1."""
    model = RecurrentAR(input_shape=(2,), distribution="gaussian_mixture", num_components=2, units=3, num_layers=1)
    helpers.randomize_weights(model, scale=0.2)
    helpers.assert_normalized_on_a_grid(model)


# ---------------------------------------------------------------------- cached step
@pytest.mark.parametrize("name", list(STEP_CONFIGS))
def test_cached_step_equals_compute_params(name):
    """fill_cache with a known prefix (right before k, rubbish after), then steps to the end:
    every step's params equal the teacher-forced pass, for every position k."""
    helpers.assert_step_equals_compute_params(_model(name))


def test_long_sequence_runs_the_rnn_loop():
    """Past 32 steps the RNN is not unrolled: the looped (and masked, in fill_cache) pass agrees with the steps."""
    model = RecurrentAR(input_shape=(40,), distribution="bernoulli", cell="lstm", units=3, num_layers=1)
    helpers.randomize_weights(model)
    rng = np.random.default_rng(0)
    x = helpers._random_inputs(model, 2, rng).astype("float32")
    params = helpers.to_np(model.compute_params(ops.convert_to_tensor(x)))
    run = helpers.sequence_step_runner(model, 2)
    for k in (0, 17):
        mixed = np.where(np.arange(40) >= k, 1.0 - x, x).astype("float32")
        out = helpers.to_np(run(ops.convert_to_tensor(x), ops.convert_to_tensor(mixed), None, ops.convert_to_tensor(k)))
        np.testing.assert_allclose(out[:, k:], params[:, k:], atol=1e-5, err_msg=f"k={k}")


# each sampler test compiles the engine twice (cached, naive)
SAMPLERS = ["class", "gaussian", pytest.param("channels", marks=pytest.mark.slow)]


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
    clone = helpers.assert_round_trips_and_tfp(model, x[:2], tmp_path, condition=cond[:2])
    assert (clone.name, clone.cell, clone.units, clone.num_layers, clone.condition_shape, clone.num_components) == (
        "recurrent", "gru", 3, 3, (3,), 2)
    assert set(clone.get_config()) >= {
        "input_shape", "distribution", "num_levels", "num_components", "cell", "units", "num_layers", "num_classes",
        "condition_shape", "name"}


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
    helpers.assert_defaults(RecurrentAR, dict(cell="lstm", units=256, num_layers=2), batch=16, fit=True, **head)


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
    helpers.assert_bad_arguments(RecurrentAR, SMALL, cases)
    helpers.assert_rejects_bad_sequences(_model("vector"), np.zeros((1, 2)), bad_condition=np.zeros((1, 4)))
