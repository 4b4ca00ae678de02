import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_ar.callbacks import SampleGrid
from keras_ar.datasets import load_protocol
from keras_ar.models import PixelCNN


def _tiny(**kwargs):
    kwargs.setdefault("input_shape", (8, 8, 1))
    return PixelCNN(filters=6, num_residual_blocks=1, first_kernel_size=3, **kwargs)


def test_sample_grid_writes_pngs_every_n_epochs(tmp_path):
    data = load_protocol("digits-binary")
    model = _tiny()
    grid = SampleGrid(every_n_epochs=1, num_samples=4, directory=str(tmp_path / "samples"), seed=3, cols=4)
    model.fit(data.train[:64], epochs=2, batch_size=32, verbose=0, callbacks=[grid])
    names = sorted(os.listdir(tmp_path / "samples"))
    assert names == ["samples_epoch_0001.png", "samples_epoch_0002.png"]
    png = np.asarray(Image.open(tmp_path / "samples" / names[-1]))
    assert png.shape == (2 + 64 + 2, 2 + 4 * (64 + 2)) and png.dtype == np.uint8  # 4 grey 8x8 tiles, zoom 8
    # the grid shows the model's own samples for the seed: binary pixels are black or white
    expected = keras.ops.convert_to_numpy(model.sample(4, seed=3))
    tile = png[2:66, 2:66][::8, ::8]
    np.testing.assert_array_equal(tile, expected[0, ..., 0] * 255)


def test_sample_grid_every_n_epochs_and_classes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (16, 4, 4, 3))
    model = PixelCNN(input_shape=(4, 4, 3), distribution="categorical", num_levels=4, filters=6,
                     num_residual_blocks=0, first_kernel_size=3, num_classes=2)
    grid = SampleGrid(every_n_epochs=2, num_samples=2, directory=tmp_path)
    model.fit(x, rng.integers(0, 2, 16), epochs=3, verbose=0, callbacks=[grid])
    assert [os.path.basename(p) for p in grid.written] == ["samples_epoch_0002.png"]
    png = np.asarray(Image.open(grid.written[0]))
    assert png.ndim == 3 and png.shape[-1] == 3  # RGB kept in colour


def test_sample_grid_tensorboard_summary(tmp_path):
    import tensorflow as tf

    model = _tiny()
    grid = SampleGrid(num_samples=2, directory=tmp_path / "png", log_dir=str(tmp_path / "logs"))
    model.fit(load_protocol("digits-binary").train[:32], epochs=1, verbose=0, callbacks=[grid])
    events = [os.path.join(tmp_path / "logs", f) for f in os.listdir(tmp_path / "logs")]
    values = [v for e in events for ev in tf.compat.v1.train.summary_iterator(e) for v in ev.summary.value]
    assert [v.tag for v in values] == ["samples"]
    assert values[0].metadata.plugin_data.plugin_name == "images"
    width, height, png = tf.make_ndarray(values[0].tensor)  # the images plugin's record
    expected = np.asarray(Image.open(grid.written[0]))
    assert (int(width), int(height)) == (expected.shape[1], expected.shape[0])
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy()[..., 0], expected)


def test_sample_grid_rejects_non_image_models_and_bad_arguments(tmp_path):
    from keras_ar.models import FVSBN

    model = FVSBN(input_shape=(4,))
    with pytest.raises(ValueError, match=r"image models"):
        model.fit(np.zeros((4, 4), "int32"), epochs=1, verbose=0, callbacks=[SampleGrid(directory=tmp_path)])
    with pytest.raises(ValueError, match="every_n_epochs"):
        SampleGrid(every_n_epochs=0)
