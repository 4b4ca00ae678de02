"""WaveNet: stacks of gated causal dilated convolutions over a sequence, with fast cached generation."""

import keras
import numpy as np
from keras import ops

from keras_ar.layers.causal_dilated_conv1d import CausalDilatedConv1D
from keras_ar.models._sequence import SequenceModel
from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import check_int
from keras_ar.utils.checks import concrete

_LOCAL = (None, "repeat", "transposed_conv")


@keras.saving.register_keras_serializable(package="keras_ar")
class WaveNet(SequenceModel):
    """WaveNet: gated residual layers of causal dilated convolutions, skip connections, a 1x1 head.

    The sequence `[batch, length]` (or `[batch, length, channels]`) becomes input features
    (one-hot levels for a categorical head, else the values, discrete levels mapped to
    [-1, 1]), shifted right by one step so that position t sees x_<t only (zeros at t = 0).
    A `kernel_size` causal convolution to `residual_channels` follows, then
    `num_stacks` x `num_layers_per_stack` residual layers with dilations 1, 2, ...,
    2^(num_layers_per_stack - 1) repeated per stack: a `CausalDilatedConv1D` to
    `2 * dilation_channels`, plus the condition's projection, a gated unit
    `tanh(filter) * sigmoid(gate)`, and one 1x1 to `residual_channels` (added to the layer's
    input) and `skip_channels` (summed over layers). The output network is
    ReLU -> 1x1 to `skip_channels` -> ReLU -> 1x1 to the head parameters. With several
    channels the time steps come in order and the channels of a step in turn: channel c
    also sees channels < c of its own step, through a masked term added before the last ReLU.

    Conditioning (the `condition` argument of every method):
    - global: `num_classes=K` (integer labels, e.g. a speaker id, one-hot) or a vector
      `condition_shape` (any rank, flattened): a learned `V^T h` added to the gated units'
      pre-activations of every layer, the same at every time step.
    - local (`local_conditioning="repeat"` or `"transposed_conv"`): `condition_shape=(frames,
      features)` is a feature sequence (log-mel frames, say) that covers the sequence,
      `length` a multiple of `frames`: `hop = length // frames` samples per frame. It is
      upsampled to the sample rate by repeating each frame `hop` times or by a learned
      `Conv1DTranspose(features, hop, strides=hop)` (sample t reads frame t // hop only),
      then a 1x1 per layer is added like the global term. To generate `num_steps` samples pass
      at least `ceil(num_steps / hop)` frames. A constant feature channel is a global
      condition, so a speaker id can ride along as extra (repeated) feature channels.

    Generation is cached (Paine et al.'s fast WaveNet): every convolution keeps a ring buffer
    of its last `(kernel_size - 1) * dilation + 1` inputs (`CausalDilatedConv1D.step`), so a
    step computes each layer at the new time step only: O(layers) per sample, not
    O(receptive field). `sample(n, num_steps=...)` generates any number of steps, more or
    fewer than `length` (the network is convolutional); cached and naive (one full pass per
    step, `use_cache=False`) draw the same samples for the same seed.

    Args:
        input_shape: tuple `(length,)` or `(length, channels)`.
        distribution: `"categorical"` (default; e.g. 256 mu-law codes), `"logistic_mixture"`
            (discretized, e.g. 65536 levels for 16-bit audio), `"gaussian_mixture"` (real
            values) or `"bernoulli"`.
        num_levels: int. Levels of a categorical or logistic mixture head. Defaults to 256.
        num_components: int. Components of a mixture head.
        residual_channels: int. Channels of the residual stream. Defaults to 64.
        dilation_channels: int. Channels of each gated unit. Defaults to 64.
        skip_channels: int. Channels of the skip connections and of the output network's
            hidden layer. Defaults to 128.
        kernel_size: int >= 2. Taps of every causal convolution. Defaults to 2.
        num_layers_per_stack: int. Layers of one stack, dilations 1 .. 2^(n-1). Defaults to 10.
        num_stacks: int. Stacks (repetitions of the dilations). Defaults to 2.
        local_conditioning: None (default), `"repeat"` or `"transposed_conv"`: how a feature
            sequence `condition_shape=(frames, features)` is upsampled (see above).
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Example:

    >>> model = WaveNet(input_shape=(8,), num_levels=4, residual_channels=4, dilation_channels=4,
    ...                 skip_channels=4, num_layers_per_stack=2, num_stacks=1)
    >>> model.receptive_field
    5
    >>> tuple(model.log_prob(np.zeros((2, 8), "int32")).shape)
    (2,)
    >>> tuple(model.sample(2, num_steps=12, seed=0).shape)
    (2, 12)

    Reference:
        van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016;
        Paine et al., "Fast Wavenet Generation Algorithm", 2016.
    """

    _state_key = "layers"
    _relu_before_output = True  # `_network` ends before the output network's last ReLU

    def __init__(
        self,
        input_shape,
        distribution="categorical",
        num_levels=None,
        num_components=None,
        residual_channels=64,
        dilation_channels=64,
        skip_channels=128,
        kernel_size=2,
        num_layers_per_stack=10,
        num_stacks=2,
        local_conditioning=None,
        **kwargs,
    ):
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        for value, name, low in (
            (residual_channels, "residual_channels", 1),
            (dilation_channels, "dilation_channels", 1),
            (skip_channels, "skip_channels", 1),
            (kernel_size, "kernel_size", 2),
            (num_layers_per_stack, "num_layers_per_stack", 1),
            (num_stacks, "num_stacks", 1),
        ):
            check_int(value, name, low)
        if local_conditioning not in _LOCAL:
            raise ValueError(
                f"`local_conditioning` must be one of {_LOCAL}. Received: local_conditioning={local_conditioning!r}"
            )
        length = self.event_shape[0]
        self.hop = None
        if local_conditioning is not None:
            frames = self.condition_shape[0] if self.condition_shape is not None else None
            if self.condition_shape is None or len(self.condition_shape) != 2 or length % frames:
                raise ValueError(
                    f"`local_conditioning={local_conditioning!r}` takes a feature sequence: pass "
                    f"`condition_shape=(frames, features)` with `length` ({length}) a multiple of `frames` "
                    f"(e.g. condition_shape=({max(1, length // 4)}, 8) ... ). Received: "
                    f"condition_shape={self.condition_shape}, num_classes={self.num_classes}"
                )
            self.hop = length // frames

        # === Layers ===
        self.dilations = [2**i for i in range(num_layers_per_stack)] * num_stacks
        num_layers = len(self.dilations)
        self.input_conv = CausalDilatedConv1D(residual_channels, kernel_size, name="input_conv")
        self.dilated_convs = [
            CausalDilatedConv1D(2 * dilation_channels, kernel_size, dilation_rate=d, name=f"dilated_conv{i}")
            for i, d in enumerate(self.dilations)
        ]
        self.res_skips = [  # the residual (not for the last layer) and skip 1x1s in one matmul
            keras.layers.Dense(skip_channels + (residual_channels if i + 1 < num_layers else 0), name=f"res_skip{i}")
            for i in range(num_layers)
        ]
        self.condition_projection = (
            keras.layers.Dense(num_layers * 2 * dilation_channels, use_bias=False, name="condition_projection")
            if self.condition_size
            else None
        )
        self.upsample = (
            keras.layers.Conv1DTranspose(
                self.condition_shape[1], self.hop, strides=self.hop, name="upsample"
            )
            if local_conditioning == "transposed_conv"
            else None
        )
        self.output_hidden = keras.layers.Dense(skip_channels, name="output_hidden")
        self.output_layer = keras.layers.Dense(self.head.num_params, name="output")

        # === Config ===
        self.residual_channels = residual_channels
        self.dilation_channels = dilation_channels
        self.skip_channels = skip_channels
        self.kernel_size = kernel_size
        self.num_layers_per_stack = num_layers_per_stack
        self.num_stacks = num_stacks
        self.local_conditioning = local_conditioning
        self._hidden_width = skip_channels  # the output network's hidden layer
        self.build()

    @property
    def receptive_field(self):
        """How many past time steps the conditional of x_t sees: (kernel_size - 1) * (1 + sum of
        dilations) + 1 (the input convolution and every dilated layer)."""
        return (self.kernel_size - 1) * (1 + sum(self.dilations)) + 1

    # ------------------------------------------------------------------ the network, written once
    def compute_params(self, x, condition=None, training=False):
        features = self._features(x)  # [b, T, C, f]
        bias = self._full_bias(self._condition_cache(condition), x.shape[1])
        hidden = self._network(self._shifted(features), lambda layer, h: layer(h), bias)
        return self._output(hidden, features)

    def _network(self, h, conv, bias):
        """Input conv, gated residual layers, summed skips -> the output network's hidden layer
        before its ReLU, `[..., skip_channels]`. `conv(layer, inputs)` runs a causal convolution
        on a sequence `[b, T, C]` or steps it on one time step `[b, C]`; `bias` is None or the
        projected condition `[..., layers * 2 * dilation_channels]`."""
        width, skip = 2 * self.dilation_channels, None
        h = conv(self.input_conv, h)
        for i, (dilated, res_skip) in enumerate(zip(self.dilated_convs, self.res_skips)):
            z = conv(dilated, h)
            if bias is not None:
                z = z + bias[..., i * width : (i + 1) * width]
            gated = ops.tanh(z[..., : self.dilation_channels]) * ops.sigmoid(z[..., self.dilation_channels :])
            out = res_skip(gated)
            s = out[..., : self.skip_channels]
            skip = s if skip is None else skip + s
            if i + 1 < len(self.res_skips):
                h = h + out[..., self.skip_channels :]
        return self.output_hidden(ops.relu(skip))

    # ------------------------------------------------------------------ conditions
    def _condition_cache(self, condition):
        """The condition as the cache keeps it: the projected global vector `[b, layers * 2D]`
        or the upsampled local features `[b, frames * hop, features]`."""
        if condition is None:
            return {}
        if self.hop is None:
            return {"condition_bias": self.condition_projection(condition)}
        frames = ops.reshape(condition, (ops.shape(condition)[0], -1, self.condition_shape[1]))
        if self.upsample is not None:
            return {"features": self.upsample(frames)}
        return {"features": ops.repeat(frames, self.hop, axis=1)}

    def _full_bias(self, cache, length):
        if "condition_bias" in cache:
            return ops.expand_dims(cache["condition_bias"], 1)
        if "features" in cache:
            return self.condition_projection(cache["features"][:, :length])
        return None

    def generation_condition(self, condition, num_samples, num_steps=None, capacity=None):
        """A local condition for `num_steps` samples may hold any number of frames >= ceil(num_steps / hop);
        the vector holds ceil(capacity / hop) of them (cut, or padded with zero frames)."""
        n = num_samples
        if self.hop is None or num_steps is None or condition is None:
            return super().generation_condition(condition, n)
        c = concrete(condition)
        frames, features = -(-num_steps // self.hop), self.condition_shape[1]
        if c is not None and c.ndim == 2:
            c = np.broadcast_to(c, (n,) + c.shape)
        shape = None if c is None else c.shape
        if c is None or c.ndim != 3 or c.shape[0] != n or c.shape[2] != features or c.shape[1] < frames:
            raise ValueError(
                f"To generate num_steps={num_steps} samples, `condition` must be a feature sequence of shape "
                f"({n}, >= {frames}, {features}): {self.hop} samples per frame. Received: condition.shape={shape}"
            )
        check_condition(c, None, c.shape[1:], n)  # finite numbers
        if capacity is not None:
            held = -(-capacity // self.hop)
            c = np.pad(c[:, :held], [(0, 0), (0, max(held - c.shape[1], 0)), (0, 0)])
        return self.scale_condition(ops.reshape(ops.convert_to_tensor(c, "float32"), (n, -1)))

    def local_condition_features(self, vector):
        """A local condition vector (`condition_vector`, frames flattened) upsampled to the sample
        rate: `[batch, frames * hop, features]`, what a step at time t reads row t of."""
        return self._condition_cache(vector)["features"]

    @property
    def local_condition_keys(self):
        return ("features", "feature_start") if self.hop is not None else ()

    def add_local_condition(self, cache, condition, num_samples, num_steps, start):
        """The upsampled frames of `generate`'s next `num_steps` steps, which start at time `start`."""
        if start % self.hop:
            raise ValueError(
                f"With a local condition, `generate` calls must start on a frame boundary ({self.hop} samples per "
                f"frame), so that each call's frames cover its steps: make every call but the last draw a multiple "
                f"of {self.hop} steps. Received: a call starting at step {start}"
            )
        vector = self.generation_condition(condition, num_samples, num_steps=num_steps)
        features = self.local_condition_features(vector)
        return {**cache, "features": features, "feature_start": ops.convert_to_tensor(start, "int32")}

    # ------------------------------------------------------------------ cached sampling
    def _convs(self):
        return [self.input_conv] + list(self.dilated_convs)

    def init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        """Zero ring buffers of every convolution's inputs, the condition (projected, or upsampled
        features) and, with several channels, the current step's values and hidden layer
        (`num_steps`: any; the ring buffers do not grow)."""
        cache = {"layers": {layer.name: layer.init_cache(batch_size) for layer in self._convs()}}
        return {**cache, **self._condition_cache(condition), **self._frame_cache(batch_size)}

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x`: every convolution's inputs into its ring buffer."""
        done = self._steps_done(num_known)
        inputs = {}

        def conv(layer, h):
            inputs[layer.name] = h
            return layer(h)

        hidden = self._network(self._shifted(self._features(x)), conv, self._full_bias(cache, x.shape[1]))
        cache = {**cache, "layers": {name: self._layer(name).fill_cache(h, done) for name, h in inputs.items()}}
        return self._fill_frame(cache, x, num_known, lambda last: ops.take(hidden, last, axis=1))

    def _layer(self, name):
        return {layer.name: layer for layer in self._convs()}[name]

    def _advance(self, cache, inputs, t):
        """Each layer at the new time step only: `(hidden, the ring buffers)`."""
        layers = dict(cache["layers"])

        def conv(layer, h):
            y, layers[layer.name] = layer.step(h, layers[layer.name])
            return y

        if "features" in cache:  # `generate` streams the frames: they start at time `feature_start`
            features_t = ops.take(cache["features"], t - cache.get("feature_start", 0), axis=1)
            bias = self.condition_projection(features_t)
        else:
            bias = cache.get("condition_bias")
        return self._network(inputs, conv, bias), layers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "residual_channels": self.residual_channels,
                "dilation_channels": self.dilation_channels,
                "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size,
                "num_layers_per_stack": self.num_layers_per_stack,
                "num_stacks": self.num_stacks,
                "local_conditioning": self.local_conditioning,
            }
        )
        return config
