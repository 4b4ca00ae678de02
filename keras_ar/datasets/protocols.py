"""The named image and tabular data sets with fixed splits (the protocols of the benchmarks):
`load_protocol("digits-binary")`, ... NumPy only; the digits are bundled, breast cancer and the
patches need scikit-learn (`pip install 'keras-ar[benchmarks]'`).

The data come from `keras_ar.datasets.digits`, `.breast_cancer` and `.patches`; a protocol fixes the
representation (binary, 17 levels, dequantized, ...) and, for the conditional ones, the condition of
each example. `keras-ar --data NAME` and `benchmarks/` take these names.
"""

import dataclasses

import numpy as np

from keras_ar.datasets import breast_cancer
from keras_ar.datasets import digits
from keras_ar.datasets import patches

PROTOCOLS = (
    "digits-binary",
    "digits-17",
    "digits-dequantized",
    "breast-cancer",
    "patches-rgb",
    "digits-superres",
    "patches-colorize",
)
_SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class ProtocolData:
    """The three splits of one protocol, as numpy arrays.

    Args:
        name: str, the protocol name (one of `PROTOCOLS`).
        train: np.ndarray, the examples to fit on.
        validation: np.ndarray, the examples to select epochs and hyper-parameters by.
        test: np.ndarray, the examples to report on.
        event_shape: tuple of int, the shape of one example.
        num_levels: int or None, the number of discrete values per dimension (values are
            `0..num_levels - 1`), or None for real-valued data.
        train_labels, validation_labels, test_labels: np.ndarray of int64 class labels, one
            per example (the digit; the diagnosis for breast cancer; the source photograph
            for patches).
        num_classes: int or None, the number of classes of the labels.
        train_condition, validation_condition, test_condition: np.ndarray or None, the
            condition of each example for the conditional protocols (`digits-superres`,
            `patches-colorize`), None for the others.
        condition_shape: tuple of int or None, the shape of one condition.

    Example:

    >>> data = load_protocol("digits-17")
    >>> data.train.shape, data.train_labels[:5], data.num_classes
    ((1237, 8, 8, 1), array([6, 6, 6, 2, 5]), 10)
    """

    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    event_shape: tuple
    num_levels: object = None
    train_labels: object = None
    validation_labels: object = None
    test_labels: object = None
    num_classes: object = None
    train_condition: object = None
    validation_condition: object = None
    test_condition: object = None
    condition_shape: object = None

    @property
    def is_conditional(self):
        """Whether the protocol gives a condition per example (`(x, condition)` data)."""
        return self.condition_shape is not None


def _check_name(name):
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol. Expected one of {PROTOCOLS}. Received: name={name!r}")


def _source(name):
    if name == "breast-cancer":
        return breast_cancer
    if name.startswith("patches"):
        return patches
    return digits


def protocol_indices(name):
    """Return the indices into the source data set of each split of a protocol.

    The indices address `keras_ar.datasets.digits.load_raw()` (the order of scikit-learn's
    `load_digits()`; digits protocols), scikit-learn's `load_breast_cancer()` rows, or the 8480
    patches of `sample_patches()` (patches protocols), so that other data (e.g. `.target`) can be
    taken for the same examples.

    Args:
        name: str, one of `PROTOCOLS`.

    Returns:
        A dict with keys `"train"`, `"validation"`, `"test"` mapping to int64 index arrays.

    Example:

    >>> idx = protocol_indices("digits-binary")
    >>> [len(idx[k]) for k in ("train", "validation", "test")]
    [1237, 200, 360]
    >>> [len(v) for v in protocol_indices("patches-rgb").values()]
    [6106, 678, 1696]
    """
    _check_name(name)
    return _source(name).split_indices()


def sample_patches():
    """The 8480 non-overlapping 8x8 RGB patches of scikit-learn's two bundled photographs
    (`keras_ar.datasets.patches.load_patches`).

    Returns:
        `(patches, source)`: uint8 `(8480, 8, 8, 3)` and int64 `(8480,)`, the index of the
        photograph of each patch (0 china, 1 flower).
    """
    return patches.load_patches()


