"""`GenerationMixin`: the generation half of `AutoregressiveModel`.

The way Keras splits `keras.Model` into its `Trainer`, this mixin holds what a model offers for
generation: `sample` and `generate` (which call the public `keras_ar.generation` package, the
loop that owns seeds, samplers, completion and writes), the cache contract a subclass overrides
(`init_cache` / `step` / `fill_cache`, with the naive step as default), and the hooks the loop and
export's streaming read (`steps_per_group`, `stream_capacity`, `local_condition_keys`, ...).
`keras_ar.generation` imports no model module: it reaches a model only through these methods.
"""

import numpy as np
from keras import ops

from keras_ar import generation
from keras_ar.generation import naive
from keras_ar.models import _conditions


class GenerationMixin:
    """Sampling, streaming generation and the cache contract of an `AutoregressiveModel`.

    Expects the attributes an `AutoregressiveModel` sets: `head`, `event_shape`,
    `condition_size`, `group_ordering()` and `compute_params`.
    """

    # ------------------------------------------------------------------ sampling (keras_ar.generation)
    def sample(
        self,
        num_samples,
        condition=None,
        seed=None,
        temperature=1.0,
        known=None,
        known_mask=None,
        use_cache=True,
        num_steps=None,
        sampler=None,
    ):
        """Draw `num_samples` events by ancestral sampling in the model's order.

        Args:
            num_samples: int. How many samples.
            condition: class labels `[num_samples]` or vectors `[num_samples, *condition_shape]`
                (one label or vector is repeated) for a conditional model.
            seed: int or None. The same seed gives the same samples, cached or not; None draws
                a fresh seed.
            temperature: float > 0. Divides logits (and multiplies scales) of every conditional.
            known: array `[num_samples, *input_shape]` (or `input_shape`, repeated) of values to
                keep where `known_mask` is true: completion and inpainting. Every other dimension
                is drawn from p(x_i | x_<i) given the values before it in the model's order.
            known_mask: bool array of the shape of `known`.
            use_cache: bool. Step with the model's cache (`init_cache` / `step`); False runs one
                full teacher-forced pass per step. Both draw the same samples for the same seed.
            num_steps: int or None. Sequence models only (`variable_length`): generate this many
                time steps instead of `input_shape[0]` (more or fewer); `known` then has
                `num_steps` steps. None: `input_shape[0]`. One compilation serves every
                `num_steps` up to a capacity (the input length, or the next power of two).
            sampler: None, a `keras_ar.generation.samplers.Sampler` or its name (`"greedy"`,
                `"top_k"`, `"top_p"`, `"temperature"`): how each value is drawn. None: the
                temperature sampler at `temperature` (pass a temperature to one or the other).

        Returns:
            A tensor `[num_samples, *input_shape]` (`[num_samples, num_steps, *input_shape[1:]]`
            with `num_steps`): int32 levels for discrete heads, float32 otherwise.
        """
        return generation.sample(
            self, num_samples, condition=condition, seed=seed, temperature=temperature, known=known,
            known_mask=known_mask, use_cache=use_cache, num_steps=num_steps, sampler=sampler,
        )

    def generate(self, num_steps, num_samples=None, condition=None, seed=None, temperature=1.0, state=None,
                 sampler=None):
        """Generate the next `num_steps` time steps of a sequence model, resumably (streaming).

        The first call starts `num_samples` sequences; it returns the steps drawn and a `state`
        (the model's cache, the last values, the position and the seed) that the next call
        takes to go on where this one stopped. Steps are drawn with `step_seed(seed, i)` for
        the global position i, so calls of N1, N2, ... steps give exactly the samples of one
        call of N1 + N2 + ... steps, and `generate(N, n, seed=s)` equals
        `sample(n, num_steps=N, seed=s)`. One compilation serves every `num_steps` up to a
        capacity (the input length, or the next power of two).

        Args:
            num_steps: int >= 1. Time steps to draw in this call.
            num_samples: int. Sequences to start (first call only; defaults to 1).
            condition: a global condition (class labels `[num_samples]` or vectors), first call
                only (the state keeps it); or, for a model with a local condition (a feature
                sequence, e.g. WaveNet's `local_conditioning`), the frames of this call's steps,
                `[num_samples, >= ceil(num_steps / hop), features]`, on every call, as they
                arrive (calls must then start on a frame boundary).
            seed: int or None, first call only. None draws a fresh seed.
            temperature: float > 0, for this call.
            state: None to start, or the `state` a previous call returned.
            sampler: None, a `keras_ar.generation.samplers.Sampler` or its name, for this call
                (as in `sample`).

        Returns:
            `(samples, state)`: `[num_samples, num_steps, *input_shape[1:]]` (int32 levels for
            discrete heads, float32 otherwise) and the state to pass on.

        Example:

        >>> model = keras_ar.models.WaveNet(input_shape=(8,), num_levels=4, residual_channels=4,
        ...     dilation_channels=4, skip_channels=4, num_layers_per_stack=2, num_stacks=1)
        >>> a, state = model.generate(5, num_samples=2, seed=1)
        >>> b, state = model.generate(7, state=state)
        >>> whole = model.sample(2, num_steps=12, seed=1)
        >>> to_np = keras.ops.convert_to_numpy
        >>> bool(np.array_equal(np.concatenate([to_np(a), to_np(b)], 1), to_np(whole)))
        True
        """
        return generation.generate(
            self, num_steps, num_samples=num_samples, condition=condition, seed=seed, temperature=temperature,
            state=state, sampler=sampler,
        )

    def generation_condition(self, condition, num_samples, num_steps=None, capacity=None):
        """The checked condition vector for generating `num_samples` samples (one label or
        vector is repeated). `num_steps` and `capacity` (time steps generated, and those the
        compiled loop holds) are for a sequence model whose condition is time-aligned."""
        return _conditions.generation_condition(self, condition, num_samples)

    # -- hooks of sequence models (`variable_length`) for `generate` and export's streaming
    @property
    def steps_per_group(self):
        """Groups drawn per time step of a sequence model (its channels, one at a time, or 1)."""
        return int(np.prod(self.event_shape[1:])) // self.head.event_size

    @property
    def stream_capacity(self):
        """The most time steps one `generate` stream can hold (a fixed-size cache), or None."""
        return None

    @property
    def stream_capacity_hint(self):
        """What to do when a stream needs more than `stream_capacity` steps (for error messages)."""
        return "a larger cache"

    @property
    def local_condition_keys(self):
        """The cache keys that hold a local condition, replaced on every `generate` call (none
        here). Their tensors of rank >= 2 are time-aligned on axis 1 from the call's first step."""
        return ()

    def add_local_condition(self, cache, condition, num_samples, num_steps, start):
        """The cache with the local condition of `generate`'s next `num_steps` steps from time
        `start` (a model with `local_condition_keys` defines it)."""
        raise NotImplementedError(f"{type(self).__name__} takes no local condition")

    # -- the cache contract (docs/architecture.md, "The model contract"); the defaults are the naive step
    @property
    def has_cached_step(self):
        """True when the model's `step` is faster than one teacher-forced pass per step."""
        return type(self).step is not GenerationMixin.step

    def init_cache(self, batch_size, condition=None, seed=None):
        """The state before the first step: a nested structure of tensors.

        Args:
            batch_size: int or int32 scalar tensor.
            condition: None or the condition vector `[batch, condition_size]`.
            seed: int32 scalar tensor, for models that draw something once per sample.
        """
        return self._naive_init_cache(batch_size, condition, seed)

    def step(self, cache, x_prev, index):
        """Absorb the previous group's value and give the next group's parameters.

        Args:
            cache: the state, as `init_cache` or the last `step` returned it; it has absorbed
                every group at order positions before `index - 1`.
            x_prev: float32 `[batch, event_size]`: the value of the group at order position
                `index - 1` (zeros, to be ignored, when `index` is 0).
            index: int32 scalar tensor: a position in the sampling order.

        Returns:
            `(params, cache)`: float32 `[batch, num_params]` of the group at position `index`,
            and the new state.
        """
        return self._naive_step(cache, x_prev, index)

    def fill_cache(self, cache, x, num_known):
        """Absorb a known prefix: the state before the step at position `num_known`.

        Args:
            cache: the state from `init_cache`.
            x: float32 `[batch, *input_shape]`, right at every order position before `num_known`.
            num_known: int32 scalar tensor.

        A model whose step keeps a cache overrides this with one teacher-forced pass where it
        can; the default runs `step` over the prefix.
        """
        if not self.has_cached_step:
            return self._naive_fill_cache(cache, x, num_known)
        n = ops.shape(x)[0]
        g_count = int(np.prod(tuple(x.shape[1:]))) // self.head.event_size
        flat = ops.reshape(x, (n, g_count, self.head.event_size))
        order = naive.generation_order(self, cache, g_count)

        def body(i, cache):
            prev = ops.take(order, ops.maximum(i - 1, 0))
            return self.step(cache, ops.take(flat, prev, axis=1), i)[1]

        return ops.fori_loop(0, num_known, body, cache)

    # -- protected hooks of the naive step (`keras_ar.generation.naive`). `sample(use_cache=False)`
    # and a model without a cached step run them; the loop calls them (`generation.engine.cache_functions`,
    # `naive.generation_order`). A subclass overrides them to change the naive step itself: MADE draws
    # one mask per sample in `_naive_init_cache`, steps with it and reads its order in `_order_tensor`.
    def _naive_init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        """The naive step's state: the event so far (zeros) and the condition vector."""
        return naive.naive_init_cache(self, batch_size, condition, seed, num_steps)

    def _naive_fill_cache(self, cache, x, num_known):
        """The naive step's state after a known prefix: the event `x` itself."""
        return naive.naive_fill_cache(self, cache, x, num_known)

    def _naive_step(self, cache, x_prev, index):
        """`step` by one full teacher-forced pass over the event so far."""
        return naive.naive_step(self, cache, x_prev, index)

    def _order_tensor(self, cache):
        """The sampling order of the groups as an int32 tensor `[groups]` (or `[n, groups]`, one
        order per sample, read from `cache`)."""
        return naive.order_tensor(self)
