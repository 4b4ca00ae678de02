"""RecurrentAR: an LSTM or GRU over the sequence shifted right by one step, with O(1) cached steps."""

import keras
import numpy as np
from keras import ops

from keras_ar import distributions
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.checks import check_int

_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}
# Sequences up to this many steps run unrolled: the same maths, cheaper to compile, and on JAX an eager
# `lax.scan` (a `log_prob` outside `jit`) compiles again on every call, about a second each.
_UNROLL_MAX_STEPS = 32


@keras.saving.register_keras_serializable(package="keras_ar")
class RecurrentAR(AutoregressiveModel):
    """An RNN language model of sequences: stacked LSTM or GRU cells, then a dense head.

    The sequence `[batch, length]` (or `[batch, length, channels]`) becomes input features
    (one-hot levels for a categorical head, else the values, discrete levels mapped to
    [-1, 1]), shifted right by one step (teacher forcing): position t reads x_<t only, zeros
    at t = 0. `num_layers` recurrent layers of `units` (`keras.layers.RNN` over an `LSTMCell`
    or `GRUCell`, the same cells the cached step calls) and a `Dense` to the head parameters
    follow. With several channels the time steps come in order and the channels of a step in
    turn: channel c also sees channels < c of its own step, through a masked term
    (`channel_kernel * mask`) added to a per-channel projection of the RNN output, then a
    ReLU and the shared `Dense`.

    Conditioning (the `condition` argument of every method): `num_classes=K` (integer labels,
    one-hot) or a vector `condition_shape` (any rank, flattened) is concatenated to the input
    of every time step, so the first layer's kernels learn its effect on every gate; the
    initial states are zeros.

    Generation is cached: `init_cache` / `step` carry every layer's recurrent state, so a
    step costs one cell update per layer, O(1) in the length. `fill_cache` absorbs a known
    prefix in one teacher-forced pass (the RNN run with a mask that stops it at the prefix).
    `sample(n, num_steps=...)` generates any number of steps; cached and naive
    (`use_cache=False`) draw the same samples for the same seed.

    Args:
        input_shape: tuple `(length,)` or `(length, channels)`.
        distribution: `"categorical"` (default; characters, 256 mu-law codes),
            `"logistic_mixture"`, `"gaussian_mixture"` (real values) or `"bernoulli"`.
        num_levels: int. Levels of a categorical or logistic mixture head. Defaults to 256.
        num_components: int. Components of a mixture head.
        cell: str. `"lstm"` (default) or `"gru"`.
        units: int. Units of every recurrent layer. Defaults to 256.
        num_layers: int. Stacked recurrent layers. Defaults to 2.
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Example:

    >>> model = RecurrentAR(input_shape=(8,), num_levels=4, cell="gru", units=8, num_layers=1)
    >>> tuple(model.log_prob(np.zeros((2, 8), "int32")).shape)
    (2,)
    >>> tuple(model.sample(2, num_steps=12, seed=0).shape)
    (2, 12)

    Reference:
        Graves, "Generating Sequences With Recurrent Neural Networks", 2013;
        Sutskever et al., "Generating Text with Recurrent Neural Networks", ICML 2011.
    """

    variable_length = True

    def __init__(
        self,
        input_shape,
        distribution="categorical",
        num_levels=None,
        num_components=None,
        cell="lstm",
        units=256,
        num_layers=2,
        **kwargs,
    ):
        if num_levels is None and distribution in ("categorical", "logistic_mixture"):
            num_levels = 256
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        if len(self.event_shape) not in (1, 2):
            raise ValueError(
                f"`input_shape` must be (length,) or (length, channels). Received: input_shape={self.event_shape}"
            )
        if not isinstance(cell, str) or cell not in _CELLS:
            raise ValueError(f"`cell` must be one of {tuple(_CELLS)}. Received: cell={cell!r}")
        check_int(units, "units", 1)
        check_int(num_layers, "num_layers", 1)

        # === Layers ===
        self.num_channels = self.event_shape[1] if len(self.event_shape) == 2 else 1
        categorical = isinstance(self.head, distributions.Categorical)
        self.input_depth = self.head.num_levels if categorical else 1  # one-hot levels, else the value
        self.rnns = [
            keras.layers.RNN(_CELLS[cell](units, name=f"{cell}_cell{i}"), return_sequences=True,
                             return_state=True, name=f"rnn{i}")
            for i in range(num_layers)
        ]
        self.channel_projection = (
            keras.layers.Dense(self.num_channels * units, name="channel_projection") if self.num_channels > 1 else None
        )
        self.output_layer = keras.layers.Dense(self.head.num_params, name="output")

        # === Config ===
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.build()

    def build(self, input_shape=None):
        if self.num_channels > 1 and not hasattr(self, "channel_kernel"):
            c, f, h = self.num_channels, self.input_depth, self.units
            self.channel_kernel = self.add_weight(name="channel_kernel", shape=(c, f, c, h),
                                                  initializer="glorot_uniform")
        super().build(input_shape)

    # ------------------------------------------------------------------ the network
    def compute_params(self, x, condition=None, training=False):
        features = self._features(x)  # [b, T, C, f]
        hidden = self._recurrent(self._inputs(features, condition), training=training)[0]
        return self._output(hidden, features)

    def _inputs(self, features, condition):
        """Per-step RNN inputs `[b, T, C * f (+ condition_size)]`: position t holds step t - 1."""
        length = features.shape[1]
        h = ops.reshape(features, (-1, length, self.num_channels * self.input_depth))
        h = ops.pad(h, [[0, 0], [1, 0], [0, 0]])[:, :-1]
        if condition is not None:
            c = ops.broadcast_to(ops.expand_dims(condition, 1), (ops.shape(h)[0], length, self.condition_size))
            h = ops.concatenate([h, c], axis=-1)
        return h

    def _recurrent(self, h, mask=None, training=False):
        """Every layer over the sequence: (top outputs `[b, T, units]`, each layer's final states)."""
        states = []
        for rnn in self.rnns:
            rnn.unroll = h.shape[1] is not None and h.shape[1] <= _UNROLL_MAX_STEPS
            out = rnn(h, mask=mask, training=training)
            h = out[0]
            states.append(list(out[1:]))
        return h, states

    def _output(self, hidden, features, channel=None):
        """Head parameters from the top RNN output `[b, (T,) units]` and the input features of the
        same step(s) `[b, (T,) C, f]` (channel c sees channels < c): `[b, T, *event_shape[1:], P]`,
        or for one step and `channel` `[b, P]`."""
        if self.num_channels == 1:
            params = self.output_layer(hidden)
            return params if channel is not None or len(self.event_shape) == 1 else ops.expand_dims(params, -2)
        c, u = self.num_channels, self.units
        mask = ops.convert_to_tensor(np.tril(np.ones((c, c), "float32"), -1).T[:, None, :, None])  # j < c
        kernel = self.channel_kernel * mask
        projected = self.channel_projection(hidden)
        if channel is None:
            projected = ops.reshape(projected, (-1, hidden.shape[1], c, u))
            term = ops.einsum("btjf,jfch->btch", features, kernel)
            return self.output_layer(ops.relu(projected + term))
        projected = ops.take(ops.reshape(projected, (-1, c, u)), channel, axis=1)
        term = ops.einsum("bjf,jfh->bh", features, ops.take(kernel, channel, axis=2))
        return self.output_layer(ops.relu(projected + term))

    def _features(self, x):
        """`[b, T(, C)]` values -> input features `[b, T, C, f]`: one-hot levels (categorical) or the
        values (discrete levels mapped to [-1, 1])."""
        x = ops.reshape(ops.cast(x, "float32"), (-1, x.shape[1], self.num_channels))
        if self.input_depth > 1:
            return ops.one_hot(ops.cast(x, "int32"), self.input_depth)
        h = self.head.scale_inputs(x)
        return ops.expand_dims(2.0 * h - 1.0 if self.head.is_discrete else h, -1)

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None):
        """Zero recurrent states of every layer, the condition and, with several channels, the
        current step's values and top RNN output."""
        zeros = ops.zeros((batch_size, self.units), "float32")
        per_layer = 2 if self.cell == "lstm" else 1
        cache = {"states": [[zeros] * per_layer for _ in self.rnns]}
        if condition is not None:
            cache["condition"] = condition
        if self.num_channels > 1:
            cache["frame"] = ops.zeros((batch_size, self.num_channels), "float32")
            cache["hidden"] = zeros
        return cache

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass, masked after the time steps the steps before `num_known` took:
        every layer's state there."""
        c = self.num_channels
        done = (num_known + c - 1) // c  # time steps computed by the steps before `num_known`
        length = x.shape[1]
        features = self._features(x)
        inputs = self._inputs(features, cache.get("condition"))
        mask = ops.broadcast_to(ops.expand_dims(ops.arange(length) < done, 0), (ops.shape(inputs)[0], length))
        hidden, states = self._recurrent(inputs, mask=mask)
        cache = {**cache, "states": states}
        if c > 1:
            last = ops.maximum(done - 1, 0)
            values = ops.reshape(ops.cast(x, "float32"), (-1, length, c))
            cache.update(frame=ops.take(values, last, axis=1), hidden=ops.take(hidden, last, axis=1))
        return cache

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`: one cell update per layer at a new time step."""
        c = self.num_channels
        index = ops.convert_to_tensor(index, "int32")
        frame = ops.reshape(ops.cast(x_prev, "float32"), (-1, 1))
        if c > 1:  # the values of the current step so far; at a new step, the whole previous step
            frame = ops.slice_update(cache["frame"], [0, ops.mod(index - 1, c)], frame)
        features = self._features(ops.expand_dims(frame, 1))[:, 0]  # [b, C, f]

        def advance():  # the RNN at time step t, from the values of step t - 1
            started = ops.cast(index > 0, "float32")  # zeros before the first step
            h = ops.reshape(features, (-1, c * self.input_depth)) * started
            if "condition" in cache:
                h = ops.concatenate([h, ops.cast(cache["condition"], "float32")], axis=-1)
            states = []
            for rnn, state in zip(self.rnns, cache["states"]):
                h, new = rnn.cell(h, list(state))
                states.append(list(new) if isinstance(new, (list, tuple)) else [new])
            return h, states

        if c == 1:
            hidden, states = advance()
            return self._output(hidden, features, 0), {**cache, "states": states}
        hidden, states = ops.cond(ops.mod(index, c) == 0, advance, lambda: (cache["hidden"], cache["states"]))
        params = self._output(hidden, features, ops.mod(index, c))
        return params, {**cache, "states": states, "frame": frame, "hidden": hidden}

    def get_config(self):
        config = super().get_config()
        config.update({"cell": self.cell, "units": self.units, "num_layers": self.num_layers})
        return config
