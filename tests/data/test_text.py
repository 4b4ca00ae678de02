import numpy as np
import pytest

from keras_ar.data import text_dataset
from keras_ar.datasets.text import load_text


@pytest.fixture(scope="module")
def data():
    return load_text()


@pytest.mark.tf_only
def test_text_dataset(data):
    batches = list(text_dataset("test", length=256, batch_size=64, data=data))
    assert [tuple(b.shape) for b in batches] == [(64, 256), (64, 256), (50, 256)]  # 178 windows
    np.testing.assert_array_equal(batches[0].numpy()[0], data.test[:256])  # test: not shuffled
    first = next(iter(text_dataset("train", length=64, batch_size=8, data=data, seed=1)))
    assert first.dtype.name == "int32" and not (first.numpy()[0] == data.train[:64]).all()
    default = next(iter(text_dataset("validation", length=32, batch_size=4)))  # loads the corpus itself
    np.testing.assert_array_equal(default.numpy()[0], data.validation[:32])
