import shutil

import numpy as np
import pytest

from keras_ar.datasets import speech


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (`make speech-deps`)")
def test_load_data_gives_the_protocol_splits(tmp_path):
    splits = speech.load_data(data_dir=tmp_path)
    data = speech.load_speech(data_dir=tmp_path)  # read from the cache the first call wrote
    assert [len(x) for x, _ in splits] == [80, 20, 20]
    for split, (x, y) in zip(("train", "validation", "test"), splits):
        assert all(u.dtype == np.uint8 and u.ndim == 1 for u in x)
        for u, v in zip(x, data.split(split)):
            np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(y, getattr(data, f"{split}_labels"))
        assert y.dtype == np.int32 and sorted(set(y.tolist())) == [0, 1, 2, 3]
