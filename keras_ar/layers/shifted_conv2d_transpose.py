"""ShiftedConv2DTranspose: PixelCNN++'s shifted up-sampling, cropped to any output size."""

import keras

from keras_ar.layers.shifted_conv2d import check_kernel
from keras_ar.layers.shifted_conv2d import check_shift_arguments


@keras.saving.register_keras_serializable(package="keras_ar")
class ShiftedConv2DTranspose(keras.layers.Conv2DTranspose):
    """The transpose of `ShiftedConv2D`: input (i, j) writes only to rows from `s * i` on
    (and columns from `s * j` on for `"down_right"`), so a causal stack stays causal.

    A valid transposed convolution (input (i, j) reaches output rows `s*i .. s*i + kh - 1`)
    is cropped to `output_size`: the first rows, and for `"down"` the columns centred on
    `s * j` (`(kw - 1) / 2` dropped on the left), for `"down_right"` the first columns. So it
    inverts the shapes of a strided `ShiftedConv2D` for any size, odd ones included: pass the
    shape of the map that was down-sampled (PixelCNN++'s shortcut) as `output_size`.

    Args:
        filters: int. Output channels.
        kernel_size: int or tuple of 2 ints, or None for the PixelCNN++ kernel: `(2, 3)`
            for `"down"`, `(2, 2)` for `"down_right"`. It must cover the strides: height and
            (`"down_right"`) width at least the stride, an odd width of at least
            `2 * stride - 1` for `"down"`.
        direction: `"down"` (default) or `"down_right"`.
        strides: int or tuple of 2 ints. Defaults to 1.
        **kwargs: the other `keras.layers.Conv2DTranspose` arguments (`padding` must be
            `"valid"`, `data_format` `"channels_last"`, no `output_padding`).

    Call arguments:
        inputs: `[b, h, w, c]`.
        output_size: optional tuple of 2 ints `(H, W)` with `ceil(H / s) = h` and
            `ceil(W / s) = w`; defaults to `(s * h, s * w)`.

    Example:

    >>> layer = ShiftedConv2DTranspose(4, direction="down", strides=2)
    >>> tuple(layer(keras.ops.ones((1, 3, 4, 2)), output_size=(5, 7)).shape)
    (1, 5, 7, 4)

    Reference:
        [Salimans et al., 2017. PixelCNN++: Improving the PixelCNN with discretized
        logistic mixture likelihood and other modifications](https://arxiv.org/abs/1701.05517)
    """

    def __init__(self, filters, kernel_size=None, direction="down", strides=1, **kwargs):
        check_shift_arguments(direction, kwargs)
        if kwargs.get("output_padding") is not None:
            raise ValueError(
                "ShiftedConv2DTranspose crops to `output_size` at call time: pass no `output_padding`. "
                f"Received: output_padding={kwargs['output_padding']!r}"
            )
        if kernel_size is None:
            kernel_size = (2, 3) if direction == "down" else (2, 2)
        kwargs.setdefault("padding", "valid")
        kwargs.setdefault("data_format", "channels_last")
        super().__init__(filters, kernel_size, strides=strides, **kwargs)
        check_kernel(self, direction)
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        if kh < sh or (kw < 2 * sw - 1 if direction == "down" else kw < sw):
            raise ValueError(
                f"The kernel of a '{direction}' ShiftedConv2DTranspose must cover its strides (height >= "
                f"{sh}, width >= {2 * sw - 1 if direction == 'down' else sw}), or some outputs would get no "
                f"input. Received: kernel_size={self.kernel_size}, strides={self.strides}"
            )
        self.direction = direction

    def call(self, inputs, output_size=None):
        rows, cols = self._output_size(tuple(inputs.shape), output_size)
        start = (self.kernel_size[1] - 1) // 2 if self.direction == "down" else 0
        return super().call(inputs)[:, :rows, start : start + cols, :]

    def compute_output_shape(self, input_shape, output_size=None):
        return (input_shape[0],) + self._output_size(tuple(input_shape), output_size) + (self.filters,)

    def _output_size(self, input_shape, output_size):
        (h, w), (sh, sw) = input_shape[1:3], self.strides
        if output_size is None:
            return (None if h is None else sh * h, None if w is None else sw * w)
        rows, cols = (int(d) for d in output_size)
        for d, n, s in ((rows, h, sh), (cols, w, sw)):
            if n is not None and not s * (n - 1) < d <= s * n:
                raise ValueError(
                    f"`output_size` must be a size that a stride-{s} ShiftedConv2D maps to the input's "
                    f"{n}, i.e. in ({s * (n - 1)}, {s * n}]. Received: output_size={output_size}, "
                    f"input shape {input_shape}"
                )
        return rows, cols

    def get_config(self):
        config = super().get_config()
        config["direction"] = self.direction
        return config
