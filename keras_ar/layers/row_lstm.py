"""RowLSTM: PixelRNN's Row LSTM, an LSTM over the rows of an image that sees only the past."""

import functools

import keras
from keras import ops

from keras_ar.layers.masked_conv2d import MaskedConv2D


@keras.saving.register_keras_serializable(package="keras_ar")
class RowLSTM(keras.layers.Layer):
    """Row LSTM: an LSTM that runs down the image one row at a time, each row in parallel.

    The gates of pixel (r, c) come from two convolutions: input-to-state, a `1 x kernel_size`
    masked convolution of the input along row r (mask `"A"` leaves out the pixel itself,
    `"B"` keeps it; with `color_channels=3` its centre tap keeps R -> G -> B as
    `MaskedConv2D` does), and state-to-state, a convolution of width `kernel_size` over the
    hidden states of row r - 1 (columns c - k//2 .. c + k//2; the whole previous row is in
    the past, so it is unmasked). Then i, f, o = sigmoid, g = tanh,
    c_r = f * c_{r-1} + i * g and h_r = o * tanh(c_r). Rows are processed by a
    `keras.ops.scan`, so the layer compiles on every backend. The state of pixel (r, c)
    depends on the inputs of row r at columns <= c and of the rows above it within a
    triangle (the Row LSTM's receptive field, which has blind spots).

    With `color_channels=3` the gates and the hidden units are split into three contiguous
    colour groups (R, G, B) like the channels of `MaskedConv2D`: `units` must be a multiple
    of 3, and the output keeps the order for a next masked layer.

    `init_cache` / `fill_cache` / `step` compute one pixel at a time from buffered states
    (the previous row's hidden and cell states, the current row's inputs), in
    O(kernel_size * units * (units + channels)) per step: what a cached sampler needs.

    Args:
        units: int. Hidden units (a multiple of 3 with `color_channels=3`).
        kernel_size: odd int. Width of both convolutions along the row. Defaults to 3.
        mask_type: `"A"` or `"B"`, of the input-to-state convolution. Defaults to `"B"`.
        color_channels: 1 or 3. Defaults to 1.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        inputs: float tensor `[batch, height, width, channels]` (channels a multiple of 3
            with `color_channels=3`).
        bias: optional tensor broadcastable to `[batch, height, width, 4 * units]`, added to
            the gate pre-activations (a condition, or a per-position bias).

    Returns:
        The hidden states `[batch, height, width, units]`.

    Example:

    >>> layer = RowLSTM(6, kernel_size=3, mask_type="B")
    >>> tuple(layer(keras.ops.ones((2, 4, 5, 3))).shape)
    (2, 4, 5, 6)

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016, section 3.1.
    """

    def __init__(self, units, kernel_size=3, mask_type="B", color_channels=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive int. Received: units={units!r}")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be an odd positive int. Received: kernel_size={kernel_size!r}")
        if mask_type not in ("A", "B"):
            raise ValueError(f"`mask_type` must be 'A' or 'B'. Received: mask_type={mask_type!r}")
        if color_channels not in (1, 3):
            raise ValueError(f"`color_channels` must be 1 or 3. Received: color_channels={color_channels!r}")
        if color_channels == 3 and units % 3:
            raise ValueError(
                "With color_channels=3, `units` must be a multiple of 3 (one group per colour). "
                f"Received: units={units}"
            )
        self.units = units
        self.kernel_size = kernel_size
        self.mask_type = mask_type
        self.color_channels = color_channels
        self.input_to_state = MaskedConv2D(
            4 * units, (1, kernel_size), mask_type=mask_type, color_channels=color_channels,
            dtype=self.dtype_policy, name="input_to_state",
        )

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.state_kernel = self.add_weight(
            name="state_kernel", shape=(self.kernel_size, self.units, 4 * self.units), initializer="glorot_uniform"
        )
        self.built = True

    def call(self, inputs, bias=None):
        return self.sequences(inputs, bias)[0]

    def sequences(self, inputs, bias=None):
        """Hidden and cell states of every pixel, `([b, H, W, units], [b, H, W, units])`."""
        pre = self.input_to_state(inputs)
        if bias is not None:
            pre = ops.add(pre, bias)  # `bias` may be a NumPy array: tensor + ndarray fails on torch
        batch, width = ops.shape(pre)[0], ops.shape(pre)[2]
        zeros = ops.zeros((batch, width, self.units), pre.dtype)
        kernel = ops.convert_to_tensor(self.state_kernel)
        body = _row_body(self.units, self.kernel_size, self.color_channels)
        _, (h, c, _) = ops.scan(body, (zeros, zeros, kernel), ops.moveaxis(pre, 1, 0))
        return ops.moveaxis(h, 0, 1), ops.moveaxis(c, 0, 1)

    def _update(self, pre, c):
        return lstm_update(pre, c, self.units, self.color_channels)

    # ------------------------------------------------------------------ one pixel at a time
    def init_cache(self, batch_size, width, channels):
        """Zero buffers for a `[batch_size, H, width, channels]` input.

        `"inputs"`: the current row's inputs `[b, width + k//2, channels]` (left-padded);
        `"h"`, `"c"`: hidden and cell states of two rows `[b, 2, width (+ 2 * (k//2)), units]`,
        row r in slot (r + 1) % 2, so row -1 (zeros) starts in slot 0.
        """
        p, u = self.kernel_size // 2, self.units
        return {
            "inputs": ops.zeros((batch_size, width + p, channels)),
            "h": ops.zeros((batch_size, 2, width + 2 * p, u)),
            "c": ops.zeros((batch_size, 2, width, u)),
        }

    def fill_cache(self, inputs, row, bias=None):
        """The teacher-forced pass, and the cache for stepping on from the start of `row` or later.

        Args:
            inputs: float tensor `[b, H, W, channels]`, right at every position before the
                next step's pixel.
            row: int32 scalar tensor, the row of the next step's pixel.
            bias: as in `call`.

        Returns:
            `(outputs, cache)`: the hidden states `[b, H, W, units]` of `call`, and the cache.
        """
        h, c = self.sequences(inputs, bias)
        p = self.kernel_size // 2
        row = ops.convert_to_tensor(row, "int32")

        def ring(states):  # rows row - 1 and row in their slots
            padded = ops.pad(states, [[0, 0], [1, 0], [0, 0], [0, 0]])  # row -1 is zeros
            prev, cur = ops.take(padded, row, axis=1), ops.take(padded, row + 1, axis=1)
            even = ops.stack([prev, cur], axis=1)
            return ops.where(row % 2 == 0, even, ops.flip(even, axis=1))

        cache = {
            "inputs": ops.pad(ops.take(inputs, row, axis=1), [[0, 0], [p, 0], [0, 0]]),
            "h": ops.pad(ring(h), [[0, 0], [0, 0], [p, p], [0, 0]]),
            "c": ring(c),
        }
        return h, cache

    def step(self, x_t, cache, row, col, bias=None):
        """The hidden state of pixel `(row, col)` from its input `x_t` `[b, channels]` and the cache.

        Pixels must come in raster order; a pixel may be stepped again (with more of its
        colours known), which overwrites its state. `bias`: broadcastable to `[b, 4 * units]`.

        Returns:
            `(h_t, cache)` with `h_t` of shape `[b, units]`.
        """
        k, p, u = self.kernel_size, self.kernel_size // 2, self.units
        batch = ops.shape(x_t)[0]
        zero = ops.zeros((), "int32")
        prev_slot, slot = row % 2, (row + 1) % 2
        inputs = ops.slice_update(cache["inputs"], [zero, col + p, zero], ops.expand_dims(x_t, 1))
        conv = self.input_to_state
        window = ops.slice(inputs, [zero, col, zero], [batch, p + 1, ops.shape(inputs)[-1]])  # columns col-p..col
        kernel = conv.kernel[0, : p + 1] * ops.cast(conv.mask[0, : p + 1], conv.kernel.dtype)
        pre = ops.matmul(ops.reshape(window, (batch, -1)), ops.reshape(kernel, (-1, 4 * u))) + conv.bias
        if bias is not None:
            pre = ops.add(pre, bias)  # `bias` may be a NumPy array: tensor + ndarray fails on torch
        h_window = ops.slice(cache["h"], [zero, prev_slot, col, zero], [batch, 1, k, u])  # row - 1, col-p..col+p
        pre = pre + ops.matmul(ops.reshape(h_window, (batch, k * u)), ops.reshape(self.state_kernel, (k * u, 4 * u)))
        c_prev = ops.reshape(ops.slice(cache["c"], [zero, prev_slot, col, zero], [batch, 1, 1, u]), (batch, u))
        h_t, c_t = self._update(pre, c_prev)
        h = ops.slice_update(cache["h"], [zero, slot, col + p, zero], ops.reshape(h_t, (batch, 1, 1, u)))
        c = ops.slice_update(cache["c"], [zero, slot, col, zero], ops.reshape(c_t, (batch, 1, 1, u)))
        return h_t, {"inputs": inputs, "h": h, "c": c}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_size": self.kernel_size,
                "mask_type": self.mask_type,
                "color_channels": self.color_channels,
            }
        )
        return config


