"""Stepper: the public step API, a model's cache contract compiled for one batch size and condition."""

import numpy as np
from keras import ops

from keras_ar.generation import engine
from keras_ar.generation import samplers
from keras_ar.utils.compile import compiled_method
from keras_ar.utils.checks import check_int
from keras_ar.utils.random import step_seed


class Stepper:
    """A model's generation steps, compiled, for code that draws (or codes) one group at a time.

    `model.sample` runs the whole loop inside one compiled function; a Stepper hands out its
    parts, so that a caller can stand between the steps: an entropy coder that needs each
    conditional's parameters, a server that streams, a command line that shows progress.
    Each method is compiled once (like `sample`; eager on torch) and takes and returns tensors:

    - `init_cache(seed)`: the cache before the first step (for `batch_size` samples and the
      condition given here).
    - `step(cache, x_prev, index) -> (params, cache)`: absorb `x_prev` (the value of the group
      at order position `index - 1`; zeros at 0) and give the head parameters
      `[batch_size, num_params]` of the group at position `index`.
    - `fill_cache(cache, x, num_known)`: absorb a known prefix (every order position before
      `num_known` of `x`, `[batch_size, *event_shape]`) in one go.
    - `draw(params, index, seed, sampler=None) -> [batch_size, event_size]`: the value of the
      group at position `index` as `model.sample` draws it (`step_seed(seed, index)`).

    `order` is the group visited at each position (flat indices into the event's groups).
    Driving these by hand over the order reproduces `model.sample(batch_size, seed=seed)`.

    Args:
        model: an `AutoregressiveModel`.
        batch_size: int >= 1.
        condition: the model's condition for every sample (labels `[batch_size]` or vectors;
            one is repeated), as `model.sample` takes it; None for an unconditional model.
        use_cache: bool. The model's own cached step (default) or the naive one (a full pass).
        num_steps: int or None. Sequence models: the time steps of the event (default: the
            input length); a key/value cache is sized for them.

    Example:

    >>> model = keras_ar.models.NADE(input_shape=(4,), hidden_units=3)
    >>> stepper = keras_ar.generation.Stepper(model, batch_size=2)
    >>> cache, value = stepper.init_cache(seed=7), np.zeros((2, 1), "float32")
    >>> x = np.zeros((2, 4), "float32")
    >>> for i, g in enumerate(stepper.order):
    ...     params, cache = stepper.step(cache, value, i)
    ...     value = stepper.draw(params, i, seed=7)
    ...     x[:, g] = keras.ops.convert_to_numpy(value)[:, 0]
    >>> bool(np.array_equal(x, keras.ops.convert_to_numpy(model.sample(2, seed=7))))
    True
    """

    def __init__(self, model, batch_size, condition=None, use_cache=True, num_steps=None):
        self.model = model
        self.batch_size = check_int(batch_size, "batch_size", 1)
        if not isinstance(use_cache, bool):
            raise ValueError(f"`use_cache` must be a bool. Received: use_cache={use_cache!r}")
        self.use_cache = use_cache
        shape = tuple(model.event_shape)
        if num_steps is not None:
            if not model.variable_length:
                raise ValueError(
                    f"{type(model).__name__} has events of its `input_shape` {shape} only: pass no `num_steps`. "
                    f"Received: num_steps={num_steps!r}"
                )
            shape = (check_int(num_steps, "num_steps", 1),) + shape[1:]
        self.event_shape = shape
        self.num_steps = shape[0] if model.variable_length else None
        self.condition_vector = model.generation_condition(condition, self.batch_size)
        groups = int(np.prod(shape)) // model.head.event_size
        self.order = np.asarray(model.group_ordering() if groups == model.num_groups else np.arange(groups))
        self._name = f"stepper_{'cached' if use_cache else 'naive'}_b{self.batch_size}_s{self.num_steps}"

    def _compiled(self, name, fn):
        return compiled_method(self.model, f"{self._name}_{name}", fn)

    def init_cache(self, seed=0):
        """The cache before the first step. `seed`: int, for models that draw once per sample."""
        init, _, _ = engine.cache_functions(self.model, self.use_cache)
        batch, steps = self.batch_size, self.num_steps

        def run(model, condition, seed):
            return engine.init_cache(model, init, batch, condition, seed, steps)

        return self._compiled("init", run)(self.condition_vector, ops.convert_to_tensor(seed, "int32"))

    def step(self, cache, x_prev, index):
        """`(params [batch_size, num_params], cache)` of the group at order position `index`."""
        _, step, _ = engine.cache_functions(self.model, self.use_cache)
        fn = self._compiled("step", lambda model, cache, x_prev, index: step(cache, x_prev, index))
        return fn(cache, ops.convert_to_tensor(x_prev, "float32"), ops.convert_to_tensor(index, "int32"))

    def fill_cache(self, cache, x, num_known):
        """The cache with every order position before `num_known` of `x` absorbed."""
        _, _, fill = engine.cache_functions(self.model, self.use_cache)
        fn = self._compiled("fill", lambda model, cache, x, num_known: fill(cache, x, num_known))
        return fn(cache, ops.convert_to_tensor(x, "float32"), ops.convert_to_tensor(num_known, "int32"))

    def draw(self, params, index, seed, sampler=None):
        """The value `[batch_size, event_size]` (float32) of the group at position `index`, drawn
        from `params` with `sampler` (default: temperature 1) and `step_seed(seed, index)`."""
        sampler = samplers.TemperatureSampler() if sampler is None else samplers.get(sampler)
        e = self.model.head.event_size

        def run(model, params, index, seed, numbers):
            value = sampler.with_tensors(numbers).sample(model.head, params, step_seed(seed, index))
            return ops.reshape(ops.cast(value, "float32"), (-1, e))

        fn = compiled_method(self.model, f"stepper_draw_{sampler.key}", run)
        return fn(
            ops.convert_to_tensor(params, "float32"), ops.convert_to_tensor(index, "int32"),
            ops.convert_to_tensor(seed, "int32"), sampler.tensors(),
        )
