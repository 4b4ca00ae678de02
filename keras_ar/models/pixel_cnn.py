"""PixelCNN: masked convolutions over an image, raster order, R -> G -> B inside a pixel."""

import keras
from keras import ops

from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.models._image_biases import LayerBiases
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.checks import check_int as _check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelCNN(LayerBiases, AutoregressiveModel):
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
        input_shape: tuple of 3 ints `(height, width, channels)`, channels 1 or 3.
        distribution: `"bernoulli"` (default), `"categorical"`, `"logistic_mixture"`
            (coupled for RGB) or `"gaussian_mixture"` (real values, fed unscaled).
        num_levels: int. Levels of a categorical or logistic mixture head.
        num_components: int. Components of a mixture head.
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
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

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
        distribution="bernoulli",
        num_levels=None,
        num_components=None,
        filters=None,
        num_residual_blocks=5,
        kernel_size=3,
        first_kernel_size=7,
        output_hidden_units=None,
        dropout=0.0,
        position_bias=False,
        **kwargs,
    ):
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        if len(self.event_shape) != 3 or self.event_shape[-1] not in (1, 3):
            raise ValueError(
                "`input_shape` must be (height, width, channels) with 1 or 3 channels. "
                f"Received: input_shape={self.event_shape}"
            )
        color = 3 if self.event_shape[-1] == 3 and self.head.event_size == 1 else 1
        if filters is None:
            filters = 96 if color == 3 else 64
        _check_int(filters, "filters", minimum=1)
        _check_int(num_residual_blocks, "num_residual_blocks", minimum=0)
        for value, name in ((kernel_size, "kernel_size"), (first_kernel_size, "first_kernel_size")):
            if _check_int(value, name, minimum=1) % 2 == 0:
                raise ValueError(f"`{name}` must be an odd int. Received: {name}={value}")
        if output_hidden_units is not None:
            _check_int(output_hidden_units, "output_hidden_units", minimum=1)
        if color == 3:
            for value, name in ((filters, "filters"), (output_hidden_units, "output_hidden_units")):
                if value is not None and value % 3:
                    raise ValueError(
                        f"With RGB images and a per-channel head, `{name}` must be a multiple of 3 "
                        f"(one group per colour). Received: {name}={value}"
                    )
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout!r}")

        # === Layers ===
        half = 3 * max(1, filters // 6) if color == 3 else max(1, filters // 2)
        out_channels = color * self.head.num_params

        def conv(units, size, mask_type, name):
            return MaskedConv2D(units, size, mask_type=mask_type, color_channels=color, name=name)

        self.input_conv = conv(filters, first_kernel_size, "A", "input_conv")
        self.block_in = [conv(half, 1, "B", f"block{i}_in") for i in range(num_residual_blocks)]
        self.block_mid = [conv(half, kernel_size, "B", f"block{i}_mid") for i in range(num_residual_blocks)]
        self.block_out = [conv(filters, 1, "B", f"block{i}_out") for i in range(num_residual_blocks)]
        self.hidden_conv = (
            conv(output_hidden_units, 1, "B", "hidden_conv") if output_hidden_units is not None else None
        )
        self.output_conv = conv(out_channels, 1, "B", "output_conv")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout") if dropout > 0 else None
        # One projection of the condition, split into a bias for every convolution's output.
        widths = [filters] + [half, half, filters] * num_residual_blocks
        widths += ([output_hidden_units] if output_hidden_units is not None else []) + [out_channels]
        self._init_biases(widths, position_bias)

        # === Config ===
        self.filters = filters
        self.num_residual_blocks = num_residual_blocks
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.output_hidden_units = output_hidden_units
        self.dropout = dropout
        self.color_channels = color
        self.build()

    def build(self, input_shape=None):
        self._build_biases()
        super().build(input_shape)

    def compute_params(self, x, condition=None, training=False):
        projection = None if condition is None else self._project_condition(condition)
        params = self._network(self._scale_inputs(x), lambda layer, h: layer(h), self._bias(projection), training)
        # [b, H, W, C * P], C contiguous groups of P -> [b, *group_shape, P]
        return ops.reshape(params, (-1,) + self.group_shape + (self.head.num_params,))

    def _network(self, h, conv, bias, training=False):
        """Every layer after the input scaling, written once for the image and for one pixel.

        `conv(layer, inputs)` is the convolution without the condition/position bias: on the
        whole image (`compute_params`, `fill_cache`) or at one pixel (`step`, where `inputs` is the
        pixel's activations `[b, C]`). `bias` is None or the summed biases `[..., total]`.
        """

        sliced = self._bias_slots(bias)

        def masked(layer, inputs):
            y, b = conv(layer, inputs), sliced()
            return y if b is None else y + b

        h = masked(self.input_conv, h)
        for conv_in, conv_mid, conv_out in zip(self.block_in, self.block_mid, self.block_out):
            r = ops.relu(masked(conv_in, ops.relu(h)))
            r = ops.relu(masked(conv_mid, r))
            if self.dropout_layer is not None:
                r = self.dropout_layer(r, training=training)
            h = h + masked(conv_out, r)
        h = ops.relu(h)
        if self.hidden_conv is not None:
            h = ops.relu(masked(self.hidden_conv, h))
        return masked(self.output_conv, h)

    # ------------------------------------------------------------------ cached sampling
    def _buffered(self):
        """The convolutions with a spatial kernel: the cache keeps a padded buffer of their inputs."""
        return [self.input_conv] + list(self.block_mid)

    def init_cache(self, batch_size, condition=None, seed=None):
        """Zero input buffers `[b, H + kh//2, W + 2 * (kw//2), C_in]` and the projected condition."""
        height, width = self.event_shape[:2]
        buffers = {}
        for layer in self._buffered():
            kh, kw = layer.kernel_size
            shape = (batch_size, height + kh // 2, width + 2 * (kw // 2), layer.kernel.shape[2])
            buffers[layer.name] = ops.zeros(shape, "float32")
        cache = {"buffers": buffers}
        if condition is not None and self.condition_projection is not None:
            cache["condition_bias"] = self._project_condition(condition)
        return cache

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x`; every buffered layer's input goes into its buffer."""
        buffers = {}

        def conv(layer, h):
            if layer.name in cache["buffers"]:
                kh, kw = layer.kernel_size
                buffers[layer.name] = ops.pad(h, [[0, 0], [kh // 2, 0], [kw // 2, kw // 2], [0, 0]])
            return layer(h)

        self._network(self._scale_inputs(x), conv, self._bias(cache.get("condition_bias")))
        return {**cache, "buffers": buffers}

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`, computing every layer at its pixel only."""
        width, channels = self.event_shape[1], self.event_shape[2]
        per_channel = self.color_channels == 3  # groups are sub-pixels R, G, B
        index = ops.convert_to_tensor(index, "int32")
        prev = ops.maximum(index - 1, 0)  # at index 0, x_prev (zeros) goes where nothing reads it yet
        pixel, prev_pixel = (index // 3, prev // 3) if per_channel else (index, prev)
        row, col = pixel // width, pixel % width
        buffers = dict(cache["buffers"])

        # The previous group, scaled as `compute_params` scales its input, into the input buffer.
        kh, kw = self.input_conv.kernel_size
        value = ops.reshape(self._scale_inputs(x_prev), (-1, 1, 1, 1 if per_channel else channels))
        start = [0, prev_pixel // width + kh // 2, prev_pixel % width + kw // 2, prev % 3 if per_channel else 0]
        buffers[self.input_conv.name] = ops.slice_update(buffers[self.input_conv.name], start, value)

        def conv(layer, h):
            if layer.name not in buffers:  # 1x1: pointwise at the pixel
                return layer.pixel_output(h)
            kh, kw = layer.kernel_size
            buffer = buffers[layer.name]
            if h is not None:  # None for the input layer: its input was written above
                update = ops.reshape(h, (-1, 1, 1, ops.shape(h)[-1]))
                buffer = buffers[layer.name] = ops.slice_update(buffer, [0, row + kh // 2, col + kw // 2, 0], update)
            # the window ending at the pixel: rows above it and its own row (rows below are masked out)
            size = [ops.shape(buffer)[0], kh // 2 + 1, kw, ops.shape(buffer)[-1]]
            return layer.pixel_output(ops.slice(buffer, [0, row, col, 0], size))

        params = self._network(None, conv, self._bias(cache.get("condition_bias"), (row, col)))
        if per_channel:  # the whole pixel was recomputed; its channels are R, G, B groups of P
            params = ops.take(ops.reshape(params, (-1, 3, self.head.num_params)), index % 3, axis=1)
        return params, {**cache, "buffers": buffers}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_residual_blocks": self.num_residual_blocks,
                "kernel_size": self.kernel_size,
                "first_kernel_size": self.first_kernel_size,
                "output_hidden_units": self.output_hidden_units,
                "dropout": self.dropout,
                "position_bias": self.position_bias,
            }
        )
        return config

