import keras
import numpy as np
import pytest

from keras_ar.models.made import MADE
from tests import helpers

to_np = helpers.to_np


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(2, 2), ordering="random", seed=1, hidden_units=(8, 8), activation="tanh",
             direct_connection=False),
        dict(input_shape=(3,), distribution="categorical", num_levels=3, hidden_units=(8,), num_classes=2),
    ],
)
def test_causal_and_normalized_with_random_weights(kwargs):
    model = MADE(**kwargs)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)
    helpers.assert_normalized_for_every_condition(model)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(4,), hidden_units=(8, 8)),
        dict(input_shape=(4,), hidden_units=(8,), order_agnostic=True, ordering="random", num_classes=2),
    ],
)
def test_mask_average_is_normalized(kwargs):
    model = MADE(num_masks=3, seed=2, **kwargs)
    helpers.randomize_weights(model)
    helpers.assert_causal(model)  # mask 0: the model's `ordering`
    helpers.assert_normalized_for_every_condition(model)
    assert (len({tuple(o) for o in model.orders}) > 1) == model.order_agnostic
    # every mask is an exactly normalised AR model, and log_prob is their uniform mixture
    xs = helpers.enumerate_space(model.event_shape, model.head.num_levels)
    c = keras.ops.one_hot(np.zeros(len(xs), "int32"), 2) if model.num_classes else None
    per_mask = []
    for m in range(3):
        lp = to_np(model.head.log_prob(model.forward_mask(xs.astype("float32"), c, m), xs.astype("float32")))
        per_mask.append(lp.reshape(len(xs), -1).sum(-1))
        assert abs(np.exp(per_mask[-1].astype("float64")).sum() - 1.0) < 1e-4
    cond = np.zeros(len(xs), "int32") if model.num_classes else None
    mixture = np.log(np.mean(np.exp(np.stack(per_mask).astype("float64")), axis=0))
    np.testing.assert_allclose(to_np(model.log_prob(xs, condition=cond)), mixture, atol=1e-5)


def test_samples_match_probabilities():
    model = MADE(input_shape=(4,), ordering=[2, 0, 3, 1], hidden_units=(8,))
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def test_mixture_samples_match_probabilities():
    model = MADE(input_shape=(4,), hidden_units=(8,), num_masks=3, order_agnostic=True, num_classes=2, seed=1)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model, condition=1)
    # the check can tell: the mixture is far from the model of mask 0 alone
    xs = helpers.enumerate_space((4,), 2).astype("float32")
    c = keras.ops.one_hot(np.ones(len(xs), "int32"), 2)
    p0 = np.exp(to_np(model.head.log_prob(model.forward_mask(xs, c), xs)).sum(-1))
    p = np.exp(to_np(model.log_prob(xs, condition=np.ones(len(xs), "int32"))))
    assert 0.5 * np.abs(p - p0).sum() > 0.1


def test_mixture_completion_follows_each_samples_mask():
    """No cached step, so no cached == naive: each completion follows the order of its own mask, so
    the free values follow the equal mixture over the masks of their teacher-forced conditionals."""
    model = MADE(input_shape=(5,), hidden_units=(8,), num_masks=3, order_agnostic=True, num_classes=2, seed=1)
    assert not model.has_cached_step
    helpers.randomize_weights(model, scale=1.0)
    known, mask = np.array([1, 0, 1, 1, 0]), np.array([False, True, False, False, True])

    def per_mask(xs, cond):
        xs, c = xs.astype("float32"), keras.ops.one_hot(cond, 2)
        return [model.head.log_prob(model.forward_mask(xs, c, m), xs) for m in range(3)]

    helpers.assert_completion_frequencies(model, known, mask, condition=1, conditionals=per_mask)
    # the check can tell: mask 0 alone (the model's `conditional_log_probs`) is far from the mixture here
    with pytest.raises(AssertionError, match="total variation"):
        helpers.assert_completion_frequencies(model, known, mask, condition=1)