@functools.cache
def _row_body(units, kernel_size, color_channels):
    """The scan body of one row: the states of a whole row `[b, W, units]` in parallel.

    A function of its arguments only (the state kernel rides in the carry), made once per
    configuration: JAX then reuses its trace and compilation between eager calls. Its outputs
    have the carry's structure, as TensorFlow's `scan` needs.
    """
    p = kernel_size // 2

    def body(carry, pre_row):
        h, c, kernel = carry
        width = ops.shape(h)[1]
        padded = ops.pad(h, [[0, 0], [p, p], [0, 0]])
        windows = ops.concatenate([padded[:, j : j + width] for j in range(kernel_size)], axis=-1)  # [b, W, k * u]
        state = ops.matmul(windows, ops.reshape(kernel, (kernel_size * units, 4 * units)))
        h, c = lstm_update(pre_row + state, c, units, color_channels)
        return (h, c, kernel), (h, c, kernel)

    return body


def lstm_update(pre, c, units, color_channels=1):
    """One LSTM update from gate pre-activations `[..., 4 * units]` and the cell `[..., units]`.

    The pre-activations are laid out `[colour group, gate (i, f, o, g), units / groups]`, the
    contiguous colour groups of a masked convolution's output, so hidden unit j takes its
    gates from its own colour group. Returns `(h, c)`.
    """
    shape = ops.shape(c)
    gates = ops.reshape(pre, (-1, color_channels, 4, units // color_channels))

    def gate(j):
        return ops.reshape(gates[:, :, j], shape)

    c = ops.sigmoid(gate(1)) * c + ops.sigmoid(gate(0)) * ops.tanh(gate(3))
    return ops.sigmoid(gate(2)) * ops.tanh(c), c
