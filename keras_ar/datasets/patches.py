"""8x8 RGB patches of scikit-learn's two bundled photographs (`load_sample_images`: `china.jpg` and
`flower.jpg`), 8,480 patches, label = the photograph (0 china, 1 flower). Needs scikit-learn
(`pip install 'keras-ar[benchmarks]'`).

Each photograph (427 x 640) is cut to 424 rows and split into non-overlapping 8x8 patches in raster
order, china's first. The values are those of the JPEG decoder (Pillow) that scikit-learn uses.
Split (fixed; the `patches-*` protocols'): `np.random.default_rng(0).permutation(8480)`, then the
first 6106 train, the next 678 validation, the last 1696 test.
"""

import numpy as np

from keras_ar.datasets import _bundled
from keras_ar.utils.extras import require

NUM_EXAMPLES = 8480
NUM_CLASSES = 2
SPLIT_SIZES = (6106, 678, 1696)
_SPLIT = (NUM_EXAMPLES, 6784, 678)


def load_patches():
    """All 8,480 patches in source order (china's, then flower's, each in raster order).

    Returns:
        `(patches, source)`: uint8 `(8480, 8, 8, 3)` and int64 `(8480,)`, the photograph of each
        patch (0 china, 1 flower).

    Example:

    >>> patches, source = load_patches()
    >>> patches.shape, patches.dtype, np.bincount(source).tolist()
    ((8480, 8, 8, 3), dtype('uint8'), [4240, 4240])
    """
    datasets = require("sklearn.datasets", "benchmarks", "keras_ar.datasets.patches")
    images = datasets.load_sample_images().images
    patches = np.concatenate(
        [im[:424].reshape(53, 8, 80, 8, 3).swapaxes(1, 2).reshape(-1, 8, 8, 3) for im in images]
    )
    source = np.repeat(np.arange(len(images), dtype=np.int64), [53 * 80] * len(images))
    return patches, source


def split_indices():
    """The indices into `load_patches()` of each split: a dict `"train"` / `"validation"` / `"test"`."""
    return _bundled.split_indices(*_SPLIT)


def load_data():
    """Load the patches with their fixed train / validation / test splits.

    Returns:
        `(x_train, y_train), (x_val, y_val), (x_test, y_test)`: `x` uint8 `(N, 8, 8, 3)` levels
        0..255, `y` int64 `(N,)` the photograph; N = 6106, 678, 1696.
    """
    patches, source = load_patches()
    idx = split_indices()
    return tuple((patches[idx[k]], source[idx[k]]) for k in ("train", "validation", "test"))
