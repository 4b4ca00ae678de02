"""ImageModel: what the image models share, written once (checks, input scaling, conditions,
per-layer and per-position biases, the cached step's bookkeeping, the config)."""

import inspect
import numbers

import keras
import numpy as np
from keras import ops

from keras_ar.layers.masked_conv2d import MaskedConv2D
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_ar")
class ImageModel(AutoregressiveModel):
    """The base of the image models: `(height, width, channels)` images, pixels in raster order.

    `PixelCNN`, `GatedPixelCNN`, `PixelCNNPlusPlus`, `PixelRNN` and `PixelCNNAutoEncoder` are
    built on it. A subclass takes `input_shape`, its own arguments and `**kwargs` (passed on
    here), writes its layers in `__init__` and ends it with `self.keep_arguments(locals())` and
    `self.build()`; then its teacher-forced pass `compute_params`, as for every
    `AutoregressiveModel`. This class gives it the rest:

    - Checks at construction: `input_shape` is `(height, width, 1 or 3)`; `check_widths`,
      `check_kernel_sizes`, `check_color_groups` and `check_dropout` for the subclass's own
      arguments (each `ValueError` names the argument and the value received).
    - `color_channels`: 3 when the image is RGB and the head is per channel (`"bernoulli"`,
      `"categorical"`, `"gaussian_mixture"`): the groups of the order are then sub-pixels
      R -> G -> B, and `masked_conv` splits a layer's channels into R, G, B groups, so its
      widths must be multiples of 3. Else 1 (one group per pixel: grey images, or PixelCNN++'s
      coupled RGB head).
    - `scale_inputs(x)`: discrete levels mapped to [-1, 1] (real values as they are), what
      the network sees; `image_params(outputs)`: `[b, H, W, color_channels * num_params]`
      outputs to the head's parameters `[b, *group_shape, num_params]`. `add_output_layers`
      and `output_layers`: the usual ReLU -> optional 1x1 ReLU layer -> 1x1 to the parameters.
    - Conditions. Class labels and vectors arrive as one vector per example (see
      `AutoregressiveModel`). `add_layer_biases(widths)` projects it to one bias per layer
      (`layer_biases`, applied in order by `biased_layers`), with, when its `position_bias` is
      True, a learned bias per position too (no data: causality is unchanged).
      `add_condition_features(filters)` takes a rank-3 `condition_shape` as a condition IMAGE:
      `split_condition` returns its features (a 3x3 "same" ReLU convolution) and
      `condition_map` resizes them to any resolution by nearest repetition.
      `add_position_weights(depth)` and `position_rows` give per-position terms for other uses.
    - A cached `step`: `cached_condition` (what a step needs of the condition),
      `step_prologue` (the row, column and sub-pixel of a group, and the previous group's
      value, scaled, written into the padded input buffer `image_buffer` / `pad_image`),
      `known_row`, `write_pixel`, `pixel_window` (the rows of a buffer that a mask convolution
      reads at a pixel) and `select_subpixel` (the parameters of the current sub-pixel).
    - `get_config` returns every argument of the subclass's constructor, read from the
      attribute of the same name (`keep_arguments` sets them).

    Args:
        input_shape: tuple of 3 ints `(height, width, channels)`, channels 1 or 3.
        **kwargs: `distribution` (`"bernoulli"` by default, `"categorical"`,
            `"logistic_mixture"`, coupled for RGB, or `"gaussian_mixture"`, real values fed
            unscaled), `num_levels` (of a categorical or logistic mixture head),
            `num_components` (of a mixture head), `num_classes`, `condition_shape`,
            `condition_scale`, `name`, as in `AutoregressiveModel`.

    Example: a new image model in a few lines (one masked convolution, a class condition
    through `add_layer_biases`).

    >>> class TinyPixelCNN(ImageModel):
    ...     def __init__(self, input_shape, filters=6, position_bias=False, **kwargs):
    ...         super().__init__(input_shape, **kwargs)
    ...         self.check_widths(filters=filters)
    ...         self.hidden_conv = self.masked_conv(filters, 3, "A", name="hidden_conv")
    ...         self.output_conv = self.masked_conv(self.params_per_pixel, 1, "B", name="output_conv")
    ...         self.add_layer_biases([filters, self.params_per_pixel], position_bias)
    ...         self.keep_arguments(locals())
    ...         self.build()
    ...
    ...     def compute_params(self, x, condition=None, training=False):
    ...         hidden, output = self.layer_biases(self.project_condition(condition))
    ...         h = ops.relu(self.biased(self.hidden_conv(self.scale_inputs(x)), hidden))
    ...         return self.image_params(self.biased(self.output_conv(h), output))
    >>> model = TinyPixelCNN(input_shape=(3, 3, 1), num_classes=2)
    >>> tuple(model.log_prob(np.zeros((2, 3, 3, 1), "int32"), condition=[0, 1]).shape)
    (2,)
    >>> tuple(model.sample(2, condition=1, seed=0).shape)
    (2, 3, 3, 1)
    >>> model.get_config()["filters"]
    6
    """

    def __init__(self, input_shape, **kwargs):
        super().__init__(input_shape, **kwargs)
        if len(self.event_shape) != 3 or self.event_shape[-1] not in (1, 3):
            raise ValueError(
                "`input_shape` must be (height, width, channels) with 1 or 3 channels. "
                f"Received: input_shape={self.event_shape}"
            )
        self.color_channels = 3 if self.event_shape[-1] == 3 and self.head.event_size == 1 else 1
        self.position_bias = False  # set by `add_layer_biases` / `add_position_weights`
        self.spatial_condition = False  # True once `add_condition_features` takes a condition image
        self.condition_conv = None
        self.condition_projection = None
        self.bias_slices = []
        self._position_spec = None  # (name, depth) of the position weights `build` makes

    @property
    def params_per_pixel(self):
        """Output channels of a layer that gives the head's parameters of a whole pixel."""
        return self.color_channels * self.head.num_params

    # ------------------------------------------------------------------ constructor checks
    def check_widths(self, optional=(), **widths):
        """Every width given is an int >= 1 (or None, for the names in `optional`), and with
        colour groups a multiple of 3 (`check_color_groups`); else a `ValueError` naming it."""
        for name, value in widths.items():
            if value is not None or name not in optional:
                check_int(value, name, 1)
        self.check_color_groups(**widths)

    def check_kernel_sizes(self, minimum=1, **sizes):
        """`check_kernel_size` for every `name=value` given."""
        for name, value in sizes.items():
            self.check_kernel_size(value, name, minimum)

    def check_kernel_size(self, value, name, minimum=1):
        """`value` as an int if it is an odd int >= `minimum`, else a `ValueError` naming `name`."""
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum or value % 2 == 0:
            example = f" (e.g. {value + 1})" if isinstance(value, numbers.Integral) and value % 2 == 0 else ""
            raise ValueError(f"`{name}` must be an odd int >= {minimum}{example}. Received: {name}={value!r}")
        return int(value)

    def check_color_groups(self, **widths):
        """With colour groups (`color_channels == 3`), every width given (None skipped) is a multiple of 3."""
        if self.color_channels != 3:
            return
        for name, value in widths.items():
            if value is not None and value % 3:
                raise ValueError(
                    f"With RGB images and a per-channel head, `{name}` must be a multiple of 3 (one group "
                    f"per colour), e.g. {name}={3 * max(1, round(value / 3))}. Received: {name}={value}"
                )

    @staticmethod
    def check_dropout(dropout):
        """`dropout` is a float in [0, 1), else a `ValueError`."""
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1) (e.g. 0.5). Received: dropout={dropout!r}")

    # ------------------------------------------------------------------ layers, inputs, outputs
    def masked_conv(self, filters, kernel_size, mask_type, name, **kwargs):
        """A `MaskedConv2D` with this model's colour groups."""
        return MaskedConv2D(
            filters, kernel_size, mask_type=mask_type, color_channels=self.color_channels, name=name, **kwargs
        )

    def add_output_layers(self, hidden_units):
        """`hidden_conv`, a 1x1 mask-B layer of `hidden_units` (None: no layer), and `output_conv`,
        a 1x1 mask-B layer to a whole pixel's parameters. Returns their widths, for `add_layer_biases`."""
        self.hidden_conv = None if hidden_units is None else self.masked_conv(hidden_units, 1, "B", "hidden_conv")
        self.output_conv = self.masked_conv(self.params_per_pixel, 1, "B", "output_conv")
        return ([] if hidden_units is None else [hidden_units]) + [self.params_per_pixel]

    @staticmethod
    def on_image(layer, inputs):
        """`layer(inputs)`: a layer on the whole image, the `conv` of a pass over the image."""
        return layer(inputs)

    @staticmethod
    def on_pixel(layer, inputs):
        """`layer.pixel_output(inputs)`: a `MaskedConv2D` at one pixel, `[b, C]` (a 1x1) or a window."""
        return layer.pixel_output(inputs)

    def output_layers(self, h, conv=None):
        """ReLU -> `hidden_conv` -> ReLU (when there is one) -> `output_conv`, each layer applied as
        `conv(layer, inputs)` (default `layer(inputs)`: on the image; e.g. `biased_layers`, or
        `pixel_output` at one pixel)."""
        conv = conv or self.on_image
        h = ops.relu(h)
        if self.hidden_conv is not None:
            h = ops.relu(conv(self.hidden_conv, h))
        return conv(self.output_conv, h)

    def scale_inputs(self, x):
        """The network input: discrete levels mapped to [-1, 1]; real values as they are."""
        h = self.head.scale_inputs(x)
        return 2.0 * h - 1.0 if self.head.is_discrete else h

    def image_params(self, outputs):
        """`[b, H, W, color_channels * P]` (C contiguous groups of P) -> `[b, *group_shape, P]`."""
        return ops.reshape(outputs, (-1,) + self.group_shape + (self.head.num_params,))

    # ------------------------------------------------------------------ per-layer and per-position biases
    def add_layer_biases(self, widths, position_bias=False):
        """One bias per layer, of the given widths: a `Dense` projection of the condition
        (`condition_projection`, when the model is conditional) split in slices, plus, with
        `position_bias`, learned `[height, width, sum(widths)]` biases (made in `build`)."""
        self.bias_slices, start = [], 0
        for width in widths:
            self.bias_slices.append((start, start + width))
            start += width
        self.total_bias_width = start
        if self.condition_size:
            self.condition_projection = keras.layers.Dense(start, use_bias=False, name="condition_projection")
        self.add_position_weights(start, position_bias, name="position_biases")

    def project_condition(self, condition):
        """The condition vector projected to every layer's bias `[b, sum(widths)]`, or None."""
        if condition is None or self.condition_projection is None:
            return None
        return self.condition_projection(condition)

    def _summed_bias(self, projection, pixel=None):
        """`projection` (or None) plus the position biases: over the image `[b, H, W, total]`,
        or at `pixel = (row, col)` `[b, total]`; None if neither."""
        total, width = None, self.total_bias_width
        if projection is not None:
            total = projection if pixel is not None else ops.reshape(projection, (-1, 1, 1, width))
        if self.position_bias:
            position = ops.convert_to_tensor(self.position_weights)  # the value: on JAX a variable stays in the trace
            if pixel is not None:
                position = ops.reshape(ops.slice(position, [pixel[0], pixel[1], 0], [1, 1, width]), (1, width))
            total = position if total is None else total + position
        return total

    def layer_biases(self, projection, pixel=None):
        """The bias of every layer, over the image `[b, H, W, width]` or at `pixel = (row, col)`
        `[b, width]`: the condition's `projection` (or None) plus the position biases, as a
        list in the order of `add_layer_biases`' widths; None entries when there is neither."""
        bias = self._summed_bias(projection, pixel)
        return [None if bias is None else bias[..., a:b] for a, b in self.bias_slices]

    @staticmethod
    def biased(outputs, bias):
        """`outputs + bias`, or `outputs` when `bias` is None."""
        return outputs if bias is None else outputs + bias

    def biased_layers(self, conv, biases):
        """`apply(layer, inputs)`: `conv(layer, inputs)` plus the next of `biases` (`layer_biases`,
        taken in order). Pass an iterator to take a bias for another use in between."""
        biases = iter(biases)
        return lambda layer, inputs: self.biased(conv(layer, inputs), next(biases))

    def add_position_weights(self, depth, position_bias, name="position_biases"):
        """With `position_bias` (a bool, checked here), `build` makes learned `[height, width, depth]`
        terms, `position_weights`, initialised to zeros."""
        if not isinstance(position_bias, bool):
            raise ValueError(f"`position_bias` must be a bool. Received: position_bias={position_bias!r}")
        self.position_bias = position_bias
        self._position_spec = (name, depth)

    def position_rows(self, row, num_rows):
        """The position weights of rows `row .. row + num_rows - 1`, `[1, num_rows, W, depth]`."""
        weights = ops.convert_to_tensor(self.position_weights)  # the value: on JAX a variable stays in the trace
        width, depth = self.event_shape[1], self._position_spec[1]
        return ops.expand_dims(ops.slice(weights, [row, 0, 0], [num_rows, width, depth]), 0)

    def build(self, input_shape=None):
        if self.position_bias and self._position_spec and getattr(self, "position_weights", None) is None:
            name, depth = self._position_spec
            self.position_weights = self.add_weight(
                name=name, shape=self.event_shape[:2] + (depth,), initializer="zeros"
            )
        super().build(input_shape)

    # ------------------------------------------------------------------ condition images
    def add_condition_features(self, filters):
        """Take a rank-3 `condition_shape` as a condition image: a 3x3 "same" ReLU convolution
        to `filters` features (`condition_conv`). Vectors and labels are left as they are."""
        if self.condition_shape is not None and len(self.condition_shape) == 3:
            self.spatial_condition = True
            self.condition_conv = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", data_format="channels_last", name="condition_conv"
            )

    def split_condition(self, condition):
        """`(vector, features)`: the condition vector `[b, d]` (labels, vectors) or None, and a
        condition image's features `[b, h, w, filters]` at its own size or None."""
        if condition is None or not self.spatial_condition:
            return condition, None
        return None, self.condition_conv(ops.reshape(condition, (-1,) + self.condition_shape))

    def condition_map(self, features, size, row=0, num_rows=None):
        """Condition features resized to `size = (rows, cols)` by nearest repetition (row i
        reads feature row `i * h // rows`): all rows, or rows `row .. row + num_rows - 1`
        (`row` may be a tensor). None when `features` is None."""
        if features is None:
            return None
        (rows, cols), (h, w) = size, self.condition_shape[:2]
        at_rows = (np.arange(rows) * h // rows).astype("int32")
        if num_rows is not None:
            at_rows = ops.slice(ops.convert_to_tensor(at_rows), [row], [num_rows])
        return ops.take(ops.take(features, at_rows, axis=1), (np.arange(cols) * w // cols).astype("int32"), axis=2)

    # ------------------------------------------------------------------ the cached step's bookkeeping
    def cached_condition(self, condition):
        """What a cached step needs of `condition`, as cache entries: `"condition"`, the vector
        (projected to the layers' biases when the model has `add_layer_biases`'s projection)
        and `"features"`, a condition image's features; an entry is absent when it is None."""
        vector, features = self.split_condition(condition)
        if self.condition_projection is not None:
            vector = self.project_condition(vector)
        return {key: value for key, value in (("condition", vector), ("features", features)) if value is not None}

    def step_prologue(self, buffer, x_prev, index, kernel_size):
        """`(row, col, sub)` of the group at `index` (`step_position`) and `buffer`, the padded
        input of a `kernel_size` mask convolution, with `x_prev` written in (`write_previous`)."""
        return self.step_position(index), self.write_previous(buffer, x_prev, index, kernel_size)

    def known_row(self, num_known):
        """The row of order position `num_known` (the last row when every group is known)."""
        return ops.minimum(self.step_position(num_known)[0], self.event_shape[0] - 1)

    def step_position(self, index):
        """`(row, col, sub)` int32 of the group at order position `index`: its pixel, and its
        channel when the groups are sub-pixels (0 otherwise)."""
        index = ops.convert_to_tensor(index, "int32")
        width = self.event_shape[1]
        if self.color_channels == 3:
            pixel, sub = index // 3, index % 3
        else:
            pixel, sub = index, ops.zeros((), "int32")
        return pixel // width, pixel % width, sub

    def image_buffer(self, batch_size, kernel_size, depth):
        """Zeros `[b, H + kh//2, W + 2 * (kw//2), depth]`: an input padded as `pad_image` pads it."""
        kh, kw = _pair(kernel_size)
        height, width = self.event_shape[:2]
        return ops.zeros((batch_size, height + kh // 2, width + 2 * (kw // 2), depth), "float32")

    @staticmethod
    def pad_image(h, kernel_size):
        """`h` `[b, H, W, C]` padded with `kh//2` rows above and `kw//2` columns each side."""
        kh, kw = _pair(kernel_size)
        return ops.pad(h, [[0, 0], [kh // 2, 0], [kw // 2, kw // 2], [0, 0]])

    def write_previous(self, buffer, x_prev, index, kernel_size):
        """`buffer` (a padded image input) with `x_prev`, the value of the group at position
        `index - 1`, scaled as `compute_params` scales it, written in its place. At index 0
        `x_prev` (zeros) goes where nothing reads it yet."""
        width, channels = self.event_shape[1:]
        per_channel = self.color_channels == 3
        prev = ops.maximum(ops.convert_to_tensor(index, "int32") - 1, 0)
        pixel = prev // 3 if per_channel else prev
        kh, kw = _pair(kernel_size)
        value = ops.reshape(self.scale_inputs(x_prev), (-1, 1, 1, 1 if per_channel else channels))
        start = [0, pixel // width + kh // 2, pixel % width + kw // 2, prev % 3 if per_channel else 0]
        return ops.slice_update(buffer, start, value)

    @staticmethod
    def write_pixel(buffer, h, row, col, kernel_size):
        """`buffer` (a padded input) with the activations `h` `[b, C]` written at `(row, col)`."""
        kh, kw = _pair(kernel_size)
        update = ops.reshape(h, (-1, 1, 1, ops.shape(h)[-1]))
        return ops.slice_update(buffer, [0, row + kh // 2, col + kw // 2, 0], update)

    @staticmethod
    def pixel_window(buffer, row, col, kernel_size):
        """The window of a padded input that a mask convolution reads at `(row, col)`: the rows
        above and the pixel's own row (rows below are masked out), `[b, kh//2 + 1, kw, C]`."""
        kh, kw = _pair(kernel_size)
        return ops.slice(buffer, [0, row, col, 0], [ops.shape(buffer)[0], kh // 2 + 1, kw, ops.shape(buffer)[-1]])

    def select_subpixel(self, params, sub):
        """The parameters `[b, P]` of the current group from a whole pixel's `[b, color_channels * P]`."""
        if self.color_channels != 3:
            return params
        return ops.take(ops.reshape(params, (-1, 3, self.head.num_params)), sub, axis=1)

    # ------------------------------------------------------------------ config
    def keep_arguments(self, arguments):
        """Set one attribute per argument of the subclass's constructor from `arguments` (its
        `locals()`, values as used: reassign a normalised argument first); names it lacks (a
        further subclass's arguments) are left to that subclass. Returns them as a dict."""
        kept = {name: arguments[name] for name in _constructor_arguments(type(self)) if name in arguments}
        for name, value in kept.items():
            setattr(self, name, value)
        return kept

    def get_config(self):
        """`AutoregressiveModel`'s config plus every argument of the subclass's constructor."""
        config = super().get_config()
        for name in _constructor_arguments(type(self)):
            config[name] = getattr(self, name)
        return config


_BASE_ARGUMENTS = set(inspect.signature(AutoregressiveModel.__init__).parameters)


def _constructor_arguments(cls):
    """The named arguments of the constructors from `cls` up to (not including) `ImageModel`'s."""
    names = []
    for klass in cls.__mro__:
        if klass is ImageModel:
            break
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                plain = p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                if plain and p.name not in _BASE_ARGUMENTS and p.name not in names:
                    names.append(p.name)
    return names


def _pair(size):
    return (size, size) if isinstance(size, numbers.Integral) else tuple(size)
