"""`sample` and `generate`: the public entry points of generation (what `model.sample` / `model.generate` call).

They check their Python arguments, turn them into tensors and call the compiled loop
(`engine.sample_tensors` / `engine.generate_tensors`), compiled once per model, sampler kind
and argument shapes (`compile.compiled_method`). The number of steps is a tensor: a sequence
model compiles once per capacity (its input length, or the next power of two above the steps
asked for) and the result is cut to the length asked for.
"""

import numbers

import numpy as np
from keras import ops

from keras_ar.generation import engine
from keras_ar.generation import samplers as samplers_module
from keras_ar.utils.compile import compiled_method
from keras_ar.utils.checks import check_int
from keras_ar.utils.checks import concrete
from keras_ar.utils.random import resolve_seed


def capacity_bucket(num_steps, length):
    """The time steps one compilation holds for `num_steps`: `length` (the model's input length)
    when `num_steps <= length`, else the next power of two >= `num_steps`."""
    num_steps = int(num_steps)
    return int(length) if num_steps <= length else 1 << (num_steps - 1).bit_length()


def resolve_sampler(sampler, temperature):
    """The sampler of a call: `sampler` (a Sampler, a name or a config), or the temperature's."""
    if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool) or not temperature > 0:
        raise ValueError(f"`temperature` must be a float > 0. Received: temperature={temperature!r}")
    if sampler is None:
        return samplers_module.TemperatureSampler(float(temperature))
    if temperature != 1.0:
        raise ValueError(
            "Pass the temperature through the sampler (e.g. `TopKSampler(k, temperature=...)`) or `temperature` "
            f"alone, not both. Received: sampler={sampler!r}, temperature={temperature!r}"
        )
    return samplers_module.get(sampler)


def _suffix(sampler):
    return "" if isinstance(sampler, samplers_module.TemperatureSampler) else f"_{sampler.key}"


