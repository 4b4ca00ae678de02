"""PixelCNN: masked convolutions over an image, raster order, R -> G -> B inside a pixel."""

import keras
from keras import ops

from keras_ar.models.image_model import ImageModel
from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelCNN(ImageModel):
    """PixelCNN: a mask-A convolution, residual blocks of mask-B convolutions, a 1x1 head.

    The image (levels mapped to [-1, 1]) goes through a `first_kernel_size` mask-A
    `MaskedConv2D` (a pixel does not see itself), `num_residual_blocks` residual blocks
    (ReLU -> 1x1 conv to `filters / 2` -> ReLU -> `kernel_size` conv -> ReLU -> 1x1 conv back
    to `filters`, plus the skip; every conv mask B), a ReLU, an optional 1x1 ReLU layer of
    `output_hidden_units` and a 1x1 conv to the head parameters. Pixels come in raster
    order.

    With RGB images and a per-channel head (`"bernoulli"`, `"categorical"`) every
    convolution splits its channels into three contiguous groups, so a channel sees the
    earlier channels of its own pixel only (R, then G given R, then B given R and G). With
    `distribution="logistic_mixture"` and RGB the head is PixelCNN++'s coupled one: the
    network then sees no channel of the current pixel and outputs one parameter set per
    pixel. A conditional model (`num_classes` or `condition_shape`) adds a learned
    projection of the condition to the output of every convolution, broadcast over the
    image (as in Conditional PixelCNN).

    Sampling is cached ("fast generation"): the cache keeps, for the input convolution and
    each block's `kernel_size` convolution, a padded buffer of its input, and a step computes
    every layer at the new pixel only, from the window of the buffer that ends there (for an
    RGB per-channel head the whole pixel at each sub-pixel). The draws equal those of one full
    pass per step.

    Args:
        input_shape: `(height, width, channels)`, channels 1 or 3.
        filters: int or None. Channels of the residual stream (a multiple of 3 for RGB with a
            per-channel head, which splits them into one group per colour). None (default)
            means 64, and 96 (32 per colour) for RGB images with a per-channel head
            (`"bernoulli"`, `"categorical"`), so the defaults build for every image shape;
            `get_config` holds the value used.
        num_residual_blocks: int. Defaults to 5.
        kernel_size: odd int. Kernel of the mask-B convolution in each block. Defaults to 3.
        first_kernel_size: odd int. Kernel of the mask-A input convolution. Defaults to 7.
        output_hidden_units: int or None. Width of a 1x1 mask-B ReLU layer before the
            output layer; None (default) for none.
        dropout: float in [0, 1). Dropout in each residual branch while training.
        position_bias: bool. Add a learned bias per position and channel to the output of
            every convolution. Convolutions share their weights across the image; on small
            images whose statistics depend on the position (centred digits) this gives the
            conditionals the location they otherwise lack. It does not depend on the data,
            so causality is unchanged. Defaults to False.
        **kwargs: `distribution` (`"bernoulli"` by default), `num_levels`, `num_components`,
            `num_classes`, `condition_shape`, `condition_scale`, `name`, as in `ImageModel`.

    Example:

    >>> model = PixelCNN(input_shape=(4, 4, 1), filters=8, num_residual_blocks=1)
    >>> tuple(model.log_prob(keras.ops.zeros((2, 4, 4, 1))).shape)
    (2,)

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016;
        van den Oord et al., "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.
        Ramachandran et al., "Fast Generation for Convolutional Autoregressive Models", ICLR
        workshop 2017.
    """

    def __init__(
        self,
        input_shape,
        filters=None,
        num_residual_blocks=5,
        kernel_size=3,
        first_kernel_size=7,
        output_hidden_units=None,
        dropout=0.0,
        position_bias=False,
        **kwargs,
    ):
        super().__init__(input_shape, **kwargs)
        color = self.color_channels
        if filters is None:
            filters = 96 if color == 3 else 64
        self.check_widths(filters=filters, output_hidden_units=output_hidden_units, optional=("output_hidden_units",))
        check_int(num_residual_blocks, "num_residual_blocks", minimum=0)
        self.check_kernel_sizes(kernel_size=kernel_size, first_kernel_size=first_kernel_size)
        self.check_dropout(dropout)

        # === Layers ===
        half = 3 * max(1, filters // 6) if color == 3 else max(1, filters // 2)
        conv = self.masked_conv
        self.input_conv = conv(filters, first_kernel_size, "A", "input_conv")
        self.block_in = [conv(half, 1, "B", f"block{i}_in") for i in range(num_residual_blocks)]
        self.block_mid = [conv(half, kernel_size, "B", f"block{i}_mid") for i in range(num_residual_blocks)]
        self.block_out = [conv(filters, 1, "B", f"block{i}_out") for i in range(num_residual_blocks)]
        output_widths = self.add_output_layers(output_hidden_units)
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout") if dropout > 0 else None
        # One projection of the condition, split into a bias for every convolution's output.
        self.add_layer_biases([filters] + [half, half, filters] * num_residual_blocks + output_widths, position_bias)
        self.keep_arguments(locals())
        self.build()

    def compute_params(self, x, condition=None, training=False):
        biases = self.layer_biases(self.project_condition(condition))
        return self.image_params(self._network(self.scale_inputs(x), self.on_image, biases, training))

    def _network(self, h, conv, biases, training=False):
        """Every layer after the input scaling, written once for the image and for one pixel.

        `conv(layer, inputs)` is the convolution without the condition/position bias: on the
        whole image (`compute_params`, `fill_cache`) or at one pixel (`step`, where `inputs` is the
        pixel's activations `[b, C]`). `biases` are the layers' biases (`layer_biases`).
        """
        masked = self.biased_layers(conv, biases)
        h = masked(self.input_conv, h)
        for conv_in, conv_mid, conv_out in zip(self.block_in, self.block_mid, self.block_out):
            r = ops.relu(masked(conv_in, ops.relu(h)))
            r = ops.relu(masked(conv_mid, r))
            if self.dropout_layer is not None:
                r = self.dropout_layer(r, training=training)
            h = h + masked(conv_out, r)
        return self.output_layers(h, masked)

    # ------------------------------------------------------------------ cached sampling
    def _buffered(self):
        """The convolutions with a spatial kernel: the cache keeps a padded buffer of their inputs."""
        return [self.input_conv] + list(self.block_mid)

    def init_cache(self, batch_size, condition=None, seed=None):
        """Zero input buffers `[b, H + kh//2, W + 2 * (kw//2), C_in]` and the projected condition."""
        buffers = {
            layer.name: self.image_buffer(batch_size, layer.kernel_size, layer.kernel.shape[2])
            for layer in self._buffered()
        }
        return {"buffers": buffers, **self.cached_condition(condition)}

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x`; every buffered layer's input goes into its buffer."""
        buffers = {}

        def conv(layer, h):
            if layer.name in cache["buffers"]:
                buffers[layer.name] = self.pad_image(h, layer.kernel_size)
            return layer(h)

        self._network(self.scale_inputs(x), conv, self.layer_biases(cache.get("condition")))
        return {**cache, "buffers": buffers}

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`, computing every layer at its pixel only."""
        buffers, name = dict(cache["buffers"]), self.input_conv.name
        (row, col, sub), buffers[name] = self.step_prologue(buffers[name], x_prev, index, self.input_conv.kernel_size)

        def conv(layer, h):
            if layer.name not in buffers:  # 1x1: pointwise at the pixel
                return layer.pixel_output(h)
            if h is not None:  # None for the input layer: its input was written above
                buffers[layer.name] = self.write_pixel(buffers[layer.name], h, row, col, layer.kernel_size)
            return layer.pixel_output(self.pixel_window(buffers[layer.name], row, col, layer.kernel_size))

        params = self._network(None, conv, self.layer_biases(cache.get("condition"), (row, col)))
        # for an RGB per-channel head the whole pixel was recomputed: its R, G, B groups of P
        return self.select_subpixel(params, sub), {**cache, "buffers": buffers}
