import numpy as np
import pytest

from keras_ar.models.pixel_cnn_autoencoder import PixelCNNAutoEncoder
from tests import helpers

SMALL = dict(code_size=3, encoder_filters=(4,), filters=6, num_blocks=2, first_kernel_size=3)

CONFIGS = {
    "binary": dict(input_shape=(2, 2, 1), **SMALL),  # 16 images
    "rgb": dict(input_shape=(1, 2, 3), **SMALL),  # R -> G -> B sub-pixels, 64 images
}


def _model(name, seed=0):
    model = PixelCNNAutoEncoder(**CONFIGS[name])
    helpers.randomize_weights(model, seed=seed)
    return model


def _images(model, n, seed=0):
    return helpers._random_inputs(model, n, np.random.default_rng(seed))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_decoder_causal_and_normalized_for_a_fixed_code(name):
    model = PixelCNNAutoEncoder(**CONFIGS[name])
    helpers.assert_causal(model.decoder, batch=1)  # the code held fixed: causal before any training
    helpers.randomize_weights(model)
    helpers.assert_causal(model.decoder, batch=1, seed=1)
    xs = helpers.enumerate_space(model.event_shape, 2)
    code = helpers.to_np(model.encode(xs[5:6]))
    codes = np.repeat(code, len(xs), axis=0)
    total = np.exp(helpers.to_np(model.log_prob(xs, code=codes)).astype("float64")).sum()
    assert abs(total - 1.0) < 1e-4, f"sum over the space of p(x | code) = {total}"
    helpers.assert_normalized(model.decoder, condition=code[0])  # the same through the decoder
    # the reconstruction likelihood p(x | encode(x)) is not a density of x: its code moves with x
    recon = np.exp(helpers.to_np(model.log_prob(xs)).astype("float64")).sum()
    assert abs(recon - 1.0) > 1e-3, f"sum of p(x | encode(x)) = {recon}"
    # the code changes the distribution
    other = helpers.to_np(model.log_prob(xs[:1], code=code + 1.0))
    assert abs(other[0] - helpers.to_np(model.log_prob(xs[:1], code=code))[0]) > 1e-4


def test_decode_cached_equals_naive_and_reconstruct():
    model = _model("rgb")
    x = _images(model, 3)
    code = model.encode(x)
    assert tuple(code.shape) == (3, model.code_size)
    cached = helpers.to_np(model.decode(code, seed=3))
    naive = helpers.to_np(model.decode(code, seed=3, use_cache=False))
    np.testing.assert_array_equal(cached, naive)
    assert cached.shape == x.shape and cached.dtype == np.int32
    np.testing.assert_array_equal(helpers.to_np(model.reconstruct(x, seed=3)), cached)
    np.testing.assert_array_equal(
        helpers.to_np(model.decoder.sample(3, condition=helpers.to_np(code), seed=3)), cached
    )
    np.testing.assert_array_equal(helpers.to_np(model.decode(code, seed=4, temperature=0.5)),
                                  helpers.to_np(model.decode(code, seed=4, temperature=0.5, use_cache=False)))
    # log_prob and conditional_log_probs are those of the decoder given the image's own code
    np.testing.assert_allclose(
        helpers.to_np(model.log_prob(x)), helpers.to_np(model.decoder.log_prob(x, condition=helpers.to_np(code))),
        atol=1e-5,
    )
    clp = helpers.to_np(model.conditional_log_probs(x))
    np.testing.assert_allclose(clp.reshape(3, -1).sum(-1), helpers.to_np(model.log_prob(x)), atol=1e-4)


def test_fit_on_images_alone_trains_encoder_and_decoder():
    model = PixelCNNAutoEncoder(input_shape=(2, 2, 3), distribution="categorical", num_levels=4)  # the defaults
    x = _images(model, 16)
    encoder = [helpers.to_np(w).copy() for w in model.code_dense.weights + model.encoder_convs[1].weights]
    decoder = [helpers.to_np(w).copy() for w in model.decoder.trainable_weights]
    helpers.assert_fits(model, x, epochs=2)
    after = [helpers.to_np(w) for w in model.code_dense.weights + model.encoder_convs[1].weights]
    assert all(np.abs(a - b).max() > 0 for a, b in zip(encoder, after)), "no gradient reached the encoder"
    changed = [np.abs(a - helpers.to_np(w)).max() > 0 for a, w in zip(decoder, model.decoder.trainable_weights)]
    assert sum(changed) > len(changed) // 2


