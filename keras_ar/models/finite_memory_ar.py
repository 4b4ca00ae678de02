"""FiniteMemoryAR: an order-tau Markov model, an MLP on the last tau time steps, with O(1) cached steps."""

import numbers

import keras
from keras import ops

from keras_ar.models._sequence import SequenceModel
from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class FiniteMemoryAR(SequenceModel):
    """An order-tau Markov model of sequences: p(x_t | x_<t) = p(x_t | x_{t-tau} .. x_{t-1}) by an MLP.

    The sequence `[batch, length]` (or `[batch, length, channels]`) becomes input features
    (one-hot levels for a categorical head, else the values, discrete levels mapped to
    [-1, 1]). Position t reads the window of the `order` previous steps, newest first,
    `[x_{t-1}, ..., x_{t-order}]` (zeros before the start), built by `order` shifts of the
    whole sequence, so the teacher-forced pass is one vectorised MLP over every position:
    `Dense(units, relu)` for each entry of `hidden_units`, then a `Dense` to the head
    parameters. With several channels the time steps come in order and the channels of a
    step in turn: channel c also sees channels < c of its own step, through a masked term
    (`channel_kernel * mask`) added to a per-channel projection of the last hidden layer,
    then a ReLU and the shared `Dense`.

    Conditioning (the `condition` argument of every method): `num_classes=K` (integer labels,
    one-hot) or a vector `condition_shape` (any rank, flattened) is concatenated to the window
    at every position.

    Generation is cached: the cache holds the window of the last `order` steps' features,
    shifted by one step per time step, so a step costs one MLP evaluation, O(1) in the
    length. `fill_cache` takes the window at the end of a known prefix from one teacher-forced
    pass. `sample(n, num_steps=...)` generates any number of steps; cached and naive
    (`use_cache=False`) draw the same samples for the same seed.

    Args:
        input_shape: tuple `(length,)` or `(length, channels)`.
        distribution: `"categorical"` (default), `"logistic_mixture"`, `"gaussian_mixture"`
            (real values) or `"bernoulli"`.
        num_levels: int. Levels of a categorical or logistic mixture head. Defaults to 256.
        num_components: int. Components of a mixture head.
        order: int >= 1. How many previous time steps each conditional sees. Defaults to 4.
        hidden_units: tuple of ints (at least one). Units of the MLP's hidden layers.
            Defaults to `(128, 128)`.
        direct_connection: bool. Add a linear map of the window to the head parameters (as
            NADE's direct connection): with a Gaussian mixture head the means can follow a
            linear autoregression (statsmodels' `AutoReg`) and the MLP learns what is not
            linear, so the model extrapolates a trend beyond the training range. Defaults to
            False.
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Example:

    >>> model = FiniteMemoryAR(input_shape=(8,), num_levels=4, order=2, hidden_units=(8,))
    >>> tuple(model.log_prob(np.zeros((2, 8), "int32")).shape)
    (2,)
    >>> tuple(model.sample(2, num_steps=12, seed=0).shape)
    (2, 12)

    Reference:
        Bengio et al., "A Neural Probabilistic Language Model", JMLR 2003 (an MLP on the last
        n - 1 symbols); Bishop, "Pattern Recognition and Machine Learning", 2006, section 13.1
        (Markov models of order M).
    """

    _state_key = "window"
    _projects_channels = True

    def __init__(
        self,
        input_shape,
        distribution="categorical",
        num_levels=None,
        num_components=None,
        order=4,
        hidden_units=(128, 128),
        direct_connection=False,
        **kwargs,
    ):
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        check_int(order, "order", 1)
        if (
            not isinstance(hidden_units, (tuple, list))
            or not hidden_units
            or any(isinstance(u, bool) or not isinstance(u, numbers.Integral) or u < 1 for u in hidden_units)
        ):
            raise ValueError(
                f"`hidden_units` must be a non-empty tuple of positive ints. Received: hidden_units={hidden_units!r}"
            )
        hidden_units = tuple(int(u) for u in hidden_units)

        # === Layers ===
        self.hidden_layers = [
            keras.layers.Dense(u, activation="relu", name=f"hidden{i}") for i, u in enumerate(hidden_units)
        ]
        self.channel_projection = (
            keras.layers.Dense(self.num_channels * hidden_units[-1], name="channel_projection")
            if self.num_channels > 1
            else None
        )
        self.output_layer = keras.layers.Dense(self.head.num_params, name="output")
        if not isinstance(direct_connection, bool):
            raise ValueError(f"`direct_connection` must be a bool. Received: direct_connection={direct_connection!r}")
        self.direct = (  # the head parameters of every channel, linear in the window
            keras.layers.Dense(self.num_channels * self.head.num_params, name="direct_connection")
            if direct_connection
            else None
        )

        # === Config ===
        self.order = order
        self.hidden_units = hidden_units
        self.direct_connection = direct_connection
        self._hidden_width = hidden_units[-1]  # the last hidden layer
        self.build()

    # ------------------------------------------------------------------ the network
    def compute_params(self, x, condition=None, training=False):
        features = self._features(x)  # [b, T, C, f]
        windows = self._windows(features)
        params = self._output(self._mlp(windows, condition), features)
        if self.direct is None:
            return params
        return params + ops.reshape(self.direct(windows), ops.shape(params))

    def step(self, cache, x_prev, index):
        """`SequenceModel.step`, plus the direct connection's term from the window of the step."""
        params, cache = super().step(cache, x_prev, index)
        if self.direct is None:
            return params, cache
        direct = ops.reshape(self.direct(cache["window"]), (-1, self.num_channels, self.head.num_params))
        return params + ops.take(direct, ops.mod(ops.convert_to_tensor(index, "int32"), self.num_channels), axis=1), cache

    def _windows(self, features):
        """`[b, T, C, f]` -> the windows `[b, T, order * C * f]`: position t holds steps t-1 .. t-order."""
        length = features.shape[1]
        padded = ops.pad(self._flat(features), [[0, 0], [self.order, 0], [0, 0]])
        return ops.concatenate([padded[:, self.order - s : self.order - s + length] for s in range(1, self.order + 1)],
                               axis=-1)

    def _mlp(self, window, condition):
        """The hidden layers on a window `[..., order * C * f]` (and the condition `[b, condition_size]`)."""
        h = window
        if condition is not None:
            c = ops.cast(condition, "float32")
            if len(window.shape) == 3:
                c = ops.broadcast_to(ops.expand_dims(c, 1), (ops.shape(window)[0], window.shape[1], c.shape[-1]))
            h = ops.concatenate([h, c], axis=-1)
        for layer in self.hidden_layers:
            h = layer(h)
        return h

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        """A zero window of the last `order` steps' features, the condition and, with several
        channels, the current step's values and last hidden layer (`num_steps`: any; the cache does not grow)."""
        width = self.order * self.num_channels * self.input_depth
        cache = {"window": ops.zeros((batch_size, width), "float32")}
        if condition is not None:
            cache["condition"] = condition
        return {**cache, **self._frame_cache(batch_size)}

    def fill_cache(self, cache, x, num_known):
        """The window (and hidden layer) of the last time step the steps before `num_known` took,
        from one teacher-forced pass."""
        done = self._steps_done(num_known)
        started = ops.cast(done > 0, "float32")
        window = ops.take(self._windows(self._features(x)), ops.maximum(done - 1, 0), axis=1) * started
        return self._fill_frame({**cache, "window": window}, x, num_known,
                                lambda last: self._mlp(window, cache.get("condition")))

    def _advance(self, cache, inputs, t):
        """The window of time step t, step t - 1 in front and the oldest step dropped: `(the last
        hidden layer, the window)`."""
        window = ops.concatenate([inputs, cache["window"][:, : -self.num_channels * self.input_depth]], axis=-1)
        return self._mlp(window, cache.get("condition")), window

    def get_config(self):
        config = super().get_config()
        config.update(
            {"order": self.order, "hidden_units": self.hidden_units, "direct_connection": self.direct_connection}
        )
        return config
