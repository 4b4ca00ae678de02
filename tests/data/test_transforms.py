import numpy as np
import pytest
import tensorflow as tf

from keras_ar.data import binarize, dequantize, dynamic_binarize, quantize, standardize


def test_binarize_numpy_and_tensor():
    x = np.array([0.0, 0.49, 0.5, 1.0], np.float32)
    np.testing.assert_array_equal(binarize(x), [0, 0, 1, 1])
    y = binarize(tf.constant(x), threshold=0.25)
    assert tf.is_tensor(y) and y.dtype == tf.uint8
    np.testing.assert_array_equal(y, [0, 1, 1, 1])
    with pytest.raises(ValueError, match="threshold="):
        binarize(x, threshold="high")


def test_dynamic_binarize_is_bernoulli_and_seeded():
    x = np.full((20000,), 0.3, np.float32)
    a, b, c = dynamic_binarize(x, 1), dynamic_binarize(x, 1), dynamic_binarize(x, 2)
    assert isinstance(a, np.ndarray) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert abs(a.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(dynamic_binarize(np.array([0.0, 1.0]), seed=[3, 4]), [0, 1])
    assert tf.is_tensor(dynamic_binarize(tf.constant(x), tf.constant([1, 2])))
    with pytest.raises(ValueError, match="seed="):
        dynamic_binarize(x, seed=0.5)


def test_quantize():
    x = np.arange(256)
    q = quantize(x, num_levels=17, max_value=255)
    assert q[0] == 0 and q[-1] == 16 and q.dtype == np.int32
    assert np.all(np.diff(q) >= 0) and set(q) == set(range(17))
    # 8-bit to 256 levels is the identity, with no uint8 overflow.
    np.testing.assert_array_equal(quantize(x.astype(np.uint8), 256, 255), x)
    np.testing.assert_array_equal(quantize(tf.constant(x), 17, 255), q)
    np.testing.assert_array_equal(quantize(np.array([0.0, 0.5, 1.0]), 4, 1.0), [0, 2, 3])
    with pytest.raises(ValueError, match="Received: num_levels=1"):
        quantize(x, 1, 255)
    with pytest.raises(ValueError, match="max_value="):
        quantize(x, 4, 0)


def test_dequantize_stays_in_bin():
    levels = np.tile(np.arange(17), 1000)
    y = dequantize(levels, num_levels=17, seed=0)
    assert y.dtype == np.float32
    assert np.all(y >= levels / 17) and np.all(y < (levels + 1) / 17)
    np.testing.assert_array_equal(np.floor(y.astype(np.float64) * 17), levels)
    np.testing.assert_array_equal(y, dequantize(tf.constant(levels), 17, 0))
    with pytest.raises(ValueError, match="num_levels=True"):
        dequantize(levels, True, 0)


def test_standardize():
    x = np.random.default_rng(0).normal(3.0, 2.0, (100, 4))
    mean, std = x.mean(0), x.std(0)
    z = standardize(x, mean, std)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)
    np.testing.assert_allclose(standardize(tf.constant(x, tf.float32), mean, std), z, atol=1e-5)
    with pytest.raises(ValueError, match="std="):
        standardize(x, mean, np.zeros(4))