def test_config_keras_round_trip_and_tfp(tmp_path):
    """Every constructor argument off its default."""
    model = PixelCNNAutoEncoder(
        input_shape=(2, 2, 3), distribution="categorical", num_levels=3, num_components=None, code_size=5,
        encoder_filters=(6, 3), filters=6, num_blocks=2, kernel_size=5, first_kernel_size=3, skip_filters=9,
        output_hidden_units=3, dropout=0.1, position_bias=False, name="ae",
    )
    helpers.randomize_weights(model)
    clone = helpers.assert_config_round_trip(model)
    assert (clone.name, clone.code_size, clone.encoder_filters, clone.skip_filters) == ("ae", 5, (6, 3), 9)
    assert "num_classes" not in model.get_config()
    x = _images(model, 2)
    loaded = helpers.assert_keras_round_trip(model, x, tmp_path)
    np.testing.assert_allclose(helpers.to_np(loaded.encode(x)), helpers.to_np(model.encode(x)), atol=1e-6)
    helpers.assert_tfp_matches(model, x)


@pytest.mark.parametrize("shape", [(1, 2, 1), (2, 2, 1), (1, 2, 3)])
@pytest.mark.parametrize(
    "head",
    [dict(), dict(distribution="categorical", num_levels=4), dict(distribution="logistic_mixture", num_levels=4),
     dict(distribution="gaussian_mixture")],
)
def test_defaults_build_on_tiny_images(shape, head):
    model = PixelCNNAutoEncoder(input_shape=shape, **head)
    assert (model.code_size, model.encoder_filters, model.filters, model.num_blocks, model.position_bias) == (
        32, (32, 64), 48, 4, True
    )
    x = _images(model, 1)
    assert np.isfinite(helpers.to_np(model.log_prob(x))).all()


@pytest.mark.slow
@pytest.mark.parametrize("head", [dict(), dict(distribution="categorical", num_levels=256),
                                  dict(distribution="logistic_mixture", num_levels=256)])
def test_defaults_train_on_32x32_rgb(head):
    model = PixelCNNAutoEncoder(input_shape=(32, 32, 3), **head)
    history = model.fit(_images(model, 2), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_bad_arguments():
    cases = [
        (dict(code_size=0), "code_size=0"),
        (dict(code_size=2.5), "code_size=2.5"),
        (dict(encoder_filters=8), "encoder_filters=8"),
        (dict(encoder_filters=(8, 0)), r"encoder_filters=\(8, 0\)"),
        (dict(num_classes=3), "GatedPixelCNN"),
        (dict(condition_shape=(4, 4, 1)), "condition_shape"),
        (dict(input_shape=(4, 4, 3), filters=8), "filters=8"),
        (dict(input_shape=(16,)), "input_shape"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            PixelCNNAutoEncoder(**{"input_shape": (4, 4, 1), **kwargs})
    model = PixelCNNAutoEncoder(input_shape=(2, 2, 1), **SMALL)
    with pytest.raises(ValueError, match=r"decode\(code\)"):
        model.sample(2)
    with pytest.raises(ValueError, match=r"code\[None\]"):
        model.decode(np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="code"):
        model.decode(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="code"):
        model.decode(np.full((2, 3), np.nan, "float32"))
    with pytest.raises(ValueError, match="code"):
        model.log_prob(np.zeros((2, 2, 2, 1)), code=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0..1"):
        model.encode(np.full((1, 2, 2, 1), 2))
    with pytest.raises(ValueError, match="condition"):
        model.log_prob(np.zeros((1, 2, 2, 1)), condition=np.zeros((1, 3)))
