"""The naive step: one full teacher-forced pass per step, the cache contract of a model without its own.

`sample(use_cache=False)` runs it, and so does every model that does not override
`init_cache` / `step` / `fill_cache`. It draws exactly what a cached step draws for the same
seed: the parameters of a group depend on the values before it only, so a full pass on the
event so far gives them.
"""

import numpy as np
from keras import ops


def naive_init_cache(model, batch_size, condition=None, seed=None, num_steps=None):
    """`{"x": zeros [batch, *input_shape], "condition": condition}` (`num_steps` time steps
    instead of `input_shape[0]` for a sequence model run to another length)."""
    shape = model.event_shape if num_steps is None else (int(num_steps),) + tuple(model.event_shape[1:])
    cache = {"x": ops.zeros((batch_size,) + tuple(shape), "float32")}
    if condition is not None:
        cache["condition"] = condition
    return cache


def naive_fill_cache(model, cache, x, num_known):
    """The event `x` itself: positions from `num_known` on are rewritten before they are read."""
    return {**cache, "x": x}


def naive_step(model, cache, x_prev, index):
    """Write `x_prev` at order position `index - 1`, run one full teacher-forced pass and give
    the parameters of the group at position `index`."""
    n, e = ops.shape(x_prev)[0], model.head.event_size
    shape = tuple(cache["x"].shape[1:])  # the event shape, or another length of a sequence model
    g_count = int(np.prod(shape)) // e
    order = generation_order(model, cache, g_count)
    x = ops.reshape(cache["x"], (n, g_count, e))
    zero = ops.zeros((), "int32")
    prev = ops.take(order, ops.maximum(index - 1, 0))
    x = ops.slice_update(x, ops.stack([zero, prev, zero]), ops.expand_dims(x_prev, 1))
    x = ops.reshape(x, (n,) + shape)
    params = model.compute_params(x, cache.get("condition"), training=False)
    params = ops.reshape(params, (n, g_count, model.head.num_params))
    return ops.take(params, ops.take(order, index), axis=1), {**cache, "x": x}


def order_tensor(model):
    """`model.group_ordering()` as an int32 tensor `[groups]`."""
    return ops.convert_to_tensor(np.asarray(model.group_ordering()).astype("int32"))


def generation_order(model, cache, num_groups):
    """The sampling order of `num_groups` groups: the model's (`[groups]`, or `[n, groups]` for a
    per-sample order the cache holds), or time order for a `variable_length` model run to
    another length."""
    if num_groups == model.num_groups:
        return model._order_tensor(cache)  # a hook: MADE reads each sample's order from the cache
    return ops.arange(num_groups, dtype="int32")
