"""ShiftedConv2D: PixelCNN++'s down- and down-right-shifted convolutions (no mask, no blind spot)."""

import math

import keras
from keras import ops

DIRECTIONS = ("down", "down_right")


@keras.saving.register_keras_serializable(package="keras_ar")
class ShiftedConv2D(keras.layers.Conv2D):
    """Conv2D whose output at (i, j) reads only the rows up to `i * strides` (and columns up to
    `j * strides` for `"down_right"`): the input is padded on top (and left) instead of around.

    `direction="down"` pads `kh - 1` rows on top and `(kw - 1) / 2` columns on each side (kw
    odd): the kernel sees the current row and the rows above it, centred on the column.
    `direction="down_right"` pads `kh - 1` rows on top and `kw - 1` columns on the left: the
    kernel ends at the current pixel. A valid convolution follows, so with `strides=s` the
    output has `ceil(H / s) x ceil(W / s)` pixels for any H and W (odd sizes included), and
    output (i, j) reads the input window that ends at row `s * i` (and column `s * j`). A
    stack of these whose first layer is shifted by one row (or column) is causal without
    masks, as in PixelCNN++ (`down_shifted_conv2d`, `down_right_shifted_conv2d`).

    Args:
        filters: int. Output channels.
        kernel_size: int or tuple of 2 ints, or None for the PixelCNN++ kernel: `(2, 3)`
            for `"down"`, `(2, 2)` for `"down_right"`. The width must be odd for `"down"`.
        direction: `"down"` (default) or `"down_right"`.
        strides: int or tuple of 2 ints. Defaults to 1.
        **kwargs: the other `keras.layers.Conv2D` arguments (`padding` must be `"valid"`,
            `data_format` `"channels_last"`, `dilation_rate` 1, `groups` 1).

    Example:

    >>> layer = ShiftedConv2D(4, direction="down_right", strides=2)
    >>> tuple(layer(keras.ops.ones((1, 5, 7, 2))).shape)
    (1, 3, 4, 4)

    Reference:
        [Salimans et al., 2017. PixelCNN++: Improving the PixelCNN with discretized
        logistic mixture likelihood and other modifications](https://arxiv.org/abs/1701.05517)
    """

    def __init__(self, filters, kernel_size=None, direction="down", strides=1, **kwargs):
        check_shift_arguments(direction, kwargs)
        if kernel_size is None:
            kernel_size = (2, 3) if direction == "down" else (2, 2)
        kwargs.setdefault("padding", "valid")
        kwargs.setdefault("data_format", "channels_last")
        super().__init__(filters, kernel_size, strides=strides, **kwargs)
        check_kernel(self, direction)
        self.direction = direction

    def call(self, inputs):
        kh, kw = self.kernel_size
        left, right = ((kw - 1) // 2, (kw - 1) // 2) if self.direction == "down" else (kw - 1, 0)
        return super().call(ops.pad(inputs, [[0, 0], [kh - 1, 0], [left, right], [0, 0]]))

    def compute_output_shape(self, input_shape):
        rows, cols = (None if d is None else math.ceil(d / s) for d, s in zip(input_shape[1:3], self.strides))
        return (input_shape[0], rows, cols, self.filters)

    def get_config(self):
        config = super().get_config()
        config["direction"] = self.direction
        return config


def check_shift_arguments(direction, kwargs):
    """The checks `ShiftedConv2D` and `ShiftedConv2DTranspose` share (before Keras' own)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"`direction` must be one of {DIRECTIONS}. Received: direction={direction!r}")
    fixed = {"padding": "valid", "data_format": "channels_last", "dilation_rate": (1, 1), "groups": 1}
    for name, value in fixed.items():
        received = kwargs.get(name, value)
        if isinstance(received, int) and name == "dilation_rate":
            received = (received, received)
        if (tuple(received) if isinstance(received, list) else received) != value:
            raise ValueError(
                f"Shifted convolutions pad the input themselves and support {name}={value!r} only. "
                f"Received: {name}={received!r}"
            )


def check_kernel(layer, direction):
    if direction == "down" and layer.kernel_size[1] % 2 == 0:
        raise ValueError(
            "A 'down' shifted convolution is centred on the column: its kernel width must be odd "
            f"(e.g. kernel_size=(2, 3)). Received: kernel_size={layer.kernel_size}"
        )
