"""The generation loop, tensor-only: what `sample` / `generate` compile and export traces.

One loop samples for every model; a model only says how to take one step (the cache
contract `init_cache` / `step` / `fill_cache`, DESIGN.md "Generation engine"). The loop owns
the seeds (`step_seed(seed, i)` for order position i), the sampler, completion (known values
written instead of drawn, a known prefix absorbed by `fill_cache`), the writes
(`slice_update` of one group) and the order.
"""

import numpy as np
from keras import ops

from keras_ar.generation import naive
from keras_ar.generation.samplers import Sampler
from keras_ar.generation.samplers import TemperatureSampler
from keras_ar.utils.random import step_seed


def as_sampler(sampler_or_temperature):
    """A `Sampler`, or a `TemperatureSampler` of a temperature (a float or a float32 tensor)."""
    if isinstance(sampler_or_temperature, Sampler):
        return sampler_or_temperature
    return TemperatureSampler(sampler_or_temperature)


def cache_functions(model, use_cache):
    """`(init, step, fill)`: the model's cache contract, or the naive one (one full pass per step)."""
    if use_cache:
        return model.init_cache, model.step, model.fill_cache
    # the model's private hooks, so that a model may change the naive step (MADE: a mask per sample)
    return model._naive_init_cache, model._naive_step, model._naive_fill_cache


def init_cache(model, init, batch_size, condition, seed, num_steps):
    """`init(batch_size, condition, seed)`, with a sequence model's cache sized for `num_steps`
    time steps (its `init_cache(..., num_steps=...)`: a key/value cache is that long)."""
    if not model.variable_length:
        return init(batch_size, condition, seed)
    return init(batch_size, condition, seed, num_steps=num_steps)


