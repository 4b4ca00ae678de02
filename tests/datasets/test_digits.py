import subprocess
import sys

import numpy as np
import pytest

from keras_ar.datasets import _bundled
from keras_ar.datasets import digits


def test_bundled_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    source = load_digits()
    images, labels = digits.load_raw()
    assert images.dtype == np.uint8 and images.shape == (1797, 8, 8)
    assert labels.dtype == np.int64 and labels.shape == (1797,)
    np.testing.assert_array_equal(images.astype(np.float64), source.images)
    np.testing.assert_array_equal(labels, source.target)


def test_load_data_splits():
    images, labels = digits.load_raw()
    perm = np.random.default_rng(0).permutation(1797)
    splits = digits.load_data()
    binary = digits.load_data(binarize=True)
    for (x, y), (xb, yb), rows in zip(splits, binary, (perm[:1237], perm[1237:1437], perm[1437:])):
        assert x.dtype == xb.dtype == np.uint8 and x.shape == (len(rows), 8, 8, 1)
        np.testing.assert_array_equal(x[..., 0], images[rows])
        np.testing.assert_array_equal(xb[..., 0], images[rows] >= 8)
        np.testing.assert_array_equal(y, labels[rows])
        np.testing.assert_array_equal(yb, labels[rows])
    assert [len(x) for x, _ in splits] == list(digits.SPLIT_SIZES)
    with pytest.raises(ValueError, match="`binarize` must be True or False. Received: binarize='yes'"):
        digits.load_data(binarize="yes")


def test_the_digits_file_is_checked(tmp_path, monkeypatch):
    data = bytearray(_bundled.read_bytes("digits.npz"))
    data[-40] ^= 1
    (tmp_path / "digits.npz").write_bytes(bytes(data))
    monkeypatch.setattr(_bundled, "FILES_DIR", str(tmp_path))
    _bundled.read_bytes.cache_clear()
    try:
        with pytest.raises(OSError, match="digits.npz' is damaged"):
            digits.load_raw()
    finally:
        _bundled.read_bytes.cache_clear()


def test_the_base_install_loads_the_digits_without_scikit_learn():
    """scikit-learn is the `benchmarks` extra: the digits protocols need none of it."""
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if not installed\n"
        "from keras_ar.datasets import digits, load_protocol\n"
        "print(load_protocol('digits-binary').train.shape, digits.load_data()[2][0].shape)\n"
        "try:\n"
        "    load_protocol('breast-cancer')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "(1237, 8, 8, 1) (360, 8, 8, 1)"
    assert lines[1] == (
        "keras_ar.datasets.breast_cancer.load_data needs scikit-learn, which the base install leaves out: "
        "pip install 'keras-ar[benchmarks]'"
    )
