"""The Wisconsin diagnostic breast cancer data (scikit-learn's `load_breast_cancer`): 569 rows of
30 real features, label 0 malignant / 1 benign. Needs scikit-learn (`pip install 'keras-ar[benchmarks]'`).

Split (fixed; the `breast-cancer` protocol's): `np.random.default_rng(0).permutation(569)`, then the
first 364 train, the next 91 validation, the last 114 test. The features are standardised by the
mean and (population) standard deviation of the 455 train + validation rows.
"""

import numpy as np

from keras_ar.datasets import _bundled
from keras_ar.utils.extras import require

NUM_EXAMPLES = 569
NUM_CLASSES = 2
SPLIT_SIZES = (364, 91, 114)
_SPLIT = (NUM_EXAMPLES, int(0.8 * NUM_EXAMPLES), 91)


def split_indices():
    """The indices into scikit-learn's rows of each split: a dict `"train"` / `"validation"` / `"test"`."""
    return _bundled.split_indices(*_SPLIT)


def load_data():
    """Load the standardised features with their fixed train / validation / test splits.

    Returns:
        `(x_train, y_train), (x_val, y_val), (x_test, y_test)`: `x` float32 `(N, 30)`, `y`
        int64 `(N,)`; N = 364, 91, 114.

    Example:

    >>> (x_train, y_train), _, (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape, x_train.dtype
    ((364, 30), (114, 30), dtype('float32'))
    """
    datasets = require("sklearn.datasets", "benchmarks", "keras_ar.datasets.breast_cancer.load_data")
    source = datasets.load_breast_cancer()
    idx = split_indices()
    fit_rows = np.concatenate([idx["train"], idx["validation"]])
    mean, std = source.data[fit_rows].mean(axis=0), source.data[fit_rows].std(axis=0)
    x = ((source.data - mean) / std).astype(np.float32)
    labels = np.asarray(source.target, np.int64)
    return tuple((x[idx[k]], labels[idx[k]]) for k in ("train", "validation", "test"))
