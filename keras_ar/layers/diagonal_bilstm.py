"""DiagonalBiLSTM: PixelRNN's Diagonal BiLSTM, two diagonal LSTMs that together see the whole past."""

import functools

import keras
from keras import ops

from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.layers.row_lstm import lstm_update


@keras.saving.register_keras_serializable(package="keras_ar")
class DiagonalBiLSTM(keras.layers.Layer):
    """Diagonal BiLSTM: LSTMs along the diagonals of the image, left-to-right and right-to-left.

    One direction skews the image (row r shifted right by r), so that the pixels of a
    diagonal become a column, computes the gate pre-activations of every pixel with a 1x1
    masked convolution (mask `"A"` leaves out the pixel itself, `"B"` keeps it; with
    `color_channels=3` the centre tap keeps R -> G -> B), runs a `keras.ops.scan` over the
    columns of the skewed map with a 2x1 state-to-state convolution (the state of (r, c)
    comes from (r, c - 1) and (r - 1, c)), and unskews. Its state at (r, c) sees every
    pixel (r', c') with r' <= r and c' <= c. The other direction does the same on the
    horizontally mirrored image (it sees r' <= r, c' >= c, the current row to the right
    included), so its output is shifted down one row: it then sees rows above only. The two
    are summed: the state of (r, c) depends on every earlier pixel in raster order (no blind
    spot) and on no later one. The mirrored direction's input convolution needs no mask:
    everything it feeds is at least a row above.

    With `color_channels=3` the gates and the hidden units are split into three contiguous
    colour groups like the channels of `MaskedConv2D` (`units` a multiple of 3).

    `init_cache` / `fill_cache` / `step` compute one pixel at a time in raster order, what a
    cached sampler needs: the left-to-right state of (r, c) from the buffered states of
    (r, c - 1) and (r - 1, c); the mirrored direction, whose state at (r - 1, c) depends on
    the whole row r - 1, runs over that row once, at the first pixel of row r.

    Args:
        units: int. Hidden units of each direction (a multiple of 3 with `color_channels=3`).
        mask_type: `"A"` or `"B"`, of the left-to-right input-to-state convolution.
            Defaults to `"B"`. With `"A"` the 1x1 convolution sees no pixel at all in one
            colour (only the earlier colours of the pixel with three), so that direction
            sees nothing of the image: use `"B"` after a mask-A convolution, as PixelRNN does.
        color_channels: 1 or 3. Defaults to 1.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        inputs: float tensor `[batch, height, width, channels]` (channels a multiple of 3
            with `color_channels=3`).
        bias: optional tensor broadcastable to `[batch, height, width, 4 * units]`, added to
            the gate pre-activations of both directions (a condition, or a per-position bias).

    Returns:
        The summed hidden states `[batch, height, width, units]`.

    Example:

    >>> layer = DiagonalBiLSTM(6, mask_type="B")
    >>> tuple(layer(keras.ops.ones((2, 4, 5, 3))).shape)
    (2, 4, 5, 6)

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016, section 3.2.
    """

    def __init__(self, units, mask_type="B", color_channels=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive int. Received: units={units!r}")
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
        self.mask_type = mask_type
        self.color_channels = color_channels
        policy = self.dtype_policy
        self.input_to_state = MaskedConv2D(
            4 * units, 1, mask_type=mask_type, color_channels=color_channels, dtype=policy, name="input_to_state"
        )
        # 1x1, mask B, one group: unmasked.
        self.reverse_input_to_state = MaskedConv2D(
            4 * units, 1, mask_type="B", dtype=policy, name="reverse_input_to_state"
        )

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.reverse_input_to_state.build(input_shape)
        shape = (2, self.units, 4 * self.units)  # taps (r - 1, r) of the previous skewed column
        self.state_kernel = self.add_weight(name="state_kernel", shape=shape, initializer="glorot_uniform")
        self.reverse_state_kernel = self.add_weight(
            name="reverse_state_kernel", shape=shape, initializer="glorot_uniform"
        )
        self.built = True

    def call(self, inputs, bias=None):
        return self._directions(inputs, bias)["outputs"]

    def _directions(self, inputs, bias=None):
        """The summed output and every state a cache needs, all `[b, H, W, ...]` in image order."""
        pre = self.input_to_state(inputs)
        reverse_pre = self.reverse_input_to_state(inputs)  # 1x1: mirroring after it is mirroring before
        if bias is not None:
            pre, reverse_pre = ops.add(pre, bias), ops.add(reverse_pre, bias)  # NumPy `bias`: ops.add on torch
        h, c = self._diagonal(pre, self.state_kernel)
        reverse_h, _ = self._diagonal(ops.flip(reverse_pre, axis=2), self.reverse_state_kernel)
        reverse_h = ops.flip(reverse_h, axis=2)
        below = ops.pad(reverse_h[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]])  # one row down: rows above only
        return {"outputs": h + below, "h": h, "c": c, "reverse_pre": reverse_pre, "reverse_h": reverse_h}

    def _diagonal(self, pre, kernel):
        """The diagonal LSTM's hidden and cell states `[b, H, W, units]` from pre-activations `[b, H, W, 4u]`."""
        height, batch = ops.shape(pre)[1], ops.shape(pre)[0]
        zeros = ops.zeros((batch, height, self.units), pre.dtype)
        body = _column_body(self.units, self.color_channels)
        # zero pre-activations left of the image keep the states there at exactly zero
        _, (h, c, _) = ops.scan(body, (zeros, zeros, ops.convert_to_tensor(kernel)), ops.moveaxis(skew(pre), 2, 0))
        width = ops.shape(pre)[2]
        return unskew(ops.moveaxis(h, 0, 2), width), unskew(ops.moveaxis(c, 0, 2), width)

    # ------------------------------------------------------------------ one pixel at a time
    def init_cache(self, batch_size, width, channels):
        """Zero buffers for a `[batch_size, H, width, channels]` input; rows by parity (row r in slot r % 2).

        `"h"`: left-to-right hidden states of two rows `[b, 2, width + 1, units]` (column c at
        c + 1; column -1 stays zero); `"c"`: its cell states along the current row
        `[b, width + 1, units]`; `"reverse_pre"`: the mirrored direction's pre-activations of
        two rows `[b, 2, width, 4 * units]`; `"reverse_h"`: its hidden states of two rows
        `[b, 2, width, units]`.
        """
        u = self.units
        return {
            "h": ops.zeros((batch_size, 2, width + 1, u)),
            "c": ops.zeros((batch_size, width + 1, u)),
            "reverse_pre": ops.zeros((batch_size, 2, width, 4 * u)),
            "reverse_h": ops.zeros((batch_size, 2, width, u)),
        }

    def fill_cache(self, inputs, row, bias=None):
        """The teacher-forced pass, and the cache for stepping on from the start of `row` or later.

        Args:
            inputs: float tensor `[b, H, W, channels]`, right at every position before the
                next step's pixel.
            row: int32 scalar tensor, the row of the next step's pixel.
            bias: as in `call`.

        Returns:
            `(outputs, cache)`: the outputs `[b, H, W, units]` of `call`, and the cache.
        """
        states = self._directions(inputs, bias)
        row = ops.convert_to_tensor(row, "int32")

        def rows(values, last, pad_columns=0):  # rows `last - 1` and `last` by parity; rows < 0 are zeros
            padded = ops.pad(values, [[0, 0], [2, 0], [pad_columns, 0], [0, 0]])
            prev, cur = ops.take(padded, last + 1, axis=1), ops.take(padded, last + 2, axis=1)
            even = ops.stack([cur, prev], axis=1)  # `last` even: it goes to slot 0
            return ops.where((last + 2) % 2 == 0, even, ops.flip(even, axis=1))

        cache = {
            "h": rows(states["h"], row, pad_columns=1),
            "c": ops.pad(ops.take(states["c"], row, axis=1), [[0, 0], [1, 0], [0, 0]]),
            "reverse_pre": rows(states["reverse_pre"], row),
            "reverse_h": rows(states["reverse_h"], row - 1),
        }
        return states["outputs"], cache

    def step(self, x_t, cache, row, col, bias=None):
        """The output at pixel `(row, col)` from its input `x_t` `[b, channels]` and the cache.

        Pixels must come in raster order; a pixel may be stepped again (with more of its
        colours known), which overwrites its state. At the first pixel of a row, the mirrored
        direction runs over the whole previous row (a scan of `width` steps); every other step
        is O(units * (units + channels)). `bias`: broadcastable to `[b, 4 * units]`.

        Returns:
            `(outputs, cache)` with `outputs` of shape `[b, units]`.
        """
        u = self.units
        batch = ops.shape(x_t)[0]
        zero = ops.zeros((), "int32")
        row, col = ops.convert_to_tensor(row, "int32"), ops.convert_to_tensor(col, "int32")
        slot, prev_slot = row % 2, (row + 1) % 2
        pre, reverse_pre = self.input_to_state.pixel_output(x_t), self.reverse_input_to_state.pixel_output(x_t)
        if bias is not None:
            pre, reverse_pre = ops.add(pre, bias), ops.add(reverse_pre, bias)  # NumPy `bias`: ops.add on torch
        update = ops.reshape(reverse_pre, (batch, 1, 1, 4 * u))
        reverse_pre = ops.slice_update(cache["reverse_pre"], [zero, slot, col, zero], update)
        # at a row's first pixel, the mirrored direction runs over the (complete) row above
        reverse_h = ops.cond(
            ops.logical_and(col == 0, row > 0),
            lambda: self._reverse_row(reverse_pre, cache["reverse_h"], row - 1),
            lambda: cache["reverse_h"],
        )

        def at(buffer, start, width):
            return ops.reshape(ops.slice(buffer, start, [batch] + [1] * (len(start) - 2) + [width]), (batch, width))

        above = at(cache["h"], [zero, prev_slot, col + 1, zero], u)
        left = at(cache["h"], [zero, slot, col, zero], u)
        state = ops.matmul(ops.concatenate([above, left], axis=-1), ops.reshape(self.state_kernel, (2 * u, 4 * u)))
        h_t, c_t = lstm_update(pre + state, at(cache["c"], [zero, col, zero], u), u, self.color_channels)
        h = ops.slice_update(cache["h"], [zero, slot, col + 1, zero], ops.reshape(h_t, (batch, 1, 1, u)))
        c = ops.slice_update(cache["c"], [zero, col + 1, zero], ops.reshape(c_t, (batch, 1, u)))
        outputs = h_t + at(reverse_h, [zero, prev_slot, col, zero], u)  # the mirrored state of the pixel above
        return outputs, {"h": h, "c": c, "reverse_pre": reverse_pre, "reverse_h": reverse_h}

    def _reverse_row(self, reverse_pre, reverse_h, row):
        """The mirrored direction's hidden states of `row` (right to left), written into its slot."""
        u = self.units
        pre = ops.take(reverse_pre, row % 2, axis=1)  # [b, W, 4u]
        above = ops.take(reverse_h, (row + 1) % 2, axis=1)  # row - 1: [b, W, u]
        zeros = ops.zeros_like(above[:, 0])
        body = _reverse_body(u, self.color_channels)
        xs = (ops.flip(ops.moveaxis(pre, 1, 0), axis=0), ops.flip(ops.moveaxis(above, 1, 0), axis=0))
        _, (h, _, _) = ops.scan(body, (zeros, zeros, ops.convert_to_tensor(self.reverse_state_kernel)), xs)
        h = ops.moveaxis(ops.flip(h, axis=0), 0, 1)  # [b, W, u], image order
        zero = ops.zeros((), "int32")
        return ops.slice_update(reverse_h, [zero, row % 2, zero, zero], ops.expand_dims(h, 1))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "mask_type": self.mask_type, "color_channels": self.color_channels})
        return config