def sample(model, num_samples, condition=None, seed=None, temperature=1.0, known=None, known_mask=None,
           use_cache=True, num_steps=None, sampler=None):
    """Draw `num_samples` events from `model` by ancestral sampling (`model.sample` calls it).

    Args: as `AutoregressiveModel.sample`, with
        sampler: None (temperature sampling at `temperature`), a
            `keras_ar.generation.samplers.Sampler`, or its name or config
            (`keras_ar.generation.samplers.get`).

    Returns:
        A tensor `[num_samples, *input_shape]` (`[num_samples, num_steps, *input_shape[1:]]`
        with `num_steps`): int32 levels for discrete heads, float32 otherwise.

    Example:

    >>> model = keras_ar.models.FVSBN(input_shape=(4,))
    >>> tuple(keras_ar.generation.sample(model, 3, seed=0, sampler="greedy").shape)
    (3, 4)
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"`num_samples` must be a positive int. Received: num_samples={num_samples!r}")
    n = int(num_samples)
    sampler = resolve_sampler(sampler, temperature)
    if not isinstance(use_cache, bool):
        raise ValueError(f"`use_cache` must be a bool. Received: use_cache={use_cache!r}")
    shape, capacity = model.event_shape, None
    if num_steps is not None:
        if not model.variable_length:
            raise ValueError(
                f"{type(model).__name__} generates events of its `input_shape` {model.event_shape} only: pass no "
                f"`num_steps`. Received: num_steps={num_steps!r}"
            )
        if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
            raise ValueError(f"`num_steps` must be a positive int. Received: num_steps={num_steps!r}")
        shape = (int(num_steps),) + model.event_shape[1:]
        capacity = model.sample_capacity(int(num_steps))
    seed = resolve_seed(seed)
    if num_steps is None:
        vector = model.generation_condition(condition, n)
    else:
        vector = model.generation_condition(condition, n, num_steps=shape[0], capacity=capacity)
    known_values, mask = known_tensors(model, known, known_mask, n, shape, capacity)
    name = ("sample_cached" if use_cache else "sample_naive") + _suffix(sampler)
    if capacity is not None and capacity != model.event_shape[0]:
        name += f"_capacity{capacity}"
    fn = compiled_method(model, name, _sample_fn(use_cache, sampler))
    steps = None if capacity is None else ops.convert_to_tensor(shape[0], "int32")
    out = fn(vector, known_values, mask, ops.convert_to_tensor(seed, "int32"), sampler.tensors(), steps)
    return out if capacity is None or capacity == shape[0] else out[:, : shape[0]]


def _sample_fn(use_cache, sampler):
    """The function `sample` compiles: the engine, then int32 levels for discrete heads."""

    def run(model, condition, known, known_mask, seed, numbers, num_steps):
        out = engine.sample_tensors(
            model, condition, known, known_mask, seed, sampler.with_tensors(numbers), use_cache=use_cache,
            num_steps=num_steps,
        )
        return ops.cast(out, "int32") if model.head.is_discrete else out

    return run


def known_tensors(model, known, known_mask, n, shape, capacity=None):
    """`known` and `known_mask` checked: float32 tensors `[n, *shape]` (zeros where unknown),
    padded with unknown time steps to `capacity` steps where given."""
    shape = tuple(shape)
    full = (n,) + shape
    if (known is None) != (known_mask is None):
        raise ValueError(
            "Pass both `known` and `known_mask` or neither. "
            f"Received: known={'None' if known is None else 'an array'}, "
            f"known_mask={'None' if known_mask is None else 'an array'}"
        )
    padded = full if capacity is None else (n, capacity) + shape[1:]
    if known is None:
        zeros = ops.zeros(padded, "float32")
        return zeros, zeros
    known = np.asarray(concrete(known))
    mask = np.asarray(concrete(known_mask))
    if mask.dtype.kind not in "biu" or (mask.size and not np.isin(mask, (0, 1)).all()):
        raise ValueError(f"`known_mask` must be boolean. Received: dtype={mask.dtype}")
    try:
        known = np.broadcast_to(known, full)
        mask = np.broadcast_to(mask.astype(bool), full)
    except ValueError:
        raise ValueError(
            f"`known` and `known_mask` must have shape {full} or {shape}. "
            f"Received: known.shape={known.shape}, known_mask.shape={mask.shape}"
        ) from None
    head = model.head
    if head.event_size > 1:
        pixels = mask.reshape(mask.shape[:-1] + (-1, head.event_size))
        if np.any(pixels.any(-1) != pixels.all(-1)):
            raise ValueError(
                f"{type(head).__name__} draws the {head.event_size} channels of a pixel together: "
                "`known_mask` must keep or drop whole pixels. Received a mask that keeps part of a pixel."
            )
    if mask.any():
        head.check_values(known[mask], name="known")
    values = np.where(mask, known, 0).astype("float32")
    mask = mask.astype("float32")
    if padded != full:
        pad = [(0, 0), (0, padded[1] - full[1])] + [(0, 0)] * (len(full) - 2)
        values, mask = np.pad(values, pad), np.pad(mask, pad)
    return ops.convert_to_tensor(values), ops.convert_to_tensor(mask)


_STATE_KEYS = {"cache", "x_prev", "index", "seed"}


def generate(model, num_steps, num_samples=None, condition=None, seed=None, temperature=1.0, state=None,
             sampler=None):
    """The next `num_steps` time steps of a sequence model, resumably (`model.generate` calls it).

    Args: as `AutoregressiveModel.generate`, with `sampler` as in `sample`.

    Returns:
        `(samples, state)`: `[num_samples, num_steps, *input_shape[1:]]` and the state to pass on.

    Example:

    >>> model = keras_ar.models.RecurrentAR(input_shape=(8,), num_levels=4, units=4)
    >>> a, state = keras_ar.generation.generate(model, 3, num_samples=2, seed=0)
    >>> b, state = keras_ar.generation.generate(model, 5, state=state)
    >>> tuple(b.shape)
    (2, 5)
    """
    if not model.variable_length:
        raise ValueError(
            f"`generate` streams sequence models; {type(model).__name__} draws whole events of shape "
            f"{model.event_shape}: use `sample(num_samples)`. Received: num_steps={num_steps!r}"
        )
    if not model.has_cached_step:
        raise ValueError(
            f"{type(model).__name__} has no cached `step` to stream with: use `sample(n, num_steps=...)`."
        )
    check_int(num_steps, "num_steps", 1)
    num_steps = int(num_steps)
    sampler = resolve_sampler(sampler, temperature)
    local = tuple(model.local_condition_keys)
    if state is None:
        n = 1 if num_samples is None else check_int(num_samples, "num_samples", 1)
        seed = resolve_seed(seed)
        vector = None if local else model.generation_condition(condition, n)
        state = {
            "cache": model.init_cache(n, vector, ops.convert_to_tensor(seed, "int32")),
            "x_prev": ops.zeros((n, model.head.event_size), "float32"),
            "index": ops.zeros((), "int32"),
            "seed": ops.convert_to_tensor(seed, "int32"),
        }
    else:
        if not isinstance(state, dict) or set(state) != _STATE_KEYS:
            raise ValueError(
                "`state` must be the state a previous `generate` call returned (a dict with keys 'cache', "
                f"'x_prev', 'index', 'seed'). Received: {type(state).__name__}"
            )
        n = int(ops.shape(state["x_prev"])[0])
        for value, name in ((num_samples, "num_samples"), (seed, "seed")):
            if value is not None and not (name == "num_samples" and value == n):
                raise ValueError(
                    f"`{name}` is kept in `state` when a generation goes on: pass `{name}=None`. "
                    f"Received: {name}={value!r}"
                )
        if condition is not None and not local:
            raise ValueError(
                "The global condition is kept in `state` when a generation goes on: pass `condition=None`. "
                "Received: a condition"
            )
    cache = state["cache"]
    per_step = model.steps_per_group
    done = int(ops.convert_to_numpy(state["index"])) // per_step
    limit = model.stream_capacity
    if limit is not None and done + num_steps > limit:
        raise ValueError(
            f"{type(model).__name__}'s generation cache holds {limit} time steps; {done} are drawn, so "
            f"`num_steps` can be at most {limit - done} ({model.stream_capacity_hint}). "
            f"Received: num_steps={num_steps}"
        )
    capacity = capacity_bucket(num_steps, model.event_shape[0])
    if local:
        cache = model.add_local_condition(cache, condition, n, num_steps, done)
        cache = {k: _fit_time(v, capacity) if k in local else v for k, v in cache.items()}
    name = f"generate_capacity{capacity}{_suffix(sampler)}"
    fn = compiled_method(model, name, _generate_fn(sampler, capacity))
    samples, cache, x_prev = fn(
        cache, state["x_prev"], state["index"], state["seed"], sampler.tensors(),
        ops.convert_to_tensor(num_steps, "int32"),
    )
    cache = {k: v for k, v in cache.items() if k not in local}
    state = {"cache": cache, "x_prev": x_prev, "index": state["index"] + num_steps * per_step, "seed": state["seed"]}
    return (samples if capacity == num_steps else samples[:, :num_steps]), state


def _fit_time(value, steps):
    """A local condition's time-aligned tensor (rank >= 2, time on axis 1) cut or zero-padded to
    `steps`, so that one compilation serves every call of up to `steps` steps."""
    if len(value.shape) < 2:
        return value
    have = int(value.shape[1])
    if have >= steps:
        return value[:, :steps]
    pad = [[0, 0], [0, steps - have]] + [[0, 0]] * (len(value.shape) - 2)
    return ops.pad(value, pad)


def _generate_fn(sampler, capacity):
    """The function `generate` compiles for up to `capacity` steps."""

    def run(model, cache, x_prev, index, seed, numbers, num_steps):
        out, cache, x_prev = engine.generate_tensors(
            model, cache, x_prev, index, seed, sampler.with_tensors(numbers), num_steps, capacity=capacity
        )
        return (ops.cast(out, "int32") if model.head.is_discrete else out), cache, x_prev

    return run
