"""A new image model on `ImageModel` is one short file: the tiny model below gets input scaling,
colour groups, class conditions, position biases, the checks and its config from the base."""

import numpy as np
import pytest
from keras import ops

from keras_ar.models.image_model import ImageModel
from tests import helpers


class TinyPixelCNN(ImageModel):
    """One mask-A convolution, a ReLU and a 1x1 mask-B head, biased by the condition."""

    def __init__(self, input_shape, filters=6, position_bias=False, **kwargs):
        super().__init__(input_shape, **kwargs)
        self.check_color_groups(filters=filters)
        self.hidden_conv = self.masked_conv(filters, 3, "A", name="hidden_conv")
        self.output_conv = self.masked_conv(self.params_per_pixel, 1, "B", name="output_conv")
        self.add_layer_biases([filters, self.params_per_pixel], position_bias)
        self.filters = filters
        self.build()

    def compute_params(self, x, condition=None, training=False):
        hidden, output = self.layer_biases(self.project_condition(condition))
        h = ops.relu(self.biased(self.hidden_conv(self.scale_inputs(x)), hidden))
        return self.image_params(self.biased(self.output_conv(h), output))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(3, 3, 1)),  # 512 configurations
        dict(input_shape=(1, 2, 3), distribution="categorical", num_levels=2),  # R -> G -> B groups
        dict(input_shape=(2, 2, 1), num_classes=2, position_bias=True),
    ],
)
def test_a_new_image_model_is_causal_and_normalized(kwargs):
    model = TinyPixelCNN(**kwargs)
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1)
    helpers.assert_normalized_for_every_condition(model)


def test_config_and_checks_come_from_the_base():
    model = TinyPixelCNN(input_shape=(2, 2, 1), filters=3, num_classes=2, position_bias=True)
    config = model.get_config()
    assert (config["filters"], config["position_bias"], config["num_classes"]) == (3, True, 2)
    assert TinyPixelCNN.from_config(config).get_config() == config
    assert [w.path.split("/")[-1] for w in model.weights].count("position_biases") == 1
    with pytest.raises(ValueError, match="filters=4"):
        TinyPixelCNN(input_shape=(2, 2, 3), filters=4)  # RGB colour groups need multiples of 3
    with pytest.raises(ValueError, match="input_shape"):
        TinyPixelCNN(input_shape=(4,))
    with pytest.raises(ValueError, match="position_bias"):
        TinyPixelCNN(input_shape=(2, 2, 1), position_bias="yes")


def test_step_helpers_follow_the_sub_pixel_order():
    model = TinyPixelCNN(input_shape=(2, 3, 3), distribution="categorical", num_levels=2)
    row, col, sub = (int(helpers.to_np(v)) for v in model.step_position(3 * 4 + 2))  # pixel 4, blue
    assert (row, col, sub) == (1, 1, 2)
    buffer = model.image_buffer(1, 3, 3)
    assert tuple(buffer.shape) == (1, 3, 5, 3)
    written = helpers.to_np(model.write_previous(buffer, np.ones((1, 1), "float32"), 3 * 4 + 3, 3))
    assert written[0, 1 + 1, 1 + 1, 2] == 1.0 and np.count_nonzero(written) == 1  # levels 0..1 -> [-1, 1]
