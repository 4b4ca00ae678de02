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
        self.check_widths(filters=filters)
        self.hidden_conv = self.masked_conv(filters, 3, "A", name="hidden_conv")
        self.output_conv = self.masked_conv(self.params_per_pixel, 1, "B", name="output_conv")
        self.add_layer_biases([filters, self.params_per_pixel], position_bias)
        self.keep_arguments(locals())
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
    with pytest.raises(ValueError, match=r"`filters` must be an int >= 1\. Received: filters=None"):
        TinyPixelCNN(input_shape=(2, 2, 1), filters=None)  # not in `optional`
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


class TinyWithOutputLayers(ImageModel):
    """A mask-A convolution, then the base's output layers (an optional hidden 1x1), all biased."""

    def __init__(self, input_shape, filters=3, hidden_units=None, kernel_size=3, **kwargs):
        super().__init__(input_shape, **kwargs)
        self.check_widths(filters=filters, hidden_units=hidden_units, optional=("hidden_units",))
        self.check_kernel_sizes(kernel_size=kernel_size)
        self.input_conv = self.masked_conv(filters, kernel_size, "A", "input_conv")
        self.add_layer_biases([filters] + self.add_output_layers(hidden_units))
        kernel_size = int(kernel_size)  # the value used is what the config keeps
        self.keep_arguments(locals())
        self.build()

    def compute_params(self, x, condition=None, training=False):
        masked = self.biased_layers(self.on_image, self.layer_biases(self.project_condition(condition)))
        return self.image_params(self.output_layers(masked(self.input_conv, self.scale_inputs(x)), masked))


@pytest.mark.parametrize("hidden_units", [None, 6])
def test_output_layers_and_kept_arguments(hidden_units):
    model = TinyWithOutputLayers(input_shape=(1, 2, 3), hidden_units=hidden_units, num_classes=2)
    assert (model.hidden_conv is None) == (hidden_units is None)
    widths = [b - a for a, b in model.bias_slices]
    assert widths == [3] + ([hidden_units] if hidden_units else []) + [3 * model.head.num_params]
    config = model.get_config()
    assert (config["filters"], config["hidden_units"], config["kernel_size"]) == (3, hidden_units, 3)
    assert TinyWithOutputLayers.from_config(config).get_config() == config
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1)
    helpers.assert_normalized_for_every_condition(model)
    with pytest.raises(ValueError, match="hidden_units=4"):  # an optional width, given, is still checked
        TinyWithOutputLayers(input_shape=(1, 2, 3), hidden_units=4)
    with pytest.raises(ValueError, match="kernel_size=2"):
        TinyWithOutputLayers(input_shape=(1, 2, 1), kernel_size=2)


def test_cached_condition_projects_the_vector_only_when_there_is_a_projection():
    model = TinyWithOutputLayers(input_shape=(2, 2, 1), num_classes=2)
    one_hot = ops.convert_to_tensor(np.eye(2, dtype="float32"))
    cache = model.cached_condition(one_hot)
    assert set(cache) == {"condition"} and tuple(cache["condition"].shape) == (2, model.total_bias_width)
    assert TinyWithOutputLayers(input_shape=(2, 2, 1)).cached_condition(None) == {}
