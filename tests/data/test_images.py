import numpy as np
import pytest
from PIL import Image

from keras_ar.data import load_image_folder


def test_grey_stays_grey_colour_makes_rgb_in_sorted_order(tmp_path):
    Image.fromarray(np.full((2, 3), 7, np.uint8)).save(tmp_path / "b.png")
    Image.fromarray(np.full((2, 3), 9, np.uint8)).save(tmp_path / "a.PNG")
    (tmp_path / "notes.txt").write_text("not an image: skipped")
    grey = load_image_folder(tmp_path)
    assert grey.shape == (2, 2, 3, 1) and grey.dtype == np.uint8
    np.testing.assert_array_equal(grey[:, 0, 0, 0], [9, 7])  # a.PNG before b.png
    Image.fromarray(np.full((2, 3, 3), [10, 20, 30], np.uint8)).save(tmp_path / "c.png")
    rgb = load_image_folder(str(tmp_path))
    assert rgb.shape == (3, 2, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0, 0], [9, 9, 9])  # grey converted to RGB
    np.testing.assert_array_equal(rgb[2, 0, 0], [10, 20, 30])


def test_folder_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="holds no PNG or JPEG image"):
        load_image_folder(tmp_path)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"cannot read image .*b\.jpg: cannot identify image file"):
        load_image_folder(tmp_path)
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "b.jpg")
    with pytest.raises(ValueError, match="must all have the same size: a.png is 4x4 but b.jpg is 4x5"):
        load_image_folder(tmp_path)
