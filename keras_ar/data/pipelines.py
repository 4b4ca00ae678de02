"""`tf.data` input pipelines: arrays, images (arrays, files, folders or TFDS names) and the
benchmark protocols."""

import numbers
import os

import numpy as np
import tensorflow as tf

from keras_ar.data import tfds_source
from keras_ar.data import transforms
from keras_ar.data.images import load_image_folder  # noqa: F401  (keras_ar.data.load_image_folder)
from keras_ar.datasets.protocols import ProtocolData, load_protocol
from keras_ar.utils.extras import require

_SPLITS = ("train", "validation", "test")
_TFDS_SHUFFLE_BUFFER = 60_000  # a whole MNIST train split


def _check_batch_size(batch_size):
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be an integer >= 1. Received: batch_size={batch_size!r}"
        )


def _finish(ds, batch_size, shuffle, seed, buffer_size, drop_remainder=False, repeat=False):
    """Shuffle (reshuffled every epoch), repeat, batch and prefetch."""
    if shuffle:
        ds = ds.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def make_dataset(
    x, condition=None, batch_size=64, shuffle=False, seed=0, drop_remainder=False, repeat=False
):
    """Make a batched `tf.data.Dataset` from in-memory examples (and conditions).

    Args:
        x: np.ndarray or tf.Tensor, the examples, shape (N, ...).
        condition: optional np.ndarray or tf.Tensor, one condition per example, shape (N, ...).
        batch_size: int >= 1, the batch size.
        shuffle: bool, whether to shuffle (over the whole data, reshuffled every epoch).
        seed: int, the shuffle seed.
        drop_remainder: bool, whether to drop the last smaller batch.
        repeat: bool, whether to repeat forever.

    Returns:
        A `tf.data.Dataset` of `x` batches, or of `(x, condition)` tuples if `condition` is given.

    Example:

    >>> ds = make_dataset(np.zeros((10, 8, 8, 1), "uint8"), np.arange(10), batch_size=4)
    >>> [tuple(x.shape) for x, c in ds]
    [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    """
    _check_batch_size(batch_size)
    x = x if tf.is_tensor(x) else np.asarray(x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"`x` must hold at least one example. Received: x.shape={x.shape}")
    elements = x
    if condition is not None:
        condition = condition if tf.is_tensor(condition) else np.asarray(condition)
        if condition.ndim == 0 or condition.shape[0] != x.shape[0]:
            raise ValueError(
                "`condition` must have one entry per example of `x`. "
                f"Received: x.shape={x.shape}, condition.shape={condition.shape}"
            )
        elements = (x, condition)
    ds = tf.data.Dataset.from_tensor_slices(elements)
    return _finish(ds, batch_size, shuffle, seed, int(x.shape[0]), drop_remainder, repeat)