def sample_tensors(model, condition_vector, known, known_mask, seed, sampler_or_temperature, use_cache=True,
                   num_steps=None):
    """Draw events by ancestral sampling in the model's order, tensor-only.

    Args:
        model: an `AutoregressiveModel`.
        condition_vector: None or the condition vector `[n, condition_size]`
            (`model.condition_vector(condition)`).
        known: float32 `[n, *shape]`, values kept where `known_mask` is 1. Its static shape
            is the event generated: `input_shape`, or for a `variable_length` model
            `(steps, *input_shape[1:])` (time order).
        known_mask: float32 0/1 of the shape of `known`.
        seed: int32 scalar. Order position i draws with `step_seed(seed, i)`.
        sampler_or_temperature: a `keras_ar.generation.samplers.Sampler`, or a temperature
            (float32 scalar tensor > 0 or a float): today's temperature sampling.
        use_cache: Python bool. The model's `init_cache` / `step` / `fill_cache`, or the naive
            ones (one teacher-forced pass per step); both draw the same values.
        num_steps: None, or for a `variable_length` model an int32 scalar tensor <= `steps`:
            draw only the first `num_steps` time steps (the rest stay as `known * known_mask`).
            One compilation for the capacity `steps` then serves every length up to it.

    Returns:
        float32 `[n, *known.shape[1:]]`.

    The known prefix (the leading positions of the order known in every sample) is absorbed
    by `fill_cache` and the loop starts after it; later known values are written instead of
    drawn.
    """
    if not model.has_prior:
        raise ValueError(
            f"{type(model).__name__} has no distribution over its inputs alone (`has_prior` is False): "
            "it cannot sample. Received: a call of `sample_tensors`"
        )
    sampler = as_sampler(sampler_or_temperature)
    init, step, fill = cache_functions(model, use_cache)
    n = ops.shape(known)[0]
    shape = tuple(known.shape[1:])
    e = model.head.event_size
    g_count = 1
    for d in shape:
        g_count *= int(d)
    g_count //= e
    known = ops.reshape(ops.cast(known, "float32"), (n, g_count, e))
    keep = ops.reshape(ops.cast(known_mask, "float32"), (n, g_count, e))
    steps = shape[0] if model.variable_length else None
    cache = init_cache(model, init, n, condition_vector, seed, steps)
    order = naive.generation_order(model, cache, g_count)  # [groups], or [n, groups] for a per-sample order
    per_sample = len(order.shape) == 2
    kept = ops.min(ops.min(keep, axis=-1), axis=0) if not per_sample else ops.min(keep, axis=-1)
    if per_sample:
        in_order = ops.min(ops.take_along_axis(kept, order, axis=1), axis=0)
    else:
        in_order = ops.take(kept, order)
    start = ops.cast(ops.sum(ops.cumprod(in_order)), "int32")  # length of the known prefix
    stop = g_count
    if num_steps is not None:
        stop = ops.cast(num_steps, "int32") * (g_count // shape[0])
        start = ops.minimum(start, stop)
    x = known * keep
    # no known prefix (plain sampling): no teacher-forced pass
    cache = ops.cond(start > 0, lambda: fill(cache, ops.reshape(x, (n,) + shape), start), lambda: cache)

    def group_at(i):
        return ops.take(order, i, axis=-1)  # scalar, or [n]

    def read(values, g):
        if per_sample:
            return ops.take_along_axis(values, ops.reshape(g, (-1, 1, 1)), axis=1)[:, 0]
        return ops.take(values, g, axis=1)

    def body(i, state):
        x, cache = state
        params, cache = step(cache, read(x, group_at(ops.maximum(i - 1, 0))), i)
        g = group_at(i)
        value = ops.reshape(sampler.sample(model.head, params, step_seed(seed, i)), (-1, e))
        value = ops.where(read(keep, g) > 0, read(known, g), ops.cast(value, "float32"))
        if per_sample:
            x = ops.where(ops.expand_dims(ops.one_hot(g, g_count) > 0, -1), ops.expand_dims(value, 1), x)
        else:
            zero = ops.zeros((), "int32")
            x = ops.slice_update(x, ops.stack([zero, ops.cast(g, "int32"), zero]), ops.expand_dims(value, 1))
        return x, cache

    x, _ = ops.fori_loop(start, stop, body, (x, cache))
    return ops.reshape(x, (n,) + shape)


def generate_tensors(model, cache, x_prev, index, seed, sampler_or_temperature, num_steps, capacity=None):
    """The loop of `generate`, tensor-only: `num_steps` time steps from order position `index`.

    Args:
        model: a `variable_length` model with a cached `step`.
        cache: the model's cache, as `init_cache` or the last call returned it.
        x_prev: float32 `[n, event_size]`: the value at position `index - 1` (zeros at 0).
        index: int32 scalar: the order position of the first group to draw.
        seed: int32 scalar. Position i draws with `step_seed(seed, i)`.
        sampler_or_temperature: a `Sampler`, or a temperature (float32 tensor or float).
        num_steps: a Python int, or an int32 scalar tensor <= `capacity`.
        capacity: Python int, the time steps of the output buffer when `num_steps` is a
            tensor (steps past `num_steps` are zeros). None: `num_steps`, a Python int.

    Returns:
        `(samples [n, capacity, *input_shape[1:]] float32, cache, x_prev)`.
    """
    sampler = as_sampler(sampler_or_temperature)
    if capacity is None:
        capacity = int(num_steps)
    e = model.head.event_size
    n = ops.shape(x_prev)[0]
    per_step = model.steps_per_group
    static = isinstance(num_steps, (int, np.integer))
    groups = int(num_steps) * per_step if static else ops.cast(num_steps, "int32") * per_step

    def body(i, state):
        out, cache, x_prev = state
        params, cache = model.step(cache, x_prev, index + i)
        value = ops.reshape(sampler.sample(model.head, params, step_seed(seed, index + i)), (-1, e))
        value = ops.cast(value, "float32")
        zero = ops.zeros((), "int32")
        out = ops.slice_update(out, ops.stack([zero, ops.cast(i, "int32"), zero]), ops.expand_dims(value, 1))
        return out, cache, value

    out = ops.zeros((n, capacity * per_step, e), "float32")
    out, cache, x_prev = ops.fori_loop(0, groups, body, (out, cache, x_prev))
    return ops.reshape(out, (n, capacity) + tuple(model.event_shape[1:])), cache, x_prev
