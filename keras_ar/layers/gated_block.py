"""GatedBlock: one vertical + horizontal step of the Gated PixelCNN, with no blind spot."""

import numbers

import keras
from keras import ops

from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.utils.checks import check_int as _check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class GatedBlock(keras.layers.Layer):
    """One layer of the Gated PixelCNN: a vertical and a horizontal stack with gated units.

    The vertical stack is a `(k // 2 + 1) x k` convolution over the rows up to and
    including the current one (the input padded on top, left and right); its output at
    row r depends on rows <= r only and is passed on to the next block's vertical stack.
    The horizontal stack is a `1 x k` `MaskedConv2D` over the current row (so it reads the
    `k // 2 + 1` taps up to the pixel; mask `"A"` drops the pixel itself, `"B"` keeps it).
    The two are joined by a 1x1 convolution of the vertical pre-activations whose output
    is shifted down one row before it is added to the horizontal pre-activations: the
    horizontal stack sees the rows strictly above through it and the row to the left
    through its own kernel, which together cover every earlier pixel within reach (no
    blind spot).

    Each stack computes its filter and gate pre-activations in ONE convolution of
    `2 * filters` outputs, adds the conditioning term, and applies the gated unit
    `tanh(W_f * x) * sigmoid(W_g * x)`. The horizontal stack then goes through a 1x1
    convolution to `filters` channels, added to its input with mask `"B"` (a residual
    connection; the first block, mask `"A"`, has none), and through a second 1x1
    convolution to `skip_filters` channels, the skip output.

    Conditioning (Conditional PixelCNN): `condition`, a vector per example `[b, d]` (a
    one-hot class label or any vector h), adds `V^T h` to both stacks, broadcast over the
    image; `condition_map`, a feature map `[b, H, W, c]` at the image size, adds its 1x1
    convolution. Both are added before the non-linearities.

    With `color_channels=3` (RGB with a per-channel head) the horizontal stack's channels
    are three contiguous R, G, B groups, as in `MaskedConv2D`: its centre tap and its 1x1
    convolutions follow R -> G -> B, and the gate pairs filter and gate units of the same
    colour. The vertical stack only reaches the horizontal stack through rows above, so
    it sees every channel.

    For incremental generation the two stacks can be run apart: `vertical_stack` on the
    padded rows up to one row (once per row) and `horizontal_pixel` on the window of the
    current row that ends at one pixel.

    Args:
        filters: int. Channels of both stacks (a multiple of 3 with `color_channels=3`).
        kernel_size: odd int. The vertical kernel is `(kernel_size // 2 + 1, kernel_size)`,
            the horizontal one `1 x kernel_size` with its right half masked. Defaults to 3.
        mask_type: `"A"` (the first block: the pixel does not see itself, no residual) or
            `"B"` (later blocks: the horizontal input must have `filters` channels).
            Defaults to `"B"`.
        color_channels: 1 or 3. Defaults to 1.
        skip_filters: int or None. Channels of the skip output; None for `filters`.
        dropout: float in [0, 1). Dropout on the gated horizontal units while training.
        horizontal_output: bool. Compute the horizontal output (the 1x1 and the residual).
            The last block of a model, of which only the skip output is used, sets False
            and returns None in its place. Defaults to True.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        inputs: a tuple `(vertical, horizontal)` of `[b, H, W, C_v]` and `[b, H, W, C_h]`
            tensors (the image twice for the first block).
        condition: optional `[b, d]` vector per example.
        condition_map: optional `[b, H, W, c]` feature map.
        training: bool.

    Returns:
        A tuple `(vertical, horizontal, skip)`: `[b, H, W, filters]` twice (horizontal None
        with `horizontal_output=False`) and `[b, H, W, skip_filters]`.

    Example:

    >>> block = GatedBlock(6, kernel_size=3, mask_type="A")
    >>> x = keras.ops.ones((2, 5, 5, 1))
    >>> v, h, skip = block((x, x))
    >>> tuple(v.shape), tuple(h.shape), tuple(skip.shape)
    ((2, 5, 5, 6), (2, 5, 5, 6), (2, 5, 5, 6))

    Reference:
        van den Oord et al., "Conditional Image Generation with PixelCNN Decoders",
        NeurIPS 2016.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        mask_type="B",
        color_channels=1,
        skip_filters=None,
        dropout=0.0,
        horizontal_output=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_int(filters, "filters", 1)
        if _check_int(kernel_size, "kernel_size", 1) % 2 == 0:
            raise ValueError(f"`kernel_size` must be an odd int. Received: kernel_size={kernel_size}")
        if mask_type not in ("A", "B"):
            raise ValueError(f"`mask_type` must be 'A' or 'B'. Received: mask_type={mask_type!r}")
        if color_channels not in (1, 3):
            raise ValueError(f"`color_channels` must be 1 or 3. Received: color_channels={color_channels!r}")
        if skip_filters is not None:
            _check_int(skip_filters, "skip_filters", 1)
        if color_channels == 3:
            for value, name in ((filters, "filters"), (skip_filters, "skip_filters")):
                if value is not None and value % 3:
                    raise ValueError(
                        f"With color_channels=3, `{name}` must be a multiple of 3 (one group per colour). "
                        f"Received: {name}={value}"
                    )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout!r}")
        if not isinstance(horizontal_output, bool):
            raise ValueError(f"`horizontal_output` must be a bool. Received: horizontal_output={horizontal_output!r}")

        # === Layers ===
        width, size = 2 * filters, (kernel_size // 2 + 1, kernel_size)
        skip = filters if skip_filters is None else skip_filters
        self.vertical_conv = keras.layers.Conv2D(width, size, padding="valid", name="vertical_conv")
        self.link_conv = keras.layers.Conv2D(width, 1, use_bias=False, name="link_conv")
        self.horizontal_conv = MaskedConv2D(
            width, (1, kernel_size), mask_type=mask_type, color_channels=color_channels, name="horizontal_conv"
        )
        self.output_conv = (
            MaskedConv2D(filters, 1, mask_type="B", color_channels=color_channels, name="output_conv")
            if horizontal_output
            else None
        )
        self.skip_conv = MaskedConv2D(skip, 1, mask_type="B", color_channels=color_channels, name="skip_conv")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout") if dropout > 0 else None

        # === Config ===
        self.filters = filters
        self.kernel_size = kernel_size
        self.mask_type = mask_type
        self.color_channels = color_channels
        self.skip_filters = skip_filters
        self.dropout = dropout
        self.horizontal_output = horizontal_output
        self.residual = mask_type == "B"

    def build(self, inputs_shape, condition_shape=None, condition_map_shape=None):
        v_shape, h_shape = (tuple(s) for s in inputs_shape)
        if self.residual and h_shape[-1] != self.filters:
            raise ValueError(
                "A mask-B GatedBlock adds its horizontal input back (a residual connection): that input "
                f"must have `filters`={self.filters} channels. Received: {h_shape[-1]}"
            )
        width = 2 * self.filters
        self.vertical_conv.build((None, None, None, v_shape[-1]))  # it runs on padded input
        self.link_conv.build(v_shape[:-1] + (width,))
        self.horizontal_conv.build(h_shape)
        if self.output_conv is not None:
            self.output_conv.build(h_shape[:-1] + (self.filters,))
        self.skip_conv.build(h_shape[:-1] + (self.filters,))
        # one kernel per conditioning input, [vertical | horizontal] terms side by side
        self.condition_kernel = self.condition_map_kernel = None
        if condition_shape is not None:
            self.condition_kernel = self.add_weight(
                name="condition_kernel", shape=(condition_shape[-1], 2 * width), initializer="glorot_uniform"
            )
        if condition_map_shape is not None:
            self.condition_map_kernel = self.add_weight(
                name="condition_map_kernel", shape=(condition_map_shape[-1], 2 * width), initializer="glorot_uniform"
            )

    def call(self, inputs, condition=None, condition_map=None, training=False):
        v, h = inputs
        pad = self.kernel_size // 2
        v_out, link = self.vertical_stack(
            ops.pad(v, [[0, 0], [pad, 0], [pad, pad], [0, 0]]), condition, condition_map
        )
        link = ops.pad(link[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]])  # row r gets the rows above it only
        pre = self.horizontal_conv(h) + link
        bias = self._condition_term(condition, condition_map, 1, rank=4)
        if bias is not None:
            pre = pre + bias
        gated = self._gate(pre)
        if self.dropout_layer is not None:
            gated = self.dropout_layer(gated, training=training)
        out = None if self.output_conv is None else self.output_conv(gated)
        return v_out, self._add_residual(out, h), self.skip_conv(gated)

    # ------------------------------------------------------------------ the stacks one part at a time
    def vertical_stack(self, padded, condition=None, condition_map=None):
        """The vertical stack on input padded by `k // 2` rows on top and `k // 2` columns each side.

        Args:
            padded: `[b, R + k // 2, W + 2 * (k // 2), C_v]`, e.g. the `k // 2 + 1` padded rows
                that end at one row (R = 1), for incremental generation.
            condition: optional `[b, d]` vector.
            condition_map: optional `[b, R, W, c]` feature map of the R output rows.

        Returns:
            `(vertical, link)`: the gated output `[b, R, W, filters]` and the 1x1 link
            `[b, R, W, 2 * filters]`, not yet shifted: the link of row r feeds row r + 1.
        """
        pre = self.vertical_conv(padded)
        bias = self._condition_term(condition, condition_map, 0, rank=4)
        if bias is not None:
            pre = pre + bias
        return self._gate(pre), self.link_conv(pre)

    def horizontal_pixel(self, window, link, condition=None, condition_map=None):
        """The horizontal stack at one pixel (inference: no dropout).

        Args:
            window: `[b, k // 2 + 1, C_h]`, the horizontal input of the current row from
                `k // 2` pixels left of the pixel up to the pixel (zeros left of the image).
            link: `[b, 2 * filters]`, the link of the row above at the pixel's column.
            condition: optional `[b, d]` vector.
            condition_map: optional `[b, c]` feature map at the pixel.

        Returns:
            `(horizontal, skip)`: `[b, filters]` and `[b, skip_filters]` at the pixel.
        """
        taps = self.kernel_size // 2 + 1
        layer = self.horizontal_conv
        kernel = layer.kernel[0, :taps] * ops.cast(layer.mask[0, :taps], layer.kernel.dtype)
        channels = ops.shape(window)[-1]
        pre = ops.matmul(ops.reshape(window, (-1, taps * channels)), ops.reshape(kernel, (taps * channels, -1)))
        pre = pre + layer.bias + link
        bias = self._condition_term(condition, condition_map, 1, rank=2)
        if bias is not None:
            pre = pre + bias
        gated = self._gate(pre)
        out = None if self.output_conv is None else self.output_conv.pixel_output(gated)
        return self._add_residual(out, window[:, -1]), self.skip_conv.pixel_output(gated)

    def _add_residual(self, out, h):
        return out + h if out is not None and self.residual else out

    def _gate(self, pre):
        """tanh(filter) * sigmoid(gate); each colour group holds [filter | gate] of its units."""
        parts = ops.split(pre, 2 * self.color_channels, axis=-1)
        f = parts[0] if self.color_channels == 1 else ops.concatenate(parts[0::2], axis=-1)
        g = parts[1] if self.color_channels == 1 else ops.concatenate(parts[1::2], axis=-1)
        return ops.tanh(f) * ops.sigmoid(g)

    def _condition_term(self, condition, condition_map, stack, rank):
        """V^T h plus the 1x1 of the map, for the vertical (`stack=0`) or horizontal (1) stack."""
        width = 2 * self.filters
        total = None
        for value, kernel, name in (
            (condition, self.condition_kernel, "condition"),
            (condition_map, self.condition_map_kernel, "condition_map"),
        ):
            if value is None:
                continue
            if kernel is None:
                raise ValueError(
                    f"This GatedBlock was built without a `{name}`: call it with the same conditioning "
                    "inputs it was first called with."
                )
            term = ops.matmul(value, kernel[:, stack * width : (stack + 1) * width])
            if name == "condition":
                term = ops.reshape(term, (-1,) + (1,) * (rank - 2) + (width,))
            total = term if total is None else total + term
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "mask_type": self.mask_type,
                "color_channels": self.color_channels,
                "skip_filters": self.skip_filters,
                "dropout": self.dropout,
                "horizontal_output": self.horizontal_output,
            }
        )
        return config