def image_dataset(
    source,
    split="train",
    *,
    labels=None,
    binarize=None,
    num_levels=None,
    batch_size=64,
    shuffle=None,
    seed=0,
    with_labels=False,
    data_dir=None,
):
    """Make a batched image `tf.data.Dataset` from an array or a TFDS name, with preprocessing.

    Integer images are taken as 8-bit (0..255), float and bool images as values in [0, 1].
    Output images have an explicit channel axis (H, W, C); they are uint8 for discrete data
    (binarized, quantized, or integer/bool input left as is) and float32 for float input left
    as is.

    Args:
        source: np.ndarray of shape (N, H, W) or (N, H, W, C); or str: a `.npy` file of such
            an array, a folder of PNG / JPEG images of one size (`load_image_folder`), or a
            TFDS name such as `"mnist"` (read with `tfds.load(source, split=split,
            data_dir=data_dir)`, features `"image"` and `"label"`). A TFDS name that is not
            downloaded fails at once without a network (`ConnectionError`, naming the offline
            alternatives) instead of retrying for minutes.
        split: str, the TFDS split; for arrays it only sets the `shuffle` default.
        labels: optional np.ndarray of shape (N,), labels for array `source`.
        binarize: None, `"fixed"` (threshold at half the maximum value) or `"dynamic"` (a new
            Bernoulli draw per epoch, reproducible from `seed`).
        num_levels: optional int >= 2, quantize the images to `0..num_levels - 1`.
        batch_size: int >= 1, the batch size.
        shuffle: bool, whether to shuffle; None means True for `"train*"` splits.
        seed: int, the seed for shuffling and dynamic binarization.
        with_labels: bool, yield `(image, label)` tuples instead of images.
        data_dir: optional str, the TFDS data directory.

    Returns:
        A `tf.data.Dataset` of image batches, or of `(image, label)` tuples.

    Example:

    >>> images = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype="uint8")
    >>> ds = image_dataset(images, binarize="dynamic", batch_size=5, seed=1)
    >>> batch = next(iter(ds))
    >>> batch.shape, batch.dtype
    (TensorShape([5, 28, 28, 1]), tf.uint8)
    """
    if binarize not in (None, "fixed", "dynamic"):
        raise ValueError(
            f"`binarize` must be None, 'fixed' or 'dynamic'. Received: binarize={binarize!r}"
        )
    if num_levels is not None:
        transforms._check_num_levels(num_levels)
        if binarize is not None:
            raise ValueError(
                "Pass at most one of `binarize` and `num_levels`. "
                f"Received: binarize={binarize!r}, num_levels={num_levels!r}"
            )
    _check_batch_size(batch_size)
    if shuffle is None:
        shuffle = str(split).startswith("train")

    if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.exists(source)):
        source = _load_path(os.fspath(source))
    elif isinstance(source, str) and source.lower().endswith(".npy"):
        raise FileNotFoundError(f"No such .npy file. Received: source={source!r}")
    if isinstance(source, str):
        tfds = require("tensorflow_datasets", "tfds", f"keras_ar.data.image_dataset({source!r})")
        tfds_source.check_tfds_available(source, data_dir)

        feature_keys = ("image", "label") if with_labels else ("image",)
        ds = tfds.load(source, split=split, data_dir=data_dir)
        ds = ds.map(lambda features: tuple(features[k] for k in feature_keys))
        integer = ds.element_spec[0].dtype.is_integer
        max_value = 255.0 if integer else 1.0
        size = int(ds.cardinality())
        buffer_size = min(size, _TFDS_SHUFFLE_BUFFER) if size > 0 else _TFDS_SHUFFLE_BUFFER
    else:
        images = np.asarray(source)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[0] == 0:
            raise ValueError(
                "`source` must be a TFDS name or a non-empty image array of shape (N, H, W) or "
                f"(N, H, W, C). Received: source.shape={images.shape}"
            )
        if with_labels and labels is None:
            raise ValueError(
                "`with_labels=True` needs `labels` for array sources. Received: labels=None"
            )
        elements = (images,)
        if with_labels:
            labels = np.asarray(labels)
            if labels.ndim == 0 or labels.shape[0] != images.shape[0]:
                raise ValueError(
                    "`labels` must have one entry per image. "
                    f"Received: source.shape={images.shape}, labels.shape={labels.shape}"
                )
            elements = (images, labels)
        integer = np.issubdtype(images.dtype, np.integer) or images.dtype == bool
        max_value = 1.0 if images.dtype == bool or not integer else 255.0
        ds = tf.data.Dataset.from_tensor_slices(elements)
        buffer_size = images.shape[0]

    def process(index, key, element):
        image = element[0]
        if binarize == "fixed":
            image = transforms.binarize(tf.cast(image, tf.float32), 0.5 * max_value)
        elif binarize == "dynamic":
            probs = tf.cast(image, tf.float32) / max_value
            image = transforms.dynamic_binarize(probs, seed=tf.stack([key, index]))
        elif num_levels is not None:
            levels = transforms.quantize(image, num_levels, max_value)
            image = tf.cast(levels, tf.uint8 if num_levels <= 256 else tf.int32)
        else:
            image = tf.cast(image, tf.uint8 if integer else tf.float32)
        return (image,) + tuple(element[1:]) if with_labels else image

    # One key per (element index, epoch): `Dataset.random` draws afresh on every iteration,
    # reproducibly for `seed`. Keys are zipped in before shuffling, so they follow the element.
    random_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip((tf.data.Dataset.counter(), random_keys, ds))
    ds = ds.map(process, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _finish(ds, batch_size, shuffle, seed, buffer_size)


def _load_path(path):
    """The images of a `.npy` file or a folder of images."""
    if os.path.isdir(path):
        return load_image_folder(path)
    if path.lower().endswith(".npy"):
        return np.load(path, allow_pickle=False)
    raise ValueError(
        f"`source` must be an array, a .npy file, a folder of PNG/JPEG images or a TFDS name. Received: source={path!r}"
    )


def digits_dataset(protocol, split, batch_size=64, shuffle=None, seed=0, labels=False):
    """Make a batched `tf.data.Dataset` of one split of a benchmark protocol.

    Serves every protocol of `keras_ar.datasets.PROTOCOLS`. The
    elements are the examples `x`; `(x, condition)` for the conditional protocols
    (`digits-superres`, `patches-colorize`); `(x, label)` with `labels=True`, for a
    class-conditional model (`num_classes=data.num_classes`).

    Args:
        protocol: str (one of `keras_ar.datasets.PROTOCOLS`) or a `ProtocolData` from
            `keras_ar.datasets.load_protocol`.
        split: str, one of `"train"`, `"validation"`, `"test"`.
        batch_size: int >= 1, the batch size.
        shuffle: bool, whether to shuffle; None means True for `"train"` only.
        seed: int, the shuffle seed.
        labels: bool, yield `(x, label)` with the class labels of the split.

    Returns:
        A `tf.data.Dataset` of example batches, or of `(x, condition)` / `(x, label)` tuples.

    Example:

    >>> ds = digits_dataset("digits-17", "test", batch_size=360)
    >>> next(iter(ds)).shape
    TensorShape([360, 8, 8, 1])
    >>> x, y = next(iter(digits_dataset("digits-binary", "train", labels=True)))
    >>> x.shape, y.shape
    (TensorShape([64, 8, 8, 1]), TensorShape([64]))
    >>> x, c = next(iter(digits_dataset("digits-superres", "test", batch_size=8)))
    >>> c.shape
    TensorShape([8, 4, 4, 1])
    """
    if split not in _SPLITS:
        raise ValueError(f"`split` must be one of {_SPLITS}. Received: split={split!r}")
    if not isinstance(labels, bool):
        raise ValueError(f"`labels` must be a bool. Received: labels={labels!r}")
    data = protocol if isinstance(protocol, ProtocolData) else load_protocol(protocol)
    if shuffle is None:
        shuffle = split == "train"
    condition = None
    if labels:
        if data.is_conditional:
            raise ValueError(
                f"{data.name!r} is a conditional protocol: its elements are (x, condition). "
                "Received: labels=True; class labels are for the unconditional protocols "
                f"(its labels are in `keras_ar.datasets.load_protocol({data.name!r}).{split}_labels`)."
            )
        condition = getattr(data, f"{split}_labels")
    elif data.is_conditional:
        condition = getattr(data, f"{split}_condition")
    return make_dataset(getattr(data, split), condition, batch_size=batch_size, shuffle=shuffle, seed=seed)


protocol_dataset = digits_dataset