def superres_condition(x):
    """The `digits-superres` condition: the mean of each 2x2 block, float32 `(N, H/2, W/2, C)`.

    Example:

    >>> superres_condition(np.arange(16).reshape(1, 4, 4, 1))[0, ..., 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4)).astype(np.float32)


def grey_condition(x):
    """The `patches-colorize` condition: `round(0.299 R + 0.587 G + 0.114 B)`, uint8 `(N, H, W, 1)`.

    `np.round` of the float64 sum (round half to even).

    Example:

    >>> grey_condition(np.array([[[[255, 0, 0], [10, 20, 30]]]], np.uint8))[0, 0, :, 0]
    array([76, 18], dtype=uint8)
    """
    x = np.asarray(x, np.float64)
    grey = np.round(0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])
    return grey.astype(np.uint8)[..., None]


def _dequantized(raw, idx):
    """`(raw + u) / 17`, float32 `(N, 64)`; u ~ U[0, 1) from `default_rng(1)`, drawn for
    train + validation, then test, in the permuted order."""
    num_fit = len(idx["train"]) + len(idx["validation"])
    rng = np.random.default_rng(1)
    u_fit, u_test = rng.random((num_fit, 64)), rng.random((len(raw) - num_fit, 64))
    perm = np.concatenate([idx["train"], idx["validation"], idx["test"]])
    u = np.empty((len(raw), 64))
    u[perm] = np.concatenate([u_fit, u_test])
    return ((raw.reshape(-1, 64).astype(np.float64) + u) / 17).astype(np.float32)


def load_protocol(name):
    """Load the data of a protocol: fixed data, splits and preprocessing.

    - `"digits-binary"`: the bundled digits (`keras_ar.datasets.digits`), `(level >= 8)` as uint8
      {0, 1}, shape (N, 8, 8, 1).
    - `"digits-17"`: the levels as uint8 0..16, shape (N, 8, 8, 1).
    - `"digits-dequantized"`: `(level + u) / 17` with `u ~ U[0, 1)` from `default_rng(1)`,
      float32, shape (N, 64).
    - `"breast-cancer"`: the 30 features standardised by the mean and std of the 455
      train+validation rows, float32, shape (N, 30) (needs scikit-learn).
    - `"patches-rgb"`: 8x8 RGB patches of scikit-learn's two bundled photographs
      (`sample_patches`), uint8 levels 0..255, shape (N, 8, 8, 3) (needs scikit-learn).
    - `"digits-superres"`: the `digits-17` images, conditioned on the mean of each 2x2 block
      (`superres_condition`), float32 conditions of shape (N, 4, 4, 1) with values in [0, 16].
    - `"patches-colorize"`: the `patches-rgb` patches, conditioned on the grey patch
      `round(0.299 R + 0.587 G + 0.114 B)` (`grey_condition`), uint8 (N, 8, 8, 1), 0..255.

    Digits splits are 1237 train / 200 validation / 360 test; breast cancer is 364 / 91 / 114;
    patches 6106 / 678 / 1696. Every protocol has class labels per split (`train_labels`, ...;
    digits: the digit, breast cancer: the diagnosis, patches: the photograph); the conditional
    ones have `train_condition`, ... as well.

    Args:
        name: str, one of `PROTOCOLS`.

    Returns:
        A `ProtocolData`.

    Example:

    >>> data = load_protocol("digits-binary")
    >>> data.train.shape, data.train.dtype, data.num_levels
    ((1237, 8, 8, 1), dtype('uint8'), 2)
    >>> sr = load_protocol("digits-superres")
    >>> sr.train_condition.shape, sr.condition_shape
    ((1237, 4, 4, 1), (4, 4, 1))
    """
    _check_name(name)
    fields, extra = {}, {}
    if name == "breast-cancer":
        splits = breast_cancer.load_data()
        num_classes, event_shape, num_levels = breast_cancer.NUM_CLASSES, (30,), None
    elif name.startswith("patches"):
        splits = patches.load_data()
        num_classes, event_shape, num_levels = patches.NUM_CLASSES, (8, 8, 3), 256
        if name == "patches-colorize":
            extra = {"condition": grey_condition, "condition_shape": (8, 8, 1)}
    elif name == "digits-dequantized":
        raw, labels = digits.load_raw()
        idx = digits.split_indices()
        x = _dequantized(raw, idx)
        splits = tuple((x[idx[k]], labels[idx[k]]) for k in _SPLITS)
        num_classes, event_shape, num_levels = digits.NUM_CLASSES, (64,), None
    else:
        binary = name == "digits-binary"
        splits = digits.load_data(binarize=binary)
        num_classes, event_shape, num_levels = digits.NUM_CLASSES, (8, 8, 1), 2 if binary else 17
        if name == "digits-superres":
            extra = {"condition": superres_condition, "condition_shape": (4, 4, 1)}
    for split, (x, y) in zip(_SPLITS, splits):
        fields[split] = x
        fields[f"{split}_labels"] = np.asarray(y, np.int64)
        if extra:
            fields[f"{split}_condition"] = extra["condition"](x)
    return ProtocolData(
        name=name,
        event_shape=event_shape,
        num_levels=num_levels,
        num_classes=num_classes,
        condition_shape=extra.get("condition_shape"),
        **fields,
    )
