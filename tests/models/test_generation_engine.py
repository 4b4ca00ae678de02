"""The generation engine: one compiled loop over the cache contract (init_cache / step / fill_cache)."""

import logging

import keras
import numpy as np
import pytest

from keras_ar.models import FVSBN, MADE, NADE
from keras_ar.utils.compile import trace_count
from tests import helpers


def _nade(**kwargs):
    model = NADE(input_shape=(6,), hidden_units=8, ordering=[3, 0, 5, 1, 4, 2], **kwargs)
    helpers.randomize_weights(model, scale=1.0)
    return model


def test_second_call_of_the_same_shape_compiles_nothing():
    model = _nade()
    first = helpers.to_np(model.sample(5, seed=1))
    assert trace_count(model, "sample_cached") == (0 if keras.backend.backend() == "torch" else 1)
    if keras.backend.backend() == "jax":
        import jax

        messages = []

        class Collect(logging.Handler):
            def emit(self, record):
                messages.append(record.getMessage())

        handler, logger = Collect(), logging.getLogger("jax")
        logger.addHandler(handler)
        try:
            with jax.log_compiles(True):
                again = helpers.to_np(model.sample(5, seed=1))
                other = helpers.to_np(model.sample(5, seed=2, temperature=0.5))
        finally:
            logger.removeHandler(handler)
        assert not [m for m in messages if "compil" in m.lower()], messages
    else:
        again = helpers.to_np(model.sample(5, seed=1))
        other = helpers.to_np(model.sample(5, seed=2, temperature=0.5))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert trace_count(model, "sample_cached") == (0 if keras.backend.backend() == "torch" else 1)


@pytest.mark.parametrize("use_cache", [True, False])
def test_new_weights_change_the_next_samples_without_a_new_trace(use_cache):
    model = _nade()
    name = "sample_cached" if use_cache else "sample_naive"
    before = helpers.to_np(model.sample(64, seed=0, use_cache=use_cache))
    traces = trace_count(model, name)
    # every conditional pushed to 1: the samples must become all ones
    model.output_bias.assign(np.full(model.output_bias.shape, 50.0, "float32"))
    model.output_kernel.assign(np.zeros(model.output_kernel.shape, "float32"))
    after = helpers.to_np(model.sample(64, seed=0, use_cache=use_cache))
    assert before.mean() < 0.9
    np.testing.assert_array_equal(after, np.ones_like(after))
    assert trace_count(model, name) == traces


def test_compile_drops_the_compiled_sampler():
    if keras.backend.backend() == "torch":
        pytest.skip("torch runs the engine eagerly: there is no compiled function to drop")
    model = _nade()
    model.sample(3, seed=0)
    assert trace_count(model, "sample_cached") == 1
    model.compile(optimizer="sgd")
    assert trace_count(model, "sample_cached") == 0
    model.sample(3, seed=0)
    assert trace_count(model, "sample_cached") == 1


def test_step_gives_the_teacher_forced_parameters():
    model = _nade(direct_connection=True, num_classes=2)
    x = np.random.default_rng(0).integers(0, 2, size=(3, 6)).astype("float32")
    labels = np.array([0, 1, 1])
    expected = helpers.to_np(model(x, condition=labels))[..., 0]  # [3, 6]
    cond = model.condition_vector(keras.ops.convert_to_tensor(labels))
    cache = model.init_cache(3, cond)
    prev = np.zeros((3, 1), "float32")
    for i, d in enumerate(model.order):
        params, cache = model.step(cache, prev, keras.ops.convert_to_tensor(i, "int32"))
        np.testing.assert_allclose(helpers.to_np(params)[:, 0], expected[:, d], atol=1e-5)
        prev = x[:, d : d + 1]


@pytest.mark.parametrize(
    "model_fn",
    [
        lambda: _nade(direct_connection=True),  # a cached step; the prefix is absorbed step by step
        lambda: FVSBN(input_shape=(6,), ordering=[3, 0, 5, 1, 4, 2]),  # the naive step only
        lambda: MADE(input_shape=(6,), hidden_units=(12,), num_masks=3, order_agnostic=True),  # per-sample orders
    ],
)
def test_completion_keeps_known_values_and_cached_equals_naive(model_fn):
    model = model_fn()
    helpers.randomize_weights(model, scale=1.0)
    known = np.array([1, 0, 1, 1, 0, 1])
    mask = np.zeros((4, 6), bool)
    order = model.group_ordering()
    mask[:, order[:2]] = True  # a prefix known in every sample (filled in one go) ...
    mask[1, order[4]] = True  # ... and a later value known in one sample only
    kwargs = dict(known=known, known_mask=mask, seed=5)
    cached = helpers.to_np(model.sample(4, use_cache=True, **kwargs))
    np.testing.assert_array_equal(cached[mask], np.broadcast_to(known, (4, 6))[mask])
    # a model without a cache of its own steps naively either way: only NADE's running sum is a second
    # path to compare (FVSBN and MADE are checked by their completion frequencies in their own tests)
    assert model.has_cached_step == isinstance(model, NADE)
    if model.has_cached_step:
        naive = helpers.to_np(model.sample(4, use_cache=False, **kwargs))
        np.testing.assert_array_equal(cached, naive)


def test_a_known_prefix_does_not_change_the_draws_after_it():
    """The loop starts after the known prefix, with the seeds of the steps it would have had."""
    model = _nade()
    free = helpers.to_np(model.sample(4, seed=9))
    mask = np.zeros((4, 6), bool)
    mask[:, model.order[:3]] = True
    kept = helpers.to_np(model.sample(4, known=free, known_mask=mask, seed=9))
    np.testing.assert_array_equal(kept, free)


# ---------------------------------------------------------------------- streaming: `generate`
def _sequence_models():
    from keras_ar.models import FiniteMemoryAR, RecurrentAR, TransformerAR

    return {
        "recurrent": lambda: RecurrentAR(input_shape=(3, 2), num_levels=3, cell="gru", units=4, num_layers=2,
                                         num_classes=2),
        "finite_memory": lambda: FiniteMemoryAR(input_shape=(3,), distribution="gaussian_mixture", num_components=2,
                                                order=2, hidden_units=(4,), condition_shape=(2,)),
        "transformer": lambda: TransformerAR(input_shape=(3,), distribution="bernoulli", hidden_dim=4, num_layers=1,
                                             num_heads=2, intermediate_dim=4, position_embedding="sinusoidal",
                                             max_length=11),
    }


@pytest.mark.parametrize("name", ["recurrent", "finite_memory", "transformer"])
def test_generate_in_chunks_equals_sample(name):
    """Every sequence model streams: calls of 4, 1 and 6 steps draw exactly `sample(n, num_steps=11)`
    (WaveNet's local-condition streaming is tested with WaveNet)."""
    model = _sequence_models()[name]()
    helpers.randomize_weights(model, seed=2)
    n, rng = 2, np.random.default_rng(0)
    cond = helpers._condition(model, n, rng)
    expected = helpers.to_np(model.sample(n, condition=cond, num_steps=11, seed=9, temperature=0.7))
    outs, state = [], None
    for size in (4, 1, 6):
        first = dict(num_samples=n, seed=9, condition=cond) if state is None else {}
        out, state = model.generate(size, state=state, temperature=0.7, **first)
        outs.append(helpers.to_np(out))
    got = np.concatenate(outs, axis=1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if name == "transformer":  # its key/value cache holds max_length = 11 steps
        with pytest.raises(ValueError, match="max_length"):
            model.generate(1, state=state)
