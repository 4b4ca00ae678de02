"""The 8x8 handwritten digits, bundled with keras_ar: 1,797 grey images with 17 levels (0..16).

The data of scikit-learn's `load_digits()` (a copy of the test set of the UCI "Optical Recognition
of Handwritten Digits" data, E. Alpaydin and C. Kaynak, 1998), stored in
`keras_ar/datasets/files/digits.npz` (uint8, SHA-256 checked on load; `files/README.md` gives the
source and license), so the base install trains and evaluates without scikit-learn.

Split (fixed; the one of the `digits-*` protocols): `np.random.default_rng(0).permutation(1797)`,
then the first 1237 train, the next 200 validation, the last 360 test.
"""

import io

import numpy as np

from keras_ar.datasets import _bundled

NUM_EXAMPLES = 1797
NUM_CLASSES = 10
NUM_LEVELS = 17
SPLIT_SIZES = (1237, 200, 360)
# (number of examples, train + validation, validation): the permutation split of `_bundled.split_indices`
_SPLIT = (NUM_EXAMPLES, 1437, 200)


def load_raw():
    """All 1,797 digits in their source order (the order of scikit-learn's `load_digits()`).

    Returns:
        `(images, labels)`: uint8 `(1797, 8, 8)` levels 0..16 and int64 `(1797,)` digits.

    Example:

    >>> images, labels = load_raw()
    >>> images.shape, int(images.max()), labels[:5].tolist()
    ((1797, 8, 8), 16, [0, 1, 2, 3, 4])
    """
    with np.load(io.BytesIO(_bundled.read_bytes("digits.npz")), allow_pickle=False) as stored:
        return stored["images"], stored["labels"].astype(np.int64)


def split_indices():
    """The indices into `load_raw()` of each split: a dict `"train"` / `"validation"` / `"test"`."""
    return _bundled.split_indices(*_SPLIT)


def load_data(binarize=False):
    """Load the digits with their fixed train / validation / test splits.

    Args:
        binarize: bool; False gives the levels 0..16, True gives `(level >= 8)` as {0, 1}
            (the `digits-binary` protocol).

    Returns:
        `(x_train, y_train), (x_val, y_val), (x_test, y_test)`: `x` uint8 `(N, 8, 8, 1)`,
        `y` int64 `(N,)` digits; N = 1237, 200, 360.

    Example:

    >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_data()
    >>> x_train.shape, x_train.dtype, int(x_train.max()), y_train[:5].tolist()
    ((1237, 8, 8, 1), dtype('uint8'), 16, [6, 6, 6, 2, 5])
    >>> int(load_data(binarize=True)[2][0].max())
    1
    """
    if not isinstance(binarize, bool):
        raise ValueError(f"`binarize` must be True or False. Received: binarize={binarize!r}")
    images, labels = load_raw()
    x = (images >= 8).astype(np.uint8) if binarize else images
    x = x[..., None]
    idx = split_indices()
    return tuple((x[idx[k]], labels[idx[k]]) for k in ("train", "validation", "test"))
