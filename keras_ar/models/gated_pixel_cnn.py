"""Gated PixelCNN: vertical and horizontal stacks of gated units, no blind spot, cached sampling."""

import keras
from keras import ops

from keras_ar.layers.gated_block import GatedBlock
from keras_ar.models.image_model import ImageModel
from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class GatedPixelCNN(ImageModel):
    """Gated PixelCNN: `num_blocks` `GatedBlock`s, summed skip outputs, a 1x1 output network.

    The image (levels mapped to [-1, 1]) enters the first `GatedBlock` (mask A,
    `first_kernel_size`) as both its vertical and its horizontal input; `num_blocks - 1`
    mask-B blocks (`kernel_size`, residual horizontal stacks) follow. The skip outputs of
    every block are summed, then ReLU -> 1x1 conv to `output_hidden_units` -> ReLU -> 1x1
    conv to the head parameters (both mask B). The vertical stack reaches a pixel only
    through rows above it and the horizontal stack through the pixels left of it in its
    row, so every pixel sees every earlier pixel within the receptive field: there is no
    blind spot. Pixels come in raster order.

    With RGB images and a per-channel head (`"bernoulli"`, `"categorical"`,
    `"gaussian_mixture"`) the horizontal stack and every 1x1 convolution split their
    channels into three contiguous R, G, B groups, so a channel sees the earlier channels
    of its own pixel only; `filters`, `skip_filters` and `output_hidden_units` must then
    be multiples of 3. The defaults (96) are, so the defaults build and train on any
    image from `(1, 2, 1)` to `(32, 32, 3)` with every head. With
    `distribution="logistic_mixture"` and RGB the head is PixelCNN++'s coupled one: the
    network sees no channel of the current pixel and outputs one parameter set per pixel.

    Conditioning is added to the pre-activations of both stacks of every block:
    - `num_classes=K` (integer labels, one-hot) or a vector `condition_shape` of rank 1
      or 2 (flattened): a learned `V^T h` per block, broadcast over the image.
    - `condition_shape=(h, w, c)` of rank 3 is a condition IMAGE `[b, h, w, c]` (a 4x4
      image for super-resolution, the grey image for colorization): a 3x3 "same"
      convolution to `filters` ReLU features, upsampled to the image size by nearest
      repetition (row `i` reads condition row `i * h // height`), then a 1x1 into every
      block. Pass a rank-3 vector flattened to use it as a vector instead.
    `position_bias=True` adds a learned `[height, width, filters]` map through the same
    1x1s (per-position biases: no data, so causality is unchanged).

    Sampling runs through the generation engine with a cached step: the vertical
    stacks of row r - 1 are computed once, when the first pixel of row r is drawn (the
    horizontal stack only sees rows above through them), and each step computes the
    horizontal stacks at the current pixel only, from per-block buffers of their inputs.
    A step costs O(num_blocks * kernel_size * filters^2), plus one row of vertical stacks
    per row; it draws the same samples as `sample(use_cache=False)`.

    Args:
        input_shape: `(height, width, channels)`, channels 1 or 3.
        filters: int. Channels of both stacks (a multiple of 3 for RGB with a per-channel
            head). Defaults to 96.
        num_blocks: int >= 1. Gated blocks, the first one mask A. Defaults to 6.
        kernel_size: odd int >= 3. Kernel of the mask-B blocks: `(k//2 + 1) x k` vertical,
            `1 x (k//2 + 1)` horizontal. Defaults to 3.
        first_kernel_size: odd int >= 3. Kernel of the first block. Defaults to 7.
        skip_filters: int or None. Channels of the skip outputs; None for `filters`.
        output_hidden_units: int or None. Width of the 1x1 ReLU layer before the output
            layer; None for `skip_filters`.
        dropout: float in [0, 1). Dropout on the gated horizontal units while training.
        position_bias: bool. Learned per-position terms in every block (see above).
            Defaults to False.
        **kwargs: `distribution` (`"bernoulli"` by default), `num_levels`, `num_components`,
            `num_classes`, `condition_shape` (see above), `condition_scale` (e.g. 255.0: condition
            images are divided by it inside the model), `name`, as in `ImageModel`.

    Example:

    >>> model = GatedPixelCNN(input_shape=(4, 4, 1), filters=6, num_blocks=2)
    >>> tuple(model.log_prob(keras.ops.zeros((2, 4, 4, 1))).shape)
    (2,)
    >>> sr = GatedPixelCNN(input_shape=(4, 4, 1), filters=6, num_blocks=2, condition_shape=(2, 2, 1))
    >>> tuple(sr.sample(3, condition=keras.ops.ones((3, 2, 2, 1)), seed=0).shape)
    (3, 4, 4, 1)

    Reference:
        van den Oord et al., "Conditional Image Generation with PixelCNN Decoders",
        NeurIPS 2016.
    """

    def __init__(
        self,
        input_shape,
        filters=96,
        num_blocks=6,
        kernel_size=3,
        first_kernel_size=7,
        skip_filters=None,
        output_hidden_units=None,
        dropout=0.0,
        position_bias=False,
        **kwargs,
    ):
        super().__init__(input_shape, **kwargs)
        self.check_widths(
            filters=filters,
            skip_filters=skip_filters,
            output_hidden_units=output_hidden_units,
            optional=("skip_filters", "output_hidden_units"),
        )
        check_int(num_blocks, "num_blocks", 1)
        self.check_kernel_sizes(3, kernel_size=kernel_size, first_kernel_size=first_kernel_size)
        self.check_dropout(dropout)
        self.add_position_weights(filters, position_bias, name="position_embedding")

        # === Layers ===
        skip = filters if skip_filters is None else skip_filters
        self.blocks = [
            GatedBlock(
                filters,
                first_kernel_size if i == 0 else kernel_size,
                mask_type="A" if i == 0 else "B",
                color_channels=self.color_channels,
                skip_filters=skip,
                dropout=dropout,
                horizontal_output=i + 1 < num_blocks,  # the last block gives its skip output only
                name=f"block{i}",
            )
            for i in range(num_blocks)
        ]
        self.add_output_layers(skip if output_hidden_units is None else output_hidden_units)
        self.add_condition_features(filters)
        self.keep_arguments(locals())
        self.build()

    def compute_params(self, x, condition=None, training=False):
        vector, features = self.split_condition(condition)
        feature_map = self._feature_rows(features, 0, self.event_shape[0])
        return self.image_params(self.output_layers(self._stacks(self.scale_inputs(x), vector, feature_map, training)))

    def _stacks(self, h, vector, feature_map, training=False, inputs=None):
        """Every block on the scaled image; the summed skips. `inputs` collects each block's (v, h)."""
        v, skips = h, None
        for block in self.blocks:
            if inputs is not None:
                inputs.append((v, h))
            v, h, skip = block((v, h), condition=vector, condition_map=feature_map, training=training)
            skips = skip if skips is None else skips + skip
        return skips

    def _feature_rows(self, features, row, num_rows):
        """The blocks' condition map for image rows `row .. row + num_rows - 1` (`row` may be a
        tensor): the condition image's features upsampled by nearest repetition plus the
        position embedding, `[b, R, W, filters]`; None when the model has neither."""
        total = self.condition_map(features, self.event_shape[:2], row, num_rows)
        if self.position_bias:
            position = self.position_rows(row, num_rows)
            total = position if total is None else total + position
        return total

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None):
        """Zero buffers of the blocks' inputs: the vertical inputs over the image, padded,
        `[b, H + k//2, W + 2 * (k//2), C]` (the first one is the image, also read by the first
        horizontal stack), the horizontal inputs of the later blocks over one row
        `[b, W + k//2, filters]`; the links of the current row `[b, W, 2 * filters]`; the condition."""
        width, channels = self.event_shape[1:]
        vertical, horizontal, links = [], [], []
        for i, block in enumerate(self.blocks):
            pad = block.kernel_size // 2
            vertical.append(self.image_buffer(batch_size, block.kernel_size, channels if i == 0 else self.filters))
            if i:
                horizontal.append(ops.zeros((batch_size, width + pad, self.filters), "float32"))
            links.append(ops.zeros((batch_size, width, 2 * self.filters), "float32"))
        return {"vertical": vertical, "horizontal": horizontal, "links": links, **self.cached_condition(condition)}

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x`: every block's inputs into its buffers, and the links
        of the row of position `num_known`."""
        width, channels = self.event_shape[1:]
        vector, features = cache.get("condition"), cache.get("features")
        inputs = []
        feature_map = self._feature_rows(features, 0, self.event_shape[0])
        self._stacks(self.scale_inputs(x), vector, feature_map, inputs=inputs)
        row = self.known_row(num_known)
        vertical, horizontal = [], []
        for i, (block, (v, h)) in enumerate(zip(self.blocks, inputs)):
            pad = block.kernel_size // 2
            vertical.append(self.pad_image(v, block.kernel_size))
            if i:
                current = ops.slice(h, [0, row, 0, 0], [ops.shape(h)[0], 1, width, self.filters])[:, 0]
                horizontal.append(ops.pad(current, [[0, 0], [pad, 0], [0, 0]]))
        zeros = [ops.zeros_like(link) for link in cache["links"]]
        vertical, links = ops.cond(
            row > 0, lambda: self._vertical_rows(vertical, cache, row), lambda: (vertical, zeros)
        )
        return {**cache, "vertical": vertical, "horizontal": horizontal, "links": links}

    def _vertical_rows(self, vertical, cache, row):
        """The vertical stacks of row `row - 1` (complete in the buffers), block by block: their
        outputs into the next block's buffer, their links (for row `row`) returned."""
        width = self.event_shape[1]
        above = row - 1
        feature_row = self._feature_rows(cache.get("features"), above, 1)
        vertical, links = list(vertical), []
        for i, block in enumerate(self.blocks):
            pad = block.kernel_size // 2
            buffer = vertical[i]
            size = [ops.shape(buffer)[0], pad + 1, width + 2 * pad, ops.shape(buffer)[-1]]
            window = ops.slice(buffer, [0, above, 0, 0], size)
            out, link = block.vertical_stack(window, cache.get("condition"), feature_row)
            links.append(link[:, 0])
            if i + 1 < len(self.blocks):
                nxt = self.blocks[i + 1].kernel_size // 2
                vertical[i + 1] = ops.slice_update(vertical[i + 1], [0, above + nxt, nxt, 0], out)
        return vertical, links

    def step(self, cache, x_prev, index):
        """Params `[b, num_params]` of the group at `index`: the horizontal stacks at its pixel
        only, after the vertical stacks of the row above when the pixel starts a row."""
        channels, n, pad0 = self.event_shape[-1], ops.shape(x_prev)[0], self.blocks[0].kernel_size // 2
        vertical = list(cache["vertical"])
        (row, col, sub), vertical[0] = self.step_prologue(vertical[0], x_prev, index, self.blocks[0].kernel_size)

        new_row = ops.logical_and(ops.logical_and(ops.equal(col, 0), ops.equal(sub, 0)), row > 0)
        vertical, links = ops.cond(
            new_row, lambda: self._vertical_rows(vertical, cache, row), lambda: (vertical, list(cache["links"]))
        )

        vector, feature = cache.get("condition"), self._feature_rows(cache.get("features"), row, 1)
        if feature is not None:
            feature = ops.reshape(ops.take(feature, col, axis=2), (-1, self.filters))
        horizontal, h, skips = list(cache["horizontal"]), None, None
        for i, block in enumerate(self.blocks):
            pad = block.kernel_size // 2
            if i == 0:  # the image row, from the vertical buffer
                window = ops.slice(vertical[0], [0, row + pad0, col, 0], [n, 1, pad0 + 1, channels])[:, 0]
            else:
                horizontal[i - 1] = ops.slice_update(horizontal[i - 1], [0, col + pad, 0], ops.expand_dims(h, 1))
                window = ops.slice(horizontal[i - 1], [0, col, 0], [n, pad + 1, self.filters])
            link = ops.take(links[i], col, axis=1)
            h, skip = block.horizontal_pixel(window, link, vector, feature)
            skips = skip if skips is None else skips + skip
        # for an RGB per-channel head the whole pixel was recomputed: its R, G, B groups of P
        params = self.select_subpixel(self.output_layers(skips, self.on_pixel), sub)
        return params, {**cache, "vertical": vertical, "horizontal": horizontal, "links": links}
