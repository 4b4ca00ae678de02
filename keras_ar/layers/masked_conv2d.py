"""MaskedConv2D: a PixelCNN convolution that sees only pixels before the current one."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ar")
class MaskedConv2D(keras.layers.Conv2D):
    """Conv2D with a PixelCNN mask (raster order), applied to the kernel in every call.

    Taps in rows above the centre and left of it in the centre row are kept; the centre tap
    is dropped by mask type `"A"` (the first layer: a pixel must not see itself) and kept by
    type `"B"` (later layers). With `color_channels=3` the channels of both the input and
    the output are split into three contiguous groups (R, G, B), and at the centre tap group
    j sees group i only if i < j (type A) or i <= j (type B), so that G depends on R and B on
    R and G of the same pixel.

    Args:
        filters: int. Output channels (a multiple of 3 with `color_channels=3`).
        kernel_size: int or tuple of 2 odd ints.
        mask_type: `"A"` or `"B"`.
        color_channels: 1 or 3.
        **kwargs: the other `keras.layers.Conv2D` arguments; `padding` must be `"same"`.

    Example:

    >>> layer = MaskedConv2D(8, 3, mask_type="A")
    >>> tuple(layer(keras.ops.ones((1, 5, 5, 1))).shape)
    (1, 5, 5, 8)

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016.
    """

    def __init__(self, filters, kernel_size, mask_type="B", color_channels=1, padding="same", **kwargs):
        if mask_type not in ("A", "B"):
            raise ValueError(f"`mask_type` must be 'A' or 'B'. Received: mask_type={mask_type!r}")
        if color_channels not in (1, 3):
            raise ValueError(f"`color_channels` must be 1 or 3. Received: color_channels={color_channels}")
        if padding != "same":
            raise ValueError(f"MaskedConv2D needs padding='same'. Received: padding={padding!r}")
        if color_channels == 3 and filters % 3:
            raise ValueError(f"With color_channels=3, `filters` must be a multiple of 3. Received: filters={filters}")
        super().__init__(filters, kernel_size, padding=padding, **kwargs)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"`kernel_size` must be odd. Received: kernel_size={kernel_size}")
        if any(d != 1 for d in self.dilation_rate) or any(s != 1 for s in self.strides):
            raise ValueError(
                f"MaskedConv2D supports strides=1 and dilation_rate=1 only. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        if self.groups != 1:
            raise ValueError(f"MaskedConv2D supports groups=1 only. Received: groups={self.groups}")
        self.mask_type = mask_type
        self.color_channels = color_channels

    def build(self, input_shape):
        super().build(input_shape)
        in_channels = self.kernel.shape[2]  # input_shape[-1] would be a width with channels_first
        if self.color_channels == 3 and in_channels % 3:
            raise ValueError(f"With color_channels=3, input channels must be a multiple of 3. Received: {in_channels}")
        self.mask = pixelcnn_mask(self.kernel_size, in_channels, self.filters, self.mask_type, self.color_channels)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * ops.cast(self.mask, kernel.dtype))

    def pixel_output(self, window):
        """The output at one pixel, `[b, filters]`, from the window of the input that ends there.

        The generation engine's cached steps compute a layer at the new pixel only. `window` is
        `[b, kh // 2 + 1, kw, C]`, the input rows from `kh // 2` above the pixel down to its
        row and the `kw` columns centred on it (the rows below are masked out anyway), or
        `[b, C]` for a 1x1 kernel. Valid for `padding="same"`, stride 1 and dilation 1.
        """
        rows = self.kernel_size[0] // 2 + 1
        kernel = self.kernel[:rows] * ops.cast(self.mask[:rows], self.kernel.dtype)
        kernel = ops.reshape(kernel, (-1, self.filters))
        y = ops.matmul(ops.reshape(window, (-1, ops.shape(kernel)[0])), kernel)
        return y + self.bias if self.use_bias else y

    def get_config(self):
        config = super().get_config()
        config.update({"mask_type": self.mask_type, "color_channels": self.color_channels})
        return config


def pixelcnn_mask(kernel_size, in_channels, out_channels, mask_type, color_channels=1):
    """The [kh, kw, in, out] 0/1 mask of a raster-order PixelCNN convolution."""
    kh, kw = kernel_size
    ci, cj = kh // 2, kw // 2
    mask = np.zeros((kh, kw, in_channels, out_channels), dtype="float32")
    mask[:ci] = 1.0
    mask[ci, :cj] = 1.0
    if color_channels == 1:
        centre = np.full((in_channels, out_channels), mask_type == "B", dtype=bool)
    else:
        gi = np.arange(in_channels) // (in_channels // 3)
        go = np.arange(out_channels) // (out_channels // 3)
        allowed = np.less_equal if mask_type == "B" else np.less
        centre = allowed(gi[:, None], go[None, :])
    mask[ci, cj] = centre.astype("float32")
    return mask
