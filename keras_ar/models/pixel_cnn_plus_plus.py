"""PixelCNN++: two shifted streams, gated resnets over several resolutions, a logistic mixture head."""

import math

import keras
from keras import ops

from keras_ar.layers.gated_resnet import GatedResnet
from keras_ar.layers.shifted_conv2d import ShiftedConv2D
from keras_ar.layers.shifted_conv2d_transpose import ShiftedConv2DTranspose
from keras_ar.models.image_model import ImageModel
from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelCNNPlusPlus(ImageModel):
    """PixelCNN++: a down stream and a down-right stream of gated resnets, down- and up-sampled.

    The image (levels mapped to [-1, 1], plus a channel of ones that tells the image from the
    zero padding) starts two streams: `u`, which at pixel (r, c) sees the rows above r (a
    `2 x 3` down-shifted convolution, shifted down one row), and `ul`, which also sees the
    pixels left of c in row r (a `1 x 3` convolution of the row above plus a `2 x 1` one
    shifted right one column). `ShiftedConv2D`s keep them so, with no blind spot and no masks.
    The up pass runs `num_blocks` `GatedResnet`s per resolution (the `ul` block takes `u` as
    auxiliary input) with stride-2 shifted convolutions between resolutions; the down pass
    goes back up with `ShiftedConv2DTranspose`s cropped to each resolution's shape and
    `num_blocks` (`num_blocks + 1` above the lowest resolution) gated resnets that take the
    up pass's outputs, popped in reverse, as shortcuts. A 1x1 of elu(`ul`) gives the head
    parameters of every pixel.

    Resolutions adapt to the image: a map is halved (rounding up, so odd sizes work) only
    while both its sides are at least 2, up to `num_stages` resolutions in all: an 8x8 image
    runs at 8x8, 4x4 and 2x2, a 5x7 one at 5x7, 3x4 and 2x2, a 1x2 one at 1x2 only. Every
    stride-2 output (i, j) reads the window that ends at (2i, 2j), and the transposed
    convolution writes it back from there on, so the output at pixel (r, c) depends on the
    pixels before it in raster order only, for every image size.

    The default head is the discretized logistic mixture (`num_levels=256` unless given):
    with RGB it is PixelCNN++'s coupled one (R -> G -> B inside the pixel by linear mean
    shifts), one parameter set per pixel. Per-channel heads (`"bernoulli"`, `"categorical"`,
    `"gaussian_mixture"`) work too: with RGB a small colour network follows the streams,
    1x1 convolutions whose units form R, G, B groups (`3 * ceil(filters / 3)` units): elu(a 1x1
    of elu(`ul`) + a mask-A `MaskedConv2D` of the current pixel's channels) -> a mask-B 1x1 to
    the parameters, so G sees R and B sees R and G of its own pixel. No width has to be a
    multiple of 3, so the defaults build and train on any image from `(1, 2, 1)` to
    `(32, 32, 3)` with every head (0.97M parameters at `(8, 8, 1)` with the default head).

    Conditioning, added inside every gated resnet before its gate (as `GatedPixelCNN` takes it):
    - `num_classes=K` (integer labels, one-hot) or a vector `condition_shape` of rank 1 or 2
      (flattened): a learned projection `V^T h` per block, broadcast over the image.
    - `condition_shape=(h, w, c)` of rank 3 is a condition IMAGE `[b, h, w, c]` (the small
      image for super-resolution, the grey image for colorization): a 3x3 "same" convolution
      to `filters` ReLU features, resized by nearest repetition to each resolution of the
      network (row i of an `R`-row map reads feature row `i * h // R`), then a 1x1 in every
      block.

    Sampling uses the generation engine's naive step (one full pass per pixel, or per
    sub-pixel for per-channel RGB heads): a cached step is not implemented, as the strided
    down- and up-sampling would need caches per resolution. `sample(use_cache=True)` and
    `use_cache=False` therefore run the same loop. No weight normalisation or data-dependent
    initialisation: the second convolution of each gated resnet starts small instead.

    Args:
        input_shape: `(height, width, channels)`, channels 1 or 3.
        distribution: `"logistic_mixture"` (default; coupled for RGB), `"bernoulli"`,
            `"categorical"` or `"gaussian_mixture"` (real values, fed unscaled).
        num_levels: int. Levels of a categorical or logistic mixture head; None means 256
            for the logistic mixture.
        filters: int. Channels of both streams. Defaults to 32 (PixelCNN++ used 160 on CIFAR-10).
        num_blocks: int >= 1. Gated resnets per stream and resolution in the up pass
            (one more above the lowest resolution in the down pass). Defaults to 2.
        num_stages: int >= 1. The most resolutions (fewer on small images, see above).
            Defaults to 3, as in PixelCNN++.
        dropout: float in [0, 1). Dropout inside every gated resnet while training.
            Defaults to 0.5, as in PixelCNN++.
        **kwargs: `num_components` (the head's default, 5, if None), `num_classes`,
            `condition_shape` (see above), `condition_scale` (e.g. 255.0: condition images are
            divided by it inside the model), `name`, as in `ImageModel`.

    Example:

    >>> model = PixelCNNPlusPlus(input_shape=(5, 7, 1), filters=4, num_blocks=1)
    >>> model.stage_shapes
    [(5, 7), (3, 4), (2, 2)]
    >>> tuple(model.log_prob(keras.ops.zeros((2, 5, 7, 1), "int32")).shape)
    (2,)
    >>> labels = PixelCNNPlusPlus(input_shape=(1, 2, 3), filters=4, num_blocks=1, num_classes=10)
    >>> tuple(labels.sample(2, condition=[0, 9], seed=0).shape)
    (2, 1, 2, 3)

    Reference:
        [Salimans et al., 2017. PixelCNN++: Improving the PixelCNN with discretized
        logistic mixture likelihood and other modifications](https://arxiv.org/abs/1701.05517);
        van den Oord et al., "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.
    """

    def __init__(
        self,
        input_shape,
        distribution="logistic_mixture",
        num_levels=None,
        filters=32,
        num_blocks=2,
        num_stages=3,
        dropout=0.5,
        **kwargs,
    ):
        if distribution == "logistic_mixture" and num_levels is None:
            num_levels = 256
        super().__init__(input_shape, distribution=distribution, num_levels=num_levels, **kwargs)
        for value, name in ((filters, "filters"), (num_blocks, "num_blocks"), (num_stages, "num_stages")):
            check_int(value, name, 1)  # no multiples of 3: the colour network rounds its own width
        self.check_dropout(dropout)
        color = self.color_channels
        shapes = [tuple(self.event_shape[:2])]
        while len(shapes) < num_stages and min(shapes[-1]) >= 2:
            shapes.append(tuple(math.ceil(d / 2) for d in shapes[-1]))
        self.stage_shapes = shapes

        # === Layers ===
        self.u_input = ShiftedConv2D(filters, (2, 3), direction="down", name="u_input")
        self.ul_input_above = ShiftedConv2D(filters, (1, 3), direction="down", name="ul_input_above")
        self.ul_input_left = ShiftedConv2D(filters, (2, 1), direction="down_right", name="ul_input_left")

        stages = len(shapes)
        self.down_counts = [num_blocks + (s < stages - 1) for s in range(stages)]  # blocks per stage, down pass

        def resnets(direction, stream, prefix, counts):
            return [
                GatedResnet(filters, direction, dropout=dropout, name=f"{prefix}{s}_{stream}{i}")
                for s, count in enumerate(counts)
                for i in range(count)
            ]

        # flat lists (stage after stage): what Keras tracks and saves
        self.up_u = resnets("down", "u", "up", [num_blocks] * stages)
        self.up_ul = resnets("down_right", "ul", "up", [num_blocks] * stages)
        self.down_u = resnets("down", "u", "down", self.down_counts)
        self.down_ul = resnets("down_right", "ul", "down", self.down_counts)

        def resample(layer, kernel, direction, name):  # a stride-2 layer between every two resolutions
            return [layer(filters, kernel, direction=direction, strides=2, name=name % i) for i in range(stages - 1)]

        self.downsample_u = resample(ShiftedConv2D, (2, 3), "down", "downsample%d_u")
        self.downsample_ul = resample(ShiftedConv2D, (2, 2), "down_right", "downsample%d_ul")
        self.upsample_u = resample(ShiftedConv2DTranspose, (2, 3), "down", "upsample%d_u")
        self.upsample_ul = resample(ShiftedConv2DTranspose, (2, 2), "down_right", "upsample%d_ul")
        if color == 3:  # R, G, B groups of units at the current pixel
            hidden = 3 * math.ceil(filters / 3)
            self.color_context = keras.layers.Conv2D(hidden, 1, data_format="channels_last", name="color_context")
            self.color_input = self.masked_conv(hidden, 1, "A", "color_input", use_bias=False)
            self.output_conv = self.masked_conv(self.params_per_pixel, 1, "B", "output_conv")
        else:  # PixelCNN++'s "nin"
            self.output_conv = keras.layers.Conv2D(
                self.params_per_pixel, 1, data_format="channels_last", name="output_conv"
            )
        self.add_condition_features(filters)
        self.keep_arguments(locals())
        self.build()

    def compute_params(self, x, condition=None, training=False):
        vector, maps = self._conditions(condition)
        h = self.scale_inputs(x)
        padded = ops.concatenate([h, ops.ones_like(h[..., :1])], axis=-1)  # ones: the image, zeros: padding
        u = _down_shift(self.u_input(padded))
        ul = _down_shift(self.ul_input_above(padded)) + _right_shift(self.ul_input_left(padded))

        stages, n = len(self.stage_shapes), self.num_blocks
        us, uls = [u], [ul]  # the up pass: every output is a shortcut for the down pass
        for s in range(stages):
            if s:
                u, ul = self.downsample_u[s - 1](u), self.downsample_ul[s - 1](ul)
                us.append(u)
                uls.append(ul)
            for block_u, block_ul in zip(self.up_u[s * n : (s + 1) * n], self.up_ul[s * n : (s + 1) * n]):
                u = block_u(u, condition=vector, condition_map=maps[s], training=training)
                ul = block_ul(ul, aux=u, condition=vector, condition_map=maps[s], training=training)
                us.append(u)
                uls.append(ul)

        u, ul = us.pop(), uls.pop()  # the down pass, from the lowest resolution up
        end = len(self.down_u)
        for s in reversed(range(stages)):
            if s < stages - 1:
                u = self.upsample_u[s](u, output_size=self.stage_shapes[s])
                ul = self.upsample_ul[s](ul, output_size=self.stage_shapes[s])
            start = end - self.down_counts[s]
            for block_u, block_ul in zip(self.down_u[start:end], self.down_ul[start:end]):
                u = block_u(u, aux=us.pop(), condition=vector, condition_map=maps[s], training=training)
                aux = ops.concatenate([u, uls.pop()], axis=-1)
                ul = block_ul(ul, aux=aux, condition=vector, condition_map=maps[s], training=training)
            end = start
        return self._output(ops.elu(ul), h)

    def _output(self, features, h):
        """Head parameters `[b, *group_shape, P]` from the final `ul` features (and, for per-channel
        RGB heads, the current pixel's channels `h` through the colour groups)."""
        if self.color_channels == 3:
            hidden = ops.elu(self.color_context(features) + self.color_input(h))
            params = self.output_conv(hidden)  # [b, H, W, 3 * P]: R, G, B groups of P
        else:
            params = self.output_conv(features)
        return self.image_params(params)

    def _conditions(self, condition):
        """The condition vector `[b, d]` (or None) and the condition map of every resolution."""
        vector, features = self.split_condition(condition)
        return vector, [self.condition_map(features, shape) for shape in self.stage_shapes]


def _down_shift(x):
    """Row r gets row r - 1 (zeros in row 0)."""
    return ops.pad(x[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]])


def _right_shift(x):
    """Column c gets column c - 1 (zeros in column 0)."""
    return ops.pad(x[:, :, :-1], [[0, 0], [0, 0], [1, 0], [0, 0]])

