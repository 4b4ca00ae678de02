"""GatedResnet: PixelCNN++'s gated residual block over shifted convolutions, with concat_elu."""

import numbers

import keras
from keras import ops

from keras_ar.layers.shifted_conv2d import DIRECTIONS
from keras_ar.layers.shifted_conv2d import ShiftedConv2D
from keras_ar.utils.checks import check_int


def concat_elu(x):
    """elu([x, -x]) along the channels: both signs survive, the channels double."""
    return ops.elu(ops.concatenate([x, -x], axis=-1))


@keras.saving.register_keras_serializable(package="keras_ar")
class GatedResnet(keras.layers.Layer):
    """`x + a * sigmoid(b)` with `[a | b]` from two shifted convolutions (PixelCNN++'s `gated_resnet`).

    concat_elu -> `ShiftedConv2D(filters)` (plus a 1x1 "nin" of concat_elu(`aux`) when an
    auxiliary input is given: the other stream, or the shortcut of the down pass) ->
    concat_elu -> dropout -> `ShiftedConv2D(2 * filters)` (initialised small, so the block
    starts near the identity) -> plus the conditioning terms -> `a * sigmoid(b)` -> plus `x`.
    Both convolutions shift the same way (`direction`), so the block sees what its input
    (and `aux`) saw and nothing later: it keeps a causal stream causal.

    Conditioning, added before the gate (Conditional PixelCNN's `V^T h`): `condition`, a
    vector per example `[b, d]` (a one-hot class label or any vector h), through a learned
    `[d, 2 * filters]` matrix, broadcast over the image; `condition_map`, a feature map
    `[b, H, W, c]` at the block's resolution, through a learned 1x1.

    Args:
        filters: int. Channels of the input and the output (a residual block).
        direction: `"down"` (the stream of the rows above) or `"down_right"` (the rows above
            and the pixels to the left). Defaults to `"down"`.
        kernel_size: tuple of 2 ints or None for `ShiftedConv2D`'s default of the direction.
        dropout: float in [0, 1). Dropout before the second convolution while training.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        inputs: `[b, H, W, filters]`.
        aux: optional `[b, H, W, c]` auxiliary input (at most as causal as `inputs`).
        condition: optional `[b, d]` vector.
        condition_map: optional `[b, H, W, c]` feature map.
        training: bool.

    Example:

    >>> block = GatedResnet(4, direction="down_right")
    >>> x = keras.ops.ones((2, 3, 5, 4))
    >>> tuple(block(x, aux=x, condition=keras.ops.ones((2, 10))).shape)
    (2, 3, 5, 4)

    Reference:
        [Salimans et al., 2017. PixelCNN++: Improving the PixelCNN with discretized
        logistic mixture likelihood and other modifications](https://arxiv.org/abs/1701.05517)
    """

    def __init__(self, filters, direction="down", kernel_size=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        check_int(filters, "filters", 1)
        if direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be one of {DIRECTIONS}. Received: direction={direction!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout!r}")

        # === Layers ===
        self.conv_in = ShiftedConv2D(filters, kernel_size, direction=direction, name="conv_in")
        # a small last layer: the block starts close to the identity (PixelCNN++'s init_scale=0.1)
        small = keras.initializers.VarianceScaling(scale=0.01, mode="fan_in", distribution="truncated_normal")
        self.conv_out = ShiftedConv2D(
            2 * filters, kernel_size, direction=direction, kernel_initializer=small, name="conv_out"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout") if dropout > 0 else None
        self.aux_conv = None  # made in `build` when the block is called with `aux`

        # === Config ===
        self.filters = int(filters)
        self.direction = direction
        self.kernel_size = None if kernel_size is None else tuple(self.conv_in.kernel_size)
        self.dropout = dropout

    def build(self, inputs_shape, aux_shape=None, condition_shape=None, condition_map_shape=None):
        if inputs_shape[-1] != self.filters:
            raise ValueError(
                "GatedResnet adds its input back (a residual connection): the input must have "
                f"`filters`={self.filters} channels. Received: {inputs_shape[-1]}"
            )
        f = self.filters
        self.conv_in.build(tuple(inputs_shape[:-1]) + (2 * f,))
        self.conv_out.build(tuple(inputs_shape[:-1]) + (2 * f,))
        if aux_shape is not None:
            # PixelCNN++'s "nin" (a 1x1); `conv_in` has the bias
            self.aux_conv = keras.layers.Conv2D(f, 1, use_bias=False, data_format="channels_last", name="aux_conv")
            self.aux_conv.build(tuple(aux_shape[:-1]) + (2 * aux_shape[-1],))
        self.condition_kernel = self.condition_map_kernel = None
        if condition_shape is not None:
            self.condition_kernel = self.add_weight(
                name="condition_kernel", shape=(condition_shape[-1], 2 * f), initializer="glorot_uniform"
            )
        if condition_map_shape is not None:
            self.condition_map_kernel = self.add_weight(
                name="condition_map_kernel", shape=(condition_map_shape[-1], 2 * f), initializer="glorot_uniform"
            )

    def call(self, inputs, aux=None, condition=None, condition_map=None, training=False):
        for value, layer, name in (
            (aux, self.aux_conv, "aux"),
            (condition, self.condition_kernel, "condition"),
            (condition_map, self.condition_map_kernel, "condition_map"),
        ):
            if (value is None) != (layer is None):
                raise ValueError(
                    f"This GatedResnet was built {'with' if layer is not None else 'without'} `{name}`: "
                    "call it with the same inputs it was first called with."
                )
        h = self.conv_in(concat_elu(inputs))
        if aux is not None:
            h = h + self.aux_conv(concat_elu(aux))
        h = concat_elu(h)
        if self.dropout_layer is not None:
            h = self.dropout_layer(h, training=training)
        h = self.conv_out(h)
        if condition is not None:
            h = h + ops.reshape(ops.matmul(condition, self.condition_kernel), (-1, 1, 1, 2 * self.filters))
        if condition_map is not None:
            kernel = ops.reshape(self.condition_map_kernel, (1, 1) + tuple(self.condition_map_kernel.shape))
            h = h + ops.conv(condition_map, kernel)  # a 1x1: one op where a matmul of rank 4 makes many
        a, b = ops.split(h, 2, axis=-1)
        return inputs + a * ops.sigmoid(b)

    def compute_output_shape(self, inputs_shape, aux_shape=None, condition_shape=None, condition_map_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "direction": self.direction,
                "kernel_size": self.kernel_size,
                "dropout": self.dropout,
            }
        )
        return config
