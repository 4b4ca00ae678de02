import numpy as np
import pytest
from PIL import Image

from keras_ar.utils.images import image_grid, save_png


def test_grey_levels_shape_and_scaling():
    images = np.array([0, 1, 2, 16]).reshape(4, 1, 1, 1) * np.ones((4, 2, 3, 1), "int32")
    grid = image_grid(images, num_levels=17, cols=3, zoom=2, pad=1)
    # 2 rows of tiles 4x6 with one pixel of padding around each
    assert grid.shape == (2 * (4 + 1) + 1, 3 * (6 + 1) + 1)
    assert grid.dtype == np.uint8
    tiles = [grid[1:5, 1:7], grid[1:5, 8:14], grid[1:5, 15:21], grid[6:10, 1:7]]
    assert [int(t.min()) for t in tiles] == [0, 16, 32, 255]  # round(255 * k / 16)
    assert all(t.min() == t.max() for t in tiles)
    assert (grid[6:10, 8:] == 255).all()  # the empty cells stay white
    assert grid[0].min() == 255  # padding is white


def test_binary_levels_and_floats_agree():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (5, 3, 3, 1))
    a = image_grid(bits, num_levels=2, zoom=1)
    b = image_grid(bits.astype("float32"), zoom=1)
    c = image_grid(bits.astype(bool), zoom=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert a.shape == (2 * (3 + 2) + 2, 3 * (3 + 2) + 2)  # cols = ceil(sqrt(5)) = 3, so 2 rows


def test_rgb_keeps_colours():
    images = np.zeros((2, 2, 2, 3), "uint8")
    images[0, ..., 0] = 255  # red
    images[1, ..., 2] = 255  # blue
    grid = image_grid(images, num_levels=256, cols=2, zoom=1, pad=0)
    assert grid.shape == (2, 4, 3)
    np.testing.assert_array_equal(grid[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(grid[1, 3], [0, 0, 255])


def test_default_zoom_makes_tiles_at_least_64_pixels():
    assert image_grid(np.zeros((1, 8, 8, 1)), pad=0).shape == (64, 64)
    assert image_grid(np.zeros((1, 28, 28, 1)), pad=0).shape == (84, 84)


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((4, 8, 8)), {}, r"images\[\.\.\., None\]"),
        (np.zeros((8, 8)), {}, r"\[N, H, W, C\]"),
        (np.zeros((4, 8, 8, 2)), {}, r"1 \(grey\) or 3 \(RGB\) channels"),
        (np.zeros((4, 8, 8, 4)), {}, r"alpha"),
        (np.zeros((1, 2, 2, 1), "int32"), {}, r"pass `num_levels`"),
        (np.full((1, 2, 2, 1), 2.0), {}, r"\[0, 1\]"),
        (np.full((1, 2, 2, 1), 3), {"num_levels": 2}, r"levels 0\.\.1"),
        (np.full((1, 2, 2, 1), np.nan), {}, r"NaN"),
        (np.zeros((1, 2, 2, 1)), {"cols": 0}, r"`cols`"),
    ],
)
def test_bad_input_names_the_fix(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_grid(images, **kwargs)


def test_save_png_round_trip(tmp_path):
    grey = image_grid(np.random.default_rng(0).random((3, 4, 4, 1)), zoom=1)
    rgb = image_grid(np.random.default_rng(1).random((3, 4, 4, 3)), zoom=1)
    for name, grid in (("grey.png", grey), ("rgb.png", rgb)):
        path = save_png(grid, tmp_path / "sub" / name)
        np.testing.assert_array_equal(np.asarray(Image.open(path)), grid)
    with pytest.raises(ValueError, match="uint8"):
        save_png(np.zeros((4, 4)), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        save_png(np.zeros((4, 4, 2), "uint8"), tmp_path / "x.png")


def test_exposed_by_keras_ar_utils():
    import keras_ar.utils

    assert keras_ar.utils.image_grid is image_grid and keras_ar.utils.save_png is save_png
