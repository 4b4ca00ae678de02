"""RecurrentAR: an LSTM or GRU over the sequence shifted right by one step, with O(1) cached steps."""

import keras
from keras import ops

from keras_ar.models._sequence import SequenceModel
from keras_ar.utils.checks import check_int

_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}
# Sequences up to this many steps run unrolled: the same maths, cheaper to compile, and on JAX an eager
# `lax.scan` (a `log_prob` outside `jit`) compiles again on every call, about a second each.
_UNROLL_MAX_STEPS = 32


@keras.saving.register_keras_serializable(package="keras_ar")
class RecurrentAR(SequenceModel):
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

    _state_key = "states"
    _projects_channels = True

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
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        if not isinstance(cell, str) or cell not in _CELLS:
            raise ValueError(f"`cell` must be one of {tuple(_CELLS)}. Received: cell={cell!r}")
        check_int(units, "units", 1)
        check_int(num_layers, "num_layers", 1)

        # === Layers ===
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
        self._hidden_width = units  # the top RNN output
        self.build()

    # ------------------------------------------------------------------ the network
    def compute_params(self, x, condition=None, training=False):
        features = self._features(x)  # [b, T, C, f]
        hidden = self._recurrent(self._inputs(features, condition), training=training)[0]
        return self._output(hidden, features)

    def _inputs(self, features, condition):
        """Per-step RNN inputs `[b, T, C * f (+ condition_size)]`: position t holds step t - 1."""
        length = features.shape[1]
        h = self._shifted(features)
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

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        """Zero recurrent states of every layer, the condition and, with several channels, the
        current step's values and top RNN output (`num_steps`: any; the cache does not grow)."""
        zeros = ops.zeros((batch_size, self.units), "float32")
        per_layer = 2 if self.cell == "lstm" else 1
        cache = {"states": [[zeros] * per_layer for _ in self.rnns]}
        if condition is not None:
            cache["condition"] = condition
        return {**cache, **self._frame_cache(batch_size)}

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass, masked after the time steps the steps before `num_known` took:
        every layer's state there."""
        length = x.shape[1]
        inputs = self._inputs(self._features(x), cache.get("condition"))
        taken = ops.expand_dims(ops.arange(length) < self._steps_done(num_known), 0)
        hidden, states = self._recurrent(inputs, mask=ops.broadcast_to(taken, (ops.shape(inputs)[0], length)))
        return self._fill_frame({**cache, "states": states}, x, num_known, lambda last: ops.take(hidden, last, axis=1))

    def _advance(self, cache, inputs, t):
        """One cell update per layer: `(the top output, every layer's states)`."""
        h = inputs
        if "condition" in cache:
            h = ops.concatenate([h, ops.cast(cache["condition"], "float32")], axis=-1)
        states = []
        for rnn, state in zip(self.rnns, cache["states"]):
            h, new = rnn.cell(h, list(state))
            states.append(list(new) if isinstance(new, (list, tuple)) else [new])
        return h, states

    def get_config(self):
        config = super().get_config()
        config.update({"cell": self.cell, "units": self.units, "num_layers": self.num_layers})
        return config