def test_coupled_pixels_mixture_normalized_and_completion():
    model = MADE(input_shape=(1, 2, 3), distribution="logistic_mixture", num_levels=2, hidden_units=(8,),
                 num_masks=3, order_agnostic=True, seed=4)
    helpers.randomize_weights(model)
    assert len({tuple(o) for o in model.orders}) > 1
    helpers.assert_causal(model)
    helpers.assert_normalized(model)
    known = np.array([[[1, 0, 1], [0, 0, 0]]])
    mask = np.array([[[True, True, True], [False, False, False]]])
    s = to_np(model.sample(6, known=known, known_mask=mask, seed=4))
    assert s.shape == (6, 1, 2, 3) and s.min() >= 0 and s.max() <= 1
    np.testing.assert_array_equal(s[:, mask], np.broadcast_to(known[mask], (6, 3)))
    with pytest.raises(ValueError, match="whole pixels"):  # the coupled head draws a pixel at once
        model.sample(2, known=known, known_mask=np.array([[[True, False, False], [False] * 3]]), seed=0)


def test_training_uses_a_random_mask_per_call():
    model = MADE(input_shape=(4,), hidden_units=(8,), num_masks=3, order_agnostic=True)
    helpers.randomize_weights(model)
    x = np.random.default_rng(0).integers(0, 2, size=(4, 4)).astype("float32")
    per_mask = [to_np(model.forward_mask(x, None, m)) for m in range(3)]
    state = to_np(model.mask_seed_generator.state).copy()
    seen = set()
    for _ in range(12):
        out = to_np(model(x, training=True))
        matches = [m for m in range(3) if np.allclose(out, per_mask[m], atol=1e-6)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 1
    assert not np.array_equal(state, to_np(model.mask_seed_generator.state))
    np.testing.assert_allclose(to_np(model(x)), per_mask[0], atol=1e-6)  # inference: mask 0


def test_fit_draws_masks_inside_the_train_step():
    x = np.random.default_rng(0).integers(0, 2, size=(64, 4))
    model = MADE(input_shape=(4,), hidden_units=(8,), num_masks=2, order_agnostic=True)
    state = to_np(model.mask_seed_generator.state).copy()
    helpers.assert_fits(model, x)
    assert not np.array_equal(state, to_np(model.mask_seed_generator.state))


def test_fit_round_trip_and_tfp(tmp_path):
    x = np.random.default_rng(0).integers(0, 2, size=(64, 4))
    model = MADE(input_shape=(4,), hidden_units=(8,), ordering="random", seed=3)
    helpers.assert_fits(model, x)
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:8], tmp_path)
    helpers.assert_tfp_matches(model, x[:8])


def test_mixture_round_trip_and_tfp(tmp_path):
    x = np.random.default_rng(1).integers(0, 3, size=(8, 4))
    model = MADE(
        input_shape=(4,), distribution="categorical", num_levels=3, hidden_units=(8,),
        num_masks=3, order_agnostic=True, ordering=[3, 1, 0, 2], num_classes=2, seed=5,
    )
    helpers.randomize_weights(model)
    c = np.arange(8) % 2
    clone = helpers.assert_config_round_trip(model)
    np.testing.assert_array_equal(clone.orders, model.orders)
    for a, b in zip(clone.layers, model.layers):
        np.testing.assert_array_equal(getattr(a, "masks", 0), getattr(b, "masks", 0))
    helpers.assert_keras_round_trip(model, x, tmp_path, condition=c)
    helpers.assert_tfp_matches(model, x, condition=c)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="hidden_units"):
        MADE(input_shape=(3,), hidden_units=())
    with pytest.raises(ValueError, match="hidden_units"):
        MADE(input_shape=(3,), hidden_units=(4, 0))
    with pytest.raises(ValueError, match="num_masks"):
        MADE(input_shape=(3,), num_masks=0)
    with pytest.raises(ValueError, match="seed"):
        MADE(input_shape=(3,), seed=None)
    with pytest.raises(ValueError, match="ordering"):
        MADE(input_shape=(3,), ordering=[0, 0, 1])
    with pytest.raises(ValueError):
        MADE(input_shape=(3,), activation="no_such_activation")
    model = MADE(input_shape=(3,), hidden_units=(4,), num_masks=2)
    helpers.assert_rejects_bad_inputs(model)
