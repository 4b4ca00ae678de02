"""CausalDilatedConv1D: `Conv1D(padding="causal")` with an incremental step over a ring buffer."""

import keras
from keras import ops

from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class CausalDilatedConv1D(keras.layers.Conv1D):
    """A causal dilated 1-D convolution that can also run one time step at a time.

    The full pass is Keras' `Conv1D(padding="causal")`: output t reads inputs
    t - (kernel_size - 1) * dilation_rate, ..., t - dilation_rate, t, never a later one.
    For generation the layer steps through a sequence: `init_cache(batch_size)` gives a
    ring buffer of the last `buffer_size = (kernel_size - 1) * dilation_rate + 1` inputs
    and the position of the next one, and `step(x_t, cache)` writes `x_t`, reads the
    `kernel_size` taps from the buffer and returns the output at t with one matmul, so a
    step costs O(kernel_size * channels * filters) whatever the dilation. `fill_cache`
    absorbs a known prefix from a full sequence at once. Stepping through a sequence
    gives the outputs of the full pass.

    Args:
        filters: int. Output channels.
        kernel_size: int >= 1. Taps of the kernel.
        dilation_rate: int >= 1. Spacing of the taps. Defaults to 1.
        **kwargs: the other arguments of `keras.layers.Conv1D` (`activation`, `use_bias`,
            initializers, regularizers, `name`, ...). `padding` can only be `"causal"`,
            `strides` and `groups` only 1, `data_format` only `"channels_last"`.

    Call arguments:
        inputs: `[batch, steps, channels]`.

    Example:

    >>> conv = CausalDilatedConv1D(4, kernel_size=2, dilation_rate=2)
    >>> x = keras.random.normal((3, 5, 2), seed=0)
    >>> y = conv(x)
    >>> cache = conv.init_cache(3)
    >>> y0, cache = conv.step(x[:, 0], cache)
    >>> to_np = keras.ops.convert_to_numpy
    >>> bool(np.allclose(to_np(y0), to_np(y[:, 0]), atol=1e-6)), conv.buffer_size
    (True, 3)

    Reference:
        van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016;
        Paine et al., "Fast Wavenet Generation Algorithm", 2016.
    """

    def __init__(self, filters, kernel_size, dilation_rate=1, **kwargs):
        for value, name in ((kernel_size, "kernel_size"), (dilation_rate, "dilation_rate")):
            if isinstance(value, (tuple, list)) and len(value) == 1:
                value = value[0]
            check_int(value, name, 1)
        fixed = {"padding": "causal", "strides": 1, "groups": 1, "data_format": "channels_last"}
        for name, allowed in fixed.items():
            value = kwargs.pop(name, allowed)
            if (tuple(value) if isinstance(value, (tuple, list)) else (value,)) != (allowed,):
                raise ValueError(
                    f"{type(self).__name__} is causal and steps one input at a time: `{name}` must be "
                    f"{allowed!r}. Received: {name}={value!r}"
                )
        super().__init__(filters, kernel_size, dilation_rate=dilation_rate, **fixed, **kwargs)

    @property
    def buffer_size(self):
        """How many past inputs a step needs, the current one included: (k - 1) * d + 1."""
        return (self.kernel_size[0] - 1) * self.dilation_rate[0] + 1

    def init_cache(self, batch_size, channels=None):
        """Zero ring buffer `[batch, buffer_size, channels]` and position 0 (zeros before the start
        are what the causal padding gives). `channels` defaults to the built input channels."""
        if channels is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__} `{self.name}` is not built: pass `channels` to `init_cache` or call "
                    "the layer once. Received: channels=None"
                )
            channels = self.kernel.shape[1]
        return {
            "buffer": ops.zeros((batch_size, self.buffer_size, channels), "float32"),
            "position": ops.zeros((), "int32"),
        }

    def fill_cache(self, inputs, num_steps):
        """The cache after stepping through the first `num_steps` positions of `inputs`
        `[batch, steps, channels]` (`num_steps` may be a tensor, 0..steps)."""
        size = self.buffer_size
        num_steps = ops.convert_to_tensor(num_steps, "int32")
        padded = ops.pad(ops.cast(inputs, "float32"), [[0, 0], [size, 0], [0, 0]])  # padded[t + size] = x_t
        # slot j of the ring holds the input t in [num_steps - size, num_steps) with t = j (mod size)
        slots = ops.arange(size, dtype="int32")
        rows = num_steps + ops.mod(slots - num_steps, size)  # mod >= 0 on every backend
        return {"buffer": ops.take(padded, rows, axis=1), "position": num_steps}

    def step(self, x_t, cache):
        """The output at the next position: `x_t` `[batch, channels]` -> `(y_t [batch, filters], cache)`."""
        size, (k,), (d,) = self.buffer_size, self.kernel_size, self.dilation_rate
        position = cache["position"]
        buffer = ops.slice_update(
            cache["buffer"], [0, ops.mod(position, size), 0], ops.expand_dims(ops.cast(x_t, "float32"), 1)
        )
        # tap j reads the input at t - (k - 1 - j) * d
        taps = ops.mod(position + size - ops.convert_to_tensor([(k - 1 - j) * d for j in range(k)], "int32"), size)
        window = ops.take(buffer, taps, axis=1)
        kernel = ops.reshape(self.kernel, (-1, self.filters))
        y = ops.matmul(ops.reshape(window, (-1, ops.shape(kernel)[0])), kernel)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y), {"buffer": buffer, "position": position + 1}
