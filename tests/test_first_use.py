"""A new user's first steps: each is a few lines and works, or fails with one error that says what to do."""

import numpy as np
import pytest

import keras_ar
from keras_ar.models import PixelCNN
from tests import helpers


def test_import_keras_ar_exposes_data():
    assert keras_ar.datasets.load_protocol is keras_ar.datasets.protocols.load_protocol
    assert callable(keras_ar.data.digits_dataset) and callable(keras_ar.data.binarize)
    with pytest.warns(DeprecationWarning, match=r"keras_ar\.datasets\.load_protocol"):
        assert keras_ar.data.load_protocol is keras_ar.datasets.load_protocol  # the old name still works


def test_class_conditional_digits_in_three_lines():
    pytest.importorskip("tensorflow")  # tf.data
    data = keras_ar.datasets.load_protocol("digits-binary")
    model = PixelCNN(input_shape=data.event_shape, num_classes=data.num_classes, filters=8, num_residual_blocks=1)
    history = model.fit(keras_ar.data.digits_dataset(data, "train", labels=True), epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("digits-superres", dict(distribution="categorical", num_levels=17, condition_scale=16)),
        ("patches-colorize", dict(distribution="categorical", num_levels=256, condition_scale=255)),
    ],
)
def test_conditional_protocols_feed_a_conditional_model(name, kwargs, recwarn):
    pytest.importorskip("tensorflow")  # tf.data
    data = keras_ar.datasets.load_protocol(name)
    model = PixelCNN(
        input_shape=data.event_shape, condition_shape=data.condition_shape, filters=6, num_residual_blocks=1,
        first_kernel_size=3, **kwargs,
    )
    ds = keras_ar.data.digits_dataset(data, "train", batch_size=8)
    history = model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not [w for w in recwarn if "condition_scale" in str(w.message)]  # raw levels, divided in the model
    if name == "digits-superres":  # without condition_scale, the dataset's first batch draws the warning
        raw = PixelCNN.from_config({**model.get_config(), "condition_scale": None})
        with pytest.warns(UserWarning, match=r"Pass `condition_scale=16`"):
            raw.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    lp = helpers.to_np(model.log_prob(data.test[:2], condition=data.test_condition[:2]))
    assert lp.shape == (2,) and np.all(np.isfinite(lp))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=(1, 2, 1)),
        dict(input_shape=(2, 2, 1)),
        dict(input_shape=(16, 16, 3), distribution="categorical", num_levels=256),
        dict(input_shape=(8, 8, 3), distribution="logistic_mixture", num_levels=256),
    ],
)
def test_pixel_cnn_defaults_build_and_fit_on_any_image_shape(kwargs):
    model = PixelCNN(**kwargs)
    per_channel_rgb = kwargs["input_shape"][-1] == 3 and kwargs.get("distribution") == "categorical"
    assert model.filters == (96 if per_channel_rgb else 64)
    levels = model.head.num_levels
    x = np.random.default_rng(0).integers(0, levels, size=(2,) + model.event_shape).astype("uint8")
    history = model.fit(x, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    config = model.get_config()
    assert config["filters"] == model.filters
    assert PixelCNN.from_config(config).get_config() == config


def test_wrong_levels_name_the_fix():
    images = np.random.default_rng(0).integers(0, 256, size=(4, 8, 8, 1)).astype("uint8")
    binary = PixelCNN(input_shape=(8, 8, 1), filters=8, num_residual_blocks=1)
    with pytest.raises(ValueError, match=r"binarize\(x, threshold=128\).*image_dataset\(images, binarize='fixed'\)"):
        binary.fit(images, verbose=0)
    assert np.all(np.isfinite(helpers.to_np(binary.log_prob(keras_ar.data.binarize(images, 128)))))  # the fix works
    levels = PixelCNN(input_shape=(8, 8, 1), distribution="categorical", num_levels=16, filters=8, num_residual_blocks=1)
    with pytest.raises(ValueError, match=r"quantize\(x, num_levels=16, max_value=1.0\)"):
        levels.fit(images / 255.0, verbose=0)
    fixed = keras_ar.data.quantize(images / 255.0, num_levels=16, max_value=1.0)
    assert np.all(np.isfinite(helpers.to_np(levels.log_prob(fixed))))


def test_a_bad_third_batch_raises_instead_of_a_nan_loss():
    tf = pytest.importorskip("tensorflow")

    x = np.random.default_rng(0).integers(0, 2, size=(12, 4, 4, 1)).astype("uint8")
    x[9, 1, 2, 0] = 2  # batch 3 of 4
    model = PixelCNN(input_shape=(4, 4, 1), filters=6, num_residual_blocks=1, first_kernel_size=3)
    with pytest.raises(ValueError, match=r"Received a value of 2 in batch 3 \(counting from 1\) of `x`.*binarize"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(4), epochs=1, verbose=0)


def test_tfds_name_offline_fails_fast_with_the_alternatives(monkeypatch, tmp_path):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(keras_ar.data.tfds_source, "network_reachable", lambda: False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(ConnectionError, match=r"no network: .*folder.*\.npy.*load_protocol\('digits-17'\)"):
        keras_ar.data.image_dataset("mnist", binarize="dynamic")


def test_import_keras_ar_gives_every_public_module():
    """The README writes `keras_ar.callbacks.SampleGrid(...)` and `keras_ar.export.export_saved_model(...)`
    after a plain `import keras_ar`."""
    import subprocess
    import sys

    code = (
        "import keras_ar\n"
        "for name in ('callbacks', 'data', 'distributions', 'export', 'generation', 'layers', 'models'):\n"
        "    assert hasattr(keras_ar, name), name\n"
        "print(keras_ar.callbacks.SampleGrid.__name__, keras_ar.export.export_saved_model.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["SampleGrid", "export_saved_model"]
