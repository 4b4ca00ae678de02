"""What the masked-convolution image models (`PixelCNN`, `PixelRNN`) share: input scaling, and one
projection of the condition (plus optional per-position biases) split into a bias for every layer."""

import keras
from keras import ops


def centered_inputs(head, x):
    """The network input: discrete levels mapped to [-1, 1]; real values as they are."""
    h = head.scale_inputs(x)
    return 2.0 * h - 1.0 if head.is_discrete else h


class LayerBiases:
    """Mixin for an `AutoregressiveModel` whose layers each take an additive bias.

    `_init_biases(widths, position_bias)` (in `__init__`) makes one `Dense` projection of the
    condition to `sum(widths)` units (when the model is conditional) and records the slice of
    every layer; `_build_biases()` (in `build`) adds the `[height, width, sum(widths)]`
    position biases when `position_bias` is True. `_bias(projection, pixel)` sums the two
    over the image or at one pixel, and `_bias_slots(bias)` hands out each layer's slice in
    order. Position biases do not depend on the data, so causality is unchanged.
    """

    def _init_biases(self, widths, position_bias):
        if not isinstance(position_bias, bool):
            raise ValueError(f"`position_bias` must be a bool. Received: position_bias={position_bias!r}")
        self.position_bias = position_bias
        self.bias_slices, start = [], 0
        for w in widths:
            self.bias_slices.append((start, start + w))
            start += w
        self.total_bias_width = start
        self.condition_projection = (
            keras.layers.Dense(start, use_bias=False, name="condition_projection") if self.condition_size else None
        )

    def _build_biases(self):
        if self.position_bias and not hasattr(self, "position_biases"):
            self.position_biases = self.add_weight(
                name="position_biases", shape=self.event_shape[:2] + (self.total_bias_width,), initializer="zeros"
            )

    def _scale_inputs(self, x):
        return centered_inputs(self.head, x)

    def _project_condition(self, condition):
        return None if self.condition_projection is None else self.condition_projection(condition)

    def _bias(self, projection, pixel=None):
        """Projected condition `[b, total]` (or None) plus position biases: over the image
        `[b, H, W, total]`, or at `pixel = (row, col)` `[b, total]`; None if neither."""
        total, width = None, self.total_bias_width
        if projection is not None:
            total = projection if pixel is not None else ops.reshape(projection, (-1, 1, 1, width))
        if self.position_bias:
            position = self.position_biases
            if pixel is not None:
                position = ops.reshape(ops.slice(position, [pixel[0], pixel[1], 0], [1, 1, width]), (1, width))
            total = position if total is None else total + position
        return total

    def _bias_slots(self, bias):
        """A function that returns the next layer's slice of `bias` (None when `bias` is None)."""
        slots = iter(self.bias_slices)

        def sliced():
            a, b = next(slots)
            return None if bias is None else bias[..., a:b]

        return sliced
