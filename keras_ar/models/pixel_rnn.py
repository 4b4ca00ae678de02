"""PixelRNN: a masked convolution, then Row LSTM or Diagonal BiLSTM layers, raster order."""

import keras

from keras_ar.layers.diagonal_bilstm import DiagonalBiLSTM
from keras_ar.layers.row_lstm import RowLSTM
from keras_ar.models.image_model import ImageModel
from keras_ar.utils.checks import check_int

_RECURRENT = ("row_lstm", "diagonal_bilstm")


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelRNN(ImageModel):
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
        input_shape: `(height, width, channels)`, channels 1 or 3.
        recurrent: `"row_lstm"` (default) or `"diagonal_bilstm"`.
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
        **kwargs: `distribution` (`"bernoulli"` by default), `num_levels`, `num_components`,
            `num_classes`, `condition_shape`, `condition_scale`, `name`, as in `ImageModel`.

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
        units=48,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=7,
        output_hidden_units=96,
        position_bias=False,
        **kwargs,
    ):
        super().__init__(input_shape, **kwargs)
        if recurrent not in _RECURRENT:
            raise ValueError(f"`recurrent` must be one of {_RECURRENT}. Received: recurrent={recurrent!r}")
        color = self.color_channels
        self.check_widths(units=units, output_hidden_units=output_hidden_units, optional=("output_hidden_units",))
        check_int(num_layers, "num_layers", minimum=1)
        self.check_kernel_sizes(kernel_size=kernel_size, first_kernel_size=first_kernel_size)

        # === Layers ===
        conv = self.masked_conv
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
        output_widths = self.add_output_layers(output_hidden_units)
        # One projection of the condition, split into a bias for every layer.
        self.add_layer_biases([units] + [4 * units, units] * num_layers + output_widths, position_bias)
        self.keep_arguments(locals())
        self.build()

    def compute_params(self, x, condition=None, training=False):
        biases = self.layer_biases(self.project_condition(condition))
        params = self._network(self.scale_inputs(x), self.on_image, lambda layer, h, b: layer(h, bias=b), biases)
        return self.image_params(params)

    def _network(self, h, conv, recur, biases):
        """Every layer after the input scaling, written once for the image and for one pixel.

        `conv(layer, inputs)` is a convolution and `recur(layer, inputs, bias)` a recurrent
        layer, on the whole image (`compute_params`, `fill_cache`) or at one pixel (`step`,
        where `inputs` is the pixel's activations `[b, C]`). `biases` are the layers' summed
        condition and position biases (`layer_biases`), one per layer in order.
        """
        biases = iter(biases)  # shared with `masked`: the recurrent layers take theirs in between
        masked = self.biased_layers(conv, biases)
        h = masked(self.input_conv, h)
        for layer, residual in zip(self.recurrent_layers, self.residual_convs):
            h = h + masked(residual, recur(layer, h, next(biases)))
        return self.output_layers(h, masked)

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None):
        """A zero input buffer `[b, H + kh//2, W + 2 * (kw//2), C]` for the input convolution,
        each recurrent layer's buffers (its `init_cache`) and the projected condition."""
        width, channels = self.event_shape[1:]
        return {
            "inputs": self.image_buffer(batch_size, self.input_conv.kernel_size, channels),
            "layers": {layer.name: layer.init_cache(batch_size, width, self.units) for layer in self.recurrent_layers},
            **self.cached_condition(condition),
        }

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x` that fills every buffer."""
        row = self.known_row(num_known)
        h = self.scale_inputs(x)
        layers = {}

        def recur(layer, inputs, bias):
            outputs, layers[layer.name] = layer.fill_cache(inputs, row, bias)
            return outputs

        self._network(h, self.on_image, recur, self.layer_biases(cache.get("condition")))
        return {**cache, "inputs": self.pad_image(h, self.input_conv.kernel_size), "layers": layers}

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`, every layer at its pixel only."""
        layers, kernel_size = dict(cache["layers"]), self.input_conv.kernel_size
        (row, col, sub), inputs = self.step_prologue(cache["inputs"], x_prev, index, kernel_size)

        def conv(layer, h):
            if h is None:  # the input convolution: the window of the input buffer that ends at the pixel
                return layer.pixel_output(self.pixel_window(inputs, row, col, kernel_size))
            return layer.pixel_output(h)

        def recur(layer, h, bias):
            h, layers[layer.name] = layer.step(h, layers[layer.name], row, col, bias)
            return h

        params = self._network(None, conv, recur, self.layer_biases(cache.get("condition"), (row, col)))
        # for an RGB per-channel head the whole pixel was recomputed: its R, G, B groups of P
        return self.select_subpixel(params, sub), {**cache, "inputs": inputs, "layers": layers}
