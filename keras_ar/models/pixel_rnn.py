"""PixelRNN: a masked convolution, then Row LSTM or Diagonal BiLSTM layers, raster order."""

import keras
from keras import ops

from keras_ar.layers.diagonal_bilstm import DiagonalBiLSTM
from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.layers.row_lstm import RowLSTM
from keras_ar.models._image_biases import LayerBiases
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.checks import check_int as _check_int

_RECURRENT = ("row_lstm", "diagonal_bilstm")


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelRNN(LayerBiases, AutoregressiveModel):
    """PixelRNN: a mask-A convolution, residual Row LSTM or Diagonal BiLSTM layers, 1x1 output layers.

    The image (levels mapped to [-1, 1]) goes through a `first_kernel_size` mask-A
    `MaskedConv2D` to `units` channels, then `num_layers` recurrent layers with mask B
    (`RowLSTM` with `kernel_size`, or `DiagonalBiLSTM`), each followed by a 1x1 mask-B
    convolution added back to its input (a residual connection), then a ReLU, an optional
    1x1 mask-B ReLU layer of `output_hidden_units` and a 1x1 mask-B convolution to the head
    parameters. Pixels come in raster order. The Row LSTM sees a triangle above each pixel
    (it has blind spots); the Diagonal BiLSTM sees every earlier pixel.

    With RGB images and a per-channel head (`"bernoulli"`, `"categorical"`) every layer
    splits its channels and units into three contiguous colour groups, so a channel sees
    the earlier channels of its own pixel only (R, then G given R, then B given R and G):
    `units` and `output_hidden_units` must then be multiples of 3. The defaults (48 and 96)
    are, so the defaults build and train on any image from `(1, 2, 1)` to `(32, 32, 3)`
    with every head. With `distribution="logistic_mixture"` and RGB the head is
    PixelCNN++'s coupled one: the network sees no channel of the current pixel and outputs
    one parameter set per pixel. A conditional model (`num_classes` or `condition_shape`)
    adds a learned projection of the condition to every layer (to the output of every
    convolution and to the gate pre-activations of every recurrent layer).

    Sampling runs through the generation engine with a cached step that computes every layer
    at one pixel from buffered states and draws the same samples as
    `sample(use_cache=False)` (one full pass per step). Row LSTM: the previous row's hidden
    and cell states and the current row's inputs, O(num_layers * kernel_size * units^2) per
    step. Diagonal BiLSTM: the left-to-right states of the pixel above and to the left,
    O(num_layers * units^2) per step; the right-to-left direction, whose state at a pixel
    depends on the whole previous row, runs over that row once, at the first pixel of the
    next row (O(num_layers * width * units^2) there).

    Args:
        input_shape: tuple of 3 ints `(height, width, channels)`, channels 1 or 3.
        recurrent: `"row_lstm"` (default) or `"diagonal_bilstm"`.
        distribution: `"bernoulli"` (default), `"categorical"`, `"logistic_mixture"`
            (coupled for RGB) or `"gaussian_mixture"` (real values, fed unscaled).
        num_levels: int. Levels of a categorical or logistic mixture head.
        num_components: int. Components of a mixture head.
        units: int. Channels of the residual stream and hidden units of every recurrent
            layer (a multiple of 3 for RGB with a per-channel head). Defaults to 48.
        num_layers: int. Recurrent layers. Defaults to 2.
        kernel_size: odd int. Width of the Row LSTM's input-to-state (1 x k) and
            state-to-state (k x 1 over the previous row) convolutions. Row LSTM only.
            Defaults to 3.
        first_kernel_size: odd int. Kernel of the mask-A input convolution. Defaults to 7.
        output_hidden_units: int or None. Width of the 1x1 mask-B ReLU layer before the
            output layer (a multiple of 3 for RGB with a per-channel head); None for none.
            Defaults to 96.
        position_bias: bool. Add a learned bias per position to every layer (as in
            `PixelCNN`): it does not depend on the data, so causality is unchanged.
            Defaults to False.
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Example:

    >>> model = PixelRNN(input_shape=(4, 4, 1), recurrent="row_lstm", units=6, num_layers=1)
    >>> tuple(model.log_prob(keras.ops.zeros((2, 4, 4, 1))).shape)
    (2,)
    >>> tuple(model.sample(2, seed=0).shape)
    (2, 4, 4, 1)

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016.
    """

    def __init__(
        self,
        input_shape,
        recurrent="row_lstm",
        distribution="bernoulli",
        num_levels=None,
        num_components=None,
        units=48,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=7,
        output_hidden_units=96,
        position_bias=False,
        **kwargs,
    ):
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        if recurrent not in _RECURRENT:
            raise ValueError(f"`recurrent` must be one of {_RECURRENT}. Received: recurrent={recurrent!r}")
        if len(self.event_shape) != 3 or self.event_shape[-1] not in (1, 3):
            raise ValueError(
                "`input_shape` must be (height, width, channels) with 1 or 3 channels. "
                f"Received: input_shape={self.event_shape}"
            )
        color = 3 if self.event_shape[-1] == 3 and self.head.event_size == 1 else 1
        _check_int(units, "units", minimum=1)
        _check_int(num_layers, "num_layers", minimum=1)
        for value, name in ((kernel_size, "kernel_size"), (first_kernel_size, "first_kernel_size")):
            if _check_int(value, name, minimum=1) % 2 == 0:
                raise ValueError(f"`{name}` must be an odd int. Received: {name}={value}")
        if output_hidden_units is not None:
            _check_int(output_hidden_units, "output_hidden_units", minimum=1)
        if color == 3:
            for value, name in ((units, "units"), (output_hidden_units, "output_hidden_units")):
                if value is not None and value % 3:
                    raise ValueError(
                        f"With RGB images and a per-channel head, `{name}` must be a multiple of 3 "
                        f"(one group per colour), e.g. {name}={3 * max(1, round(value / 3))}. Received: {name}={value}"
                    )

        # === Layers ===
        out_channels = color * self.head.num_params

        def conv(width, size, mask_type, name):
            return MaskedConv2D(width, size, mask_type=mask_type, color_channels=color, name=name)

        self.input_conv = conv(units, first_kernel_size, "A", "input_conv")
        if recurrent == "row_lstm":
            self.recurrent_layers = [
                RowLSTM(units, kernel_size, mask_type="B", color_channels=color, name=f"row_lstm{i}")
                for i in range(num_layers)
            ]
        else:
            self.recurrent_layers = [
                DiagonalBiLSTM(units, mask_type="B", color_channels=color, name=f"diagonal_bilstm{i}")
                for i in range(num_layers)
            ]
        self.residual_convs = [conv(units, 1, "B", f"residual{i}") for i in range(num_layers)]
        self.hidden_conv = (
            conv(output_hidden_units, 1, "B", "hidden_conv") if output_hidden_units is not None else None
        )
        self.output_conv = conv(out_channels, 1, "B", "output_conv")
        # One projection of the condition, split into a bias for every layer.
        widths = [units] + [4 * units, units] * num_layers
        widths += ([output_hidden_units] if output_hidden_units is not None else []) + [out_channels]
        self._init_biases(widths, position_bias)

        # === Config ===
        self.recurrent = recurrent
        self.units = units
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.output_hidden_units = output_hidden_units
        self.color_channels = color
        self.build()

    def build(self, input_shape=None):
        self._build_biases()
        super().build(input_shape)

    def compute_params(self, x, condition=None, training=False):
        projection = None if condition is None else self._project_condition(condition)
        h, bias = self._scale_inputs(x), self._bias(projection)
        params = self._network(h, lambda layer, h: layer(h), lambda layer, h, b: layer(h, bias=b), bias)
        # [b, H, W, C * P], C contiguous groups of P -> [b, *group_shape, P]
        return ops.reshape(params, (-1,) + self.group_shape + (self.head.num_params,))

    def _network(self, h, conv, recur, bias):
        """Every layer after the input scaling, written once for the image and for one pixel.

        `conv(layer, inputs)` is a convolution and `recur(layer, inputs, bias)` a recurrent
        layer, on the whole image (`compute_params`, `fill_cache`) or at one pixel (`step`,
        where `inputs` is the pixel's activations `[b, C]`). `bias` is None or the summed
        condition and position biases `[..., total]`, split here into one slice per layer.
        """
        sliced = self._bias_slots(bias)

        def masked(layer, inputs):
            y, b = conv(layer, inputs), sliced()
            return y if b is None else y + b

        h = masked(self.input_conv, h)
        for layer, residual in zip(self.recurrent_layers, self.residual_convs):
            h = h + masked(residual, recur(layer, h, sliced()))
        h = ops.relu(h)
        if self.hidden_conv is not None:
            h = ops.relu(masked(self.hidden_conv, h))
        return masked(self.output_conv, h)

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None):
        """A zero input buffer `[b, H + kh//2, W + 2 * (kw//2), C]` for the input convolution,
        each recurrent layer's buffers (its `init_cache`) and the projected condition."""
        height, width, channels = self.event_shape
        kh, kw = self.input_conv.kernel_size
        cache = {
            "inputs": ops.zeros((batch_size, height + kh // 2, width + 2 * (kw // 2), channels)),
            "layers": {layer.name: layer.init_cache(batch_size, width, self.units) for layer in self.recurrent_layers},
        }
        if condition is not None and self.condition_projection is not None:
            cache["condition"] = self._project_condition(condition)
        return cache

    def _pixel(self, index):
        return index // 3 if self.color_channels == 3 else index

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x` that fills every buffer."""
        height, width = self.event_shape[:2]
        row = ops.minimum(self._pixel(ops.convert_to_tensor(num_known, "int32")) // width, height - 1)
        kh, kw = self.input_conv.kernel_size
        h = self._scale_inputs(x)
        layers = {}

        def recur(layer, inputs, bias):
            outputs, layers[layer.name] = layer.fill_cache(inputs, row, bias)
            return outputs

        self._network(h, lambda layer, h: layer(h), recur, self._bias(cache.get("condition")))
        inputs = ops.pad(h, [[0, 0], [kh // 2, 0], [kw // 2, kw // 2], [0, 0]])
        return {**cache, "inputs": inputs, "layers": layers}

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`, every layer at its pixel only."""
        width, channels = self.event_shape[1], self.event_shape[2]
        per_channel = self.color_channels == 3  # groups are sub-pixels R, G, B
        index = ops.convert_to_tensor(index, "int32")
        prev = ops.maximum(index - 1, 0)  # at index 0, x_prev (zeros) goes where nothing reads it yet
        pixel, prev_pixel = self._pixel(index), self._pixel(prev)
        row, col = pixel // width, pixel % width
        layers = dict(cache["layers"])

        # The previous group, scaled as `compute_params` scales its input, into the input buffer.
        kh, kw = self.input_conv.kernel_size
        value = ops.reshape(self._scale_inputs(x_prev), (-1, 1, 1, 1 if per_channel else channels))
        start = [0, prev_pixel // width + kh // 2, prev_pixel % width + kw // 2, prev % 3 if per_channel else 0]
        inputs = ops.slice_update(cache["inputs"], start, value)

        def conv(layer, h):
            if h is None:  # the input convolution: the window of the input buffer that ends at the pixel
                size = [ops.shape(inputs)[0], kh // 2 + 1, kw, channels]
                return layer.pixel_output(ops.slice(inputs, [0, row, col, 0], size))
            return layer.pixel_output(h)

        def recur(layer, h, bias):
            h, layers[layer.name] = layer.step(h, layers[layer.name], row, col, bias)
            return h

        params = self._network(None, conv, recur, self._bias(cache.get("condition"), (row, col)))
        if per_channel:  # the whole pixel was recomputed; its channels are R, G, B groups of P
            params = ops.take(ops.reshape(params, (-1, 3, self.head.num_params)), index % 3, axis=1)
        return params, {**cache, "inputs": inputs, "layers": layers}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "recurrent": self.recurrent,
                "units": self.units,
                "num_layers": self.num_layers,
                "kernel_size": self.kernel_size,
                "first_kernel_size": self.first_kernel_size,
                "output_hidden_units": self.output_hidden_units,
                "position_bias": self.position_bias,
            }
        )
        return config

