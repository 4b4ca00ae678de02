"""Element-wise data transforms for numpy arrays or tf tensors (usable inside `tf.data` maps).

Each function returns a numpy array for numpy (or array-like) input and a tf tensor for tensor
input, so the same code serves eager preprocessing and graph-mode `Dataset.map`.
"""

import numbers

import numpy as np
import tensorflow as tf


def _check_num_levels(num_levels):
    if (
        isinstance(num_levels, bool)
        or not isinstance(num_levels, numbers.Integral)
        or num_levels < 2
    ):
        raise ValueError(
            f"`num_levels` must be an integer >= 2. Received: num_levels={num_levels!r}"
        )


def _seed_pair(seed):
    """An int or a shape-[2] integer tensor/array as a stateless-random seed."""
    if tf.is_tensor(seed) or isinstance(seed, (np.ndarray, list, tuple)):
        seed = tf.convert_to_tensor(seed)
        if seed.shape.rank == 0:
            return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
            raise ValueError(
                "`seed` must be an integer or a shape-[2] integer tensor. "
                f"Received: seed={seed!r}"
            )
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(
            f"`seed` must be an integer or a shape-[2] integer tensor. Received: seed={seed!r}"
        )
    return tf.constant([seed, 0], tf.int64)


def binarize(x, threshold=0.5):
    """Binarize with a fixed threshold: `1` where `x >= threshold`, else `0`.

    Args:
        x: np.ndarray or tf.Tensor, the values.
        threshold: float, the threshold (values equal to it map to 1).

    Returns:
        uint8 values in {0, 1}, same shape and kind (numpy or tf) as `x`.

    Example:

    >>> binarize(np.array([0.2, 0.5, 0.9]))
    array([0, 1, 1], dtype=uint8)
    """
    if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
        raise ValueError(f"`threshold` must be a number. Received: threshold={threshold!r}")
    if tf.is_tensor(x):
        return tf.cast(x >= tf.cast(threshold, x.dtype), tf.uint8)
    return (np.asarray(x) >= threshold).astype(np.uint8)


def dynamic_binarize(x, seed):
    """Draw `Bernoulli(x)` samples with a stateless seed (a fresh binarization per seed).

    Inside a `tf.data` map, pass a seed that changes per element and per epoch (e.g. one taken
    from `tf.data.Dataset.random(...)`), so every epoch sees a new but reproducible draw.

    Args:
        x: np.ndarray or tf.Tensor, probabilities in [0, 1].
        seed: int, or shape-[2] integer tensor/array, the stateless random seed.

    Returns:
        uint8 values in {0, 1}, same shape and kind (numpy or tf) as `x`.

    Example:

    >>> dynamic_binarize(np.array([0.0, 1.0]), seed=0)
    array([0, 1], dtype=uint8)
    """
    seed = _seed_pair(seed)
    probs = tf.cast(x, tf.float32)
    y = tf.cast(tf.random.stateless_uniform(tf.shape(probs), seed) < probs, tf.uint8)
    return y if tf.is_tensor(x) else y.numpy()


def quantize(x, num_levels, max_value):
    """Quantize values in [0, max_value] to the integer levels `0..num_levels - 1`.

    Uses `floor(x * num_levels / max_value)` clipped to the valid range, so `0 -> 0`,
    `max_value -> num_levels - 1`, and 8-bit data with `num_levels=256, max_value=255` is
    unchanged.

    Args:
        x: np.ndarray or tf.Tensor, values in [0, max_value].
        num_levels: int >= 2, the number of output levels.
        max_value: float > 0, the largest input value (255 for 8-bit, 1.0 for [0, 1] floats).

    Returns:
        int32 levels, same shape and kind (numpy or tf) as `x`.

    Example:

    >>> quantize(np.array([0, 128, 255]), num_levels=17, max_value=255)
    array([ 0,  8, 16], dtype=int32)
    """
    _check_num_levels(num_levels)
    if not isinstance(max_value, numbers.Real) or isinstance(max_value, bool) or max_value <= 0:
        raise ValueError(f"`max_value` must be a number > 0. Received: max_value={max_value!r}")
    if tf.is_tensor(x):
        levels = tf.floor(tf.cast(x, tf.float32) * num_levels / max_value)
        return tf.cast(tf.clip_by_value(levels, 0, num_levels - 1), tf.int32)
    levels = np.floor(np.asarray(x, np.float32) * np.float32(num_levels) / np.float32(max_value))
    return np.clip(levels, 0, num_levels - 1).astype(np.int32)


def dequantize(x, num_levels, seed):
    """Uniform dequantization: integer levels `x` to `(x + u) / num_levels`, `u ~ U[0, 1)`.

    The result lies in `[x / num_levels, (x + 1) / num_levels)`, also after float32 rounding.

    Args:
        x: np.ndarray or tf.Tensor, integer levels in `0..num_levels - 1`.
        num_levels: int >= 2, the number of levels.
        seed: int, or shape-[2] integer tensor/array, the stateless random seed.

    Returns:
        float32 values in [0, 1), same shape and kind (numpy or tf) as `x`.

    Example:

    >>> y = dequantize(np.array([0, 16]), num_levels=17, seed=0)
    >>> bool(0 <= y[0] < 1 / 17 and 16 / 17 <= y[1] < 1)
    True
    """
    _check_num_levels(num_levels)
    seed = _seed_pair(seed)
    levels = tf.cast(x, tf.float32)
    u = tf.random.stateless_uniform(tf.shape(levels), seed)
    upper = (levels + 1.0) / num_levels
    y = tf.minimum((levels + u) / num_levels, tf.math.nextafter(upper, tf.zeros_like(upper)))
    return y if tf.is_tensor(x) else y.numpy()


def standardize(x, mean, std):
    """Standardize: `(x - mean) / std`, with statistics computed elsewhere (on train data).

    Args:
        x: np.ndarray or tf.Tensor, the values, shape (..., D) or broadcastable with `mean`.
        mean: float or array, the mean to subtract.
        std: float or array, the positive scale to divide by.

    Returns:
        The standardized values, same kind (numpy or tf) as `x` (float32 for tensors).

    Example:

    >>> standardize(np.array([1.0, 3.0]), mean=2.0, std=0.5)
    array([-2.,  2.])
    """
    if not tf.is_tensor(std) and np.any(np.asarray(std) <= 0):
        raise ValueError(f"`std` must be positive everywhere. Received: std={std!r}")
    if tf.is_tensor(x):
        dtype = x.dtype if x.dtype.is_floating else tf.float32
        x = tf.cast(x, dtype)
        return (x - tf.cast(mean, dtype)) / tf.cast(std, dtype)
    return (np.asarray(x) - mean) / std
