import numpy as np
import pytest

from keras_ar.models.pixel_cnn import PixelCNN
from tests import helpers

SMALL = dict(filters=6, num_residual_blocks=1, first_kernel_size=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(3, 3, 1), **SMALL),  # 512 configs
        dict(input_shape=(1, 2, 3), output_hidden_units=6, **SMALL),  # RGB sub-pixel order, 64 configs
        dict(input_shape=(2, 2, 1), distribution="categorical", num_levels=4, **SMALL),  # 256 configs
        dict(  # coupled PixelCNN++ head, 729 configs
            input_shape=(1, 2, 3), distribution="logistic_mixture", num_levels=3, num_components=2,
            filters=8, num_residual_blocks=1, first_kernel_size=3,  # any width: no colour groups here
        ),
        dict(input_shape=(2, 2, 1), distribution="logistic_mixture", num_levels=4, num_components=2, **SMALL),
        dict(input_shape=(2, 2, 1), num_classes=3, **SMALL),
        dict(input_shape=(1, 2, 3), position_bias=True, **SMALL),  # learned per-position biases
    ],
)
def test_causal_and_normalized(kwargs):
    model = PixelCNN(**kwargs)
    # RGB with a per-channel head: [b, H, W, 3, P]; coupled head: one parameter set per pixel [b, H, W, P]
    per_pixel = model.event_shape[:2] if model.head.event_size == 3 else model.event_shape
    assert tuple(model(np.zeros((1,) + model.event_shape), condition=[0] if model.num_classes else None).shape) == (
        (1,) + per_pixel + (model.head.num_params,)
    )
    # batch 1 as in `build`: on JAX every new shape compiles every op again
    helpers.assert_causal(model, batch=1)  # before any training: the masks are applied in the forward pass
    helpers.randomize_weights(model)
    helpers.assert_causal(model, batch=1, seed=1)
    helpers.assert_normalized_for_every_condition(model)
    if model.num_classes:
        x = np.zeros((1,) + model.event_shape, "int32")
        lps = [float(helpers.to_np(model.log_prob(x, condition=[c]))[0]) for c in range(model.num_classes)]
        assert np.ptp(lps) > 1e-4, "the class label does not change the distribution"
    if model.head.event_size == 3:  # the coupled head's TFP view, teacher-forced on x
        helpers.assert_tfp_matches(model, helpers.enumerate_space(model.event_shape, 3)[::50])


@pytest.mark.tf_only
@pytest.mark.parametrize("channels", [1, 3])
def test_autoregressive_by_gradients(channels):
    import tensorflow as tf

    model = PixelCNN(  # wide enough that no path of random weights is all dead ReLUs
        input_shape=(4, 4, channels), distribution="categorical", num_levels=4,
        filters=24, num_residual_blocks=1, first_kernel_size=3,
    )
    helpers.randomize_weights(model)
    d = 16 * channels
    x = tf.constant(np.random.default_rng(0).integers(0, 4, size=(1, 4, 4, channels)), "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        params = tf.reshape(tf.reduce_sum(model(x), axis=-1), (d,))  # summed params of each dimension
    jac = tape.jacobian(params, x).numpy().reshape(d, d)  # [dimension k, input dimension m], raster order
    assert np.all(jac[np.triu_indices(d)] == 0.0), "a dimension depends on itself or a later one"
    # and it does depend on the dimension just before it in the same row (R -> G -> B, left -> right)
    for k in range(1, d):
        if (k // channels) % 4 or k % channels:
            assert jac[k, k - 1] != 0.0, k


def test_samples_match_probabilities():
    model = PixelCNN(input_shape=(2, 2, 1), **SMALL)
    helpers.randomize_weights(model, scale=1.0)
    helpers.assert_sample_frequencies(model)


def test_fit_round_trip_and_tfp(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(16, 2, 2, 3))
    labels = rng.integers(0, 2, size=(16,))
    model = PixelCNN(
        input_shape=(2, 2, 3), distribution="categorical", num_levels=3, num_classes=2,
        output_hidden_units=6, dropout=0.1, position_bias=True, **SMALL,
    )
    helpers.assert_fits(model, x, condition=labels, epochs=2)  # one batch of 16: two steps
    helpers.assert_config_round_trip(model)
    helpers.assert_keras_round_trip(model, x[:4], tmp_path, condition=labels[:4])
    helpers.assert_tfp_matches(model, x[:4], condition=labels[:4])


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="filters=8"):
        PixelCNN(input_shape=(4, 4, 3), filters=8)
    with pytest.raises(ValueError, match="output_hidden_units=4"):
        PixelCNN(input_shape=(4, 4, 3), filters=6, output_hidden_units=4)
    with pytest.raises(ValueError, match="channels"):
        PixelCNN(input_shape=(4, 4, 2))
    with pytest.raises(ValueError, match="input_shape"):
        PixelCNN(input_shape=(16,))
    with pytest.raises(ValueError, match="first_kernel_size"):
        PixelCNN(input_shape=(4, 4, 1), first_kernel_size=4)
    with pytest.raises(ValueError, match="dropout"):
        PixelCNN(input_shape=(4, 4, 1), dropout=1.0)
    model = PixelCNN(input_shape=(2, 2, 1), **SMALL)
    with pytest.raises(ValueError, match="0..1"):
        model.log_prob(np.full((1, 2, 2, 1), 2))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 2, 2, 1)), condition=np.zeros(1))
