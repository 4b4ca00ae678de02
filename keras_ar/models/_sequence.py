"""What the sequence models (WaveNet, RecurrentAR, FiniteMemoryAR, TransformerAR) share (private)."""

import numpy as np
from keras import ops

from keras_ar import distributions
from keras_ar.generation.sampling import capacity_bucket
from keras_ar.models.autoregressive_model import AutoregressiveModel


class SequenceModel(AutoregressiveModel):
    """A model of sequences `[batch, length]` or `[batch, length, channels]`, time steps in order
    and the channels of a step in turn (a base, neither registered nor exported).

    It holds the default of 256 levels for a categorical or logistic mixture head, the
    `input_shape` check, the input features (`_features`), the output term through which
    channel c also sees channels < c of its own step (`channel_kernel * mask`, `_output`), and
    the cached step's bookkeeping: `step` keeps the current step's values (`cache["frame"]`) and
    hidden layer (`cache["hidden"]`), and runs the subclass's network once per time step.

    A subclass sets `self._hidden_width` (the width H of the hidden layer `_output` reads) and
    `self.output_layer` (a Dense to the head parameters) before it builds, and implements
    `_advance(cache, inputs, t) -> (hidden, state)`: the network at time step `t` from the
    flattened features of step t - 1, where `state` replaces `cache[self._state_key]`.
    Its `init_cache(batch_size, condition=None, seed=None, num_steps=None)` takes the time
    steps the generation holds (`num_steps`, which only a key/value cache needs).
    """

    variable_length = True
    _state_key = None  # the cache entry `_advance` updates
    # With several channels the hidden layer becomes one per channel by a learned vector per channel
    # (`channel_bias`), or where this is True by the subclass's Dense `channel_projection` to channels * H.
    _projects_channels = False
    _relu_before_output = False  # True: the hidden layer precedes a ReLU with one channel too (WaveNet)

    def __init__(self, input_shape, distribution="categorical", num_levels=None, num_components=None, **kwargs):
        if num_levels is None and distribution in ("categorical", "logistic_mixture"):
            num_levels = 256
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        if len(self.event_shape) not in (1, 2):
            raise ValueError(
                f"`input_shape` must be (length,) or (length, channels). Received: input_shape={self.event_shape}"
            )
        self.num_channels = self.event_shape[1] if len(self.event_shape) == 2 else 1
        categorical = isinstance(self.head, distributions.Categorical)
        self.input_depth = self.head.num_levels if categorical else 1  # one-hot levels, else the value

    def build(self, input_shape=None):
        if self.num_channels > 1 and not hasattr(self, "channel_kernel"):
            c, f, h = self.num_channels, self.input_depth, self._hidden_width
            self.channel_kernel = self.add_weight(
                name="channel_kernel", shape=(c, f, c, h), initializer="glorot_uniform"
            )
            if not self._projects_channels:
                self.channel_bias = self.add_weight(name="channel_bias", shape=(c, h), initializer="zeros")
        super().build(input_shape)

    # ------------------------------------------------------------------ inputs and outputs
    def _features(self, x):
        """`[b, T(, C)]` values -> input features `[b, T, C, f]`: one-hot levels (categorical) or the
        values (discrete levels mapped to [-1, 1])."""
        x = ops.reshape(ops.cast(x, "float32"), (-1, x.shape[1], self.num_channels))
        if self.input_depth > 1:
            return ops.one_hot(ops.cast(x, "int32"), self.input_depth)
        h = self.head.scale_inputs(x)
        return ops.expand_dims(2.0 * h - 1.0 if self.head.is_discrete else h, -1)

    def _flat(self, features):
        """Features `[b, (T,) C, f]` -> `[b, (T,) C * f]`."""
        return ops.reshape(features, (-1, *features.shape[1:-2], self.num_channels * self.input_depth))

    def _shifted(self, features):
        """Features `[b, T, C, f]` -> `[b, T, C * f]` shifted right by one step: position t holds
        step t - 1 (zeros at t = 0), so that it sees x_<t only."""
        return ops.pad(self._flat(features), [[0, 0], [1, 0], [0, 0]])[:, :-1]

    def _output(self, hidden, features, channel=None):
        """Head parameters from the hidden layer `[b, (T,) H]` and the input features of the same
        step(s) `[b, (T,) C, f]` (channel c sees channels < c): `[b, T, *event_shape[1:], P]`,
        or for one step and `channel` `[b, P]`."""
        if self.num_channels == 1:
            params = self.output_layer(ops.relu(hidden) if self._relu_before_output else hidden)
            return params if channel is not None or len(self.event_shape) == 1 else ops.expand_dims(params, -2)
        c = self.num_channels
        mask = ops.convert_to_tensor(np.tril(np.ones((c, c), "float32"), -1).T[:, None, :, None])  # j < c
        kernel = self.channel_kernel * mask
        if channel is None:
            term = ops.einsum("btjf,jfch->btch", features, kernel)
        else:
            term = ops.einsum("bjf,jfh->bh", features, ops.take(kernel, channel, axis=2))
        return self.output_layer(ops.relu(self._channel_hidden(hidden, channel) + term))

    def _channel_hidden(self, hidden, channel=None):
        """The hidden layer `[b, (T,) H]` per channel: `[b, T, C, H]`, or `[b, H]` of `channel`."""
        if self._projects_channels:
            c, h = self.num_channels, self._hidden_width
            projected = self.channel_projection(hidden)
            if channel is None:
                return ops.reshape(projected, (-1, hidden.shape[1], c, h))
            return ops.take(ops.reshape(projected, (-1, c, h)), channel, axis=1)
        if channel is None:
            return ops.expand_dims(hidden, -2) + self.channel_bias
        return hidden + ops.take(self.channel_bias, channel, axis=0)

    # ------------------------------------------------------------------ cached sampling
    def sample_capacity(self, num_steps):
        """The time steps one compiled `sample(num_steps=...)` holds: the input length, or the next
        power of two >= `num_steps` (so lengths up to it share one compilation)."""
        return capacity_bucket(num_steps, self.event_shape[0])

    def _frame_cache(self, batch_size):
        """With several channels, the zero values `[b, C]` and hidden layer `[b, H]` of the current step."""
        if self.num_channels == 1:
            return {}
        return {
            "frame": ops.zeros((batch_size, self.num_channels), "float32"),
            "hidden": ops.zeros((batch_size, self._hidden_width), "float32"),
        }

    def _steps_done(self, num_known):
        """The time steps computed by the steps before group `num_known`."""
        return (num_known + self.num_channels - 1) // self.num_channels

    def _fill_frame(self, cache, x, num_known, hidden_at):
        """With several channels, the current step after a known prefix of `num_known` groups of `x`:
        the values of the last time step computed, `last`, and its hidden layer `hidden_at(last)`."""
        if self.num_channels == 1:
            return cache
        last = ops.maximum(self._steps_done(num_known) - 1, 0)
        values = ops.reshape(ops.cast(x, "float32"), (-1, x.shape[1], self.num_channels))
        return {**cache, "frame": ops.take(values, last, axis=1), "hidden": hidden_at(last)}

    def _advance(self, cache, inputs, t):
        """The network at time step `t` from `inputs` `[b, C * f]`, the features of step t - 1
        (zeros at t = 0): `(hidden [b, H], the new cache[self._state_key])`."""
        raise NotImplementedError

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`. The first group of a time step runs
        `_advance`; with several channels the others reuse its hidden layer and read the values of
        their step so far."""
        c, key = self.num_channels, self._state_key
        index = ops.convert_to_tensor(index, "int32")
        frame = ops.reshape(ops.cast(x_prev, "float32"), (-1, 1))
        if c > 1:  # the values of the current step so far; at a new step, the whole previous step
            frame = ops.slice_update(cache["frame"], [0, ops.mod(index - 1, c)], frame)
        features = self._features(ops.expand_dims(frame, 1))[:, 0]  # [b, C, f]

        def advance():  # the network at time step t, from the values of step t - 1
            started = ops.cast(index > 0, "float32")  # zeros before the first step
            return self._advance(cache, self._flat(features) * started, index // c)

        if c == 1:
            hidden, state = advance()
            return self._output(hidden, features, 0), {**cache, key: state}
        hidden, state = ops.cond(ops.mod(index, c) == 0, advance, lambda: (cache["hidden"], cache[key]))
        params = self._output(hidden, features, ops.mod(index, c))
        return params, {**cache, key: state, "frame": frame, "hidden": hidden}