@functools.cache
def _column_body(units, color_channels):
    """The scan body of one skewed column: the states of a whole column `[b, H, units]` in parallel.

    A function of its arguments only (the state kernel rides in the carry), made once per
    configuration: JAX then reuses its trace and compilation between eager calls. Its outputs
    have the carry's structure, as TensorFlow's `scan` needs.
    """

    def body(carry, pre_column):
        h, c, kernel = carry
        above = ops.pad(h[:, :-1], [[0, 0], [1, 0], [0, 0]])  # the state of row r - 1 in the previous column
        state = ops.matmul(ops.concatenate([above, h], axis=-1), ops.reshape(kernel, (2 * units, 4 * units)))
        h, c = lstm_update(pre_column + state, c, units, color_channels)
        return (h, c, kernel), (h, c, kernel)

    return body


@functools.cache
def _reverse_body(units, color_channels):
    """The mirrored direction along one row, right to left, a pixel at a time (for `step`)."""

    def body(carry, inputs):
        h, c, kernel = carry
        pre, above = inputs
        state = ops.matmul(ops.concatenate([above, h], axis=-1), ops.reshape(kernel, (2 * units, 4 * units)))
        h, c = lstm_update(pre + state, c, units, color_channels)
        return (h, c, kernel), (h, c, kernel)

    return body



def skew(x):
    """`[b, H, W, D]` -> `[b, H, W + H - 1, D]`, row r shifted right by r, zeros elsewhere."""
    _, height, width, depth = ops.shape(x)
    padded = ops.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]])  # rows of W + H
    flat = ops.reshape(padded, (-1, height * (width + height), depth))[:, : height * (width + height - 1)]
    return ops.reshape(flat, (-1, height, width + height - 1, depth))  # row r starts r places later


def unskew(x, width):
    """The inverse of `skew`: `[b, H, width + H - 1, D]` -> `[b, H, width, D]`."""
    _, height, skewed, depth = ops.shape(x)
    flat = ops.pad(ops.reshape(x, (-1, height * skewed, depth)), [[0, 0], [0, height], [0, 0]])
    return ops.reshape(flat, (-1, height, width + height, depth))[:, :, :width]
