"""The benchmark protocols of `BENCHMARKS.md`: fixed data, splits and preprocessing."""

import dataclasses

import numpy as np

PROTOCOLS = ("digits-binary", "digits-17", "digits-dequantized", "breast-cancer")

# (number of examples, train+validation size, validation size) per source data set.
_DIGITS_SPLIT = (1797, 1437, 200)
_BREAST_CANCER_SPLIT = (569, int(0.8 * 569), 91)


@dataclasses.dataclass(frozen=True)
class ProtocolData:
    """The three splits of one benchmark protocol, as numpy arrays.

    Args:
        name: str, the protocol name (one of `PROTOCOLS`).
        train: np.ndarray, the examples to fit on.
        validation: np.ndarray, the examples to select epochs and hyper-parameters by.
        test: np.ndarray, the examples to report on.
        event_shape: tuple of int, the shape of one example.
        num_levels: int or None, the number of discrete values per dimension (values are
            `0..num_levels - 1`), or None for real-valued data.
    """

    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    event_shape: tuple
    num_levels: object = None


def _check_name(name):
    if name not in PROTOCOLS:
        raise ValueError(f"Unknown protocol. Expected one of {PROTOCOLS}. Received: name={name!r}")


def protocol_indices(name):
    """Return the indices into the source data set of each split of a protocol.

    The indices address `load_digits()` (digits protocols) or `load_breast_cancer()` rows, so
    that labels (`.target`) can be taken for the same examples.

    Args:
        name: str, one of `PROTOCOLS`.

    Returns:
        A dict with keys `"train"`, `"validation"`, `"test"` mapping to int64 index arrays.

    Example:

    >>> idx = protocol_indices("digits-binary")
    >>> [len(idx[k]) for k in ("train", "validation", "test")]
    [1237, 200, 360]
    """
    _check_name(name)
    size, num_fit, num_validation = (
        _BREAST_CANCER_SPLIT if name == "breast-cancer" else _DIGITS_SPLIT
    )
    perm = np.random.default_rng(0).permutation(size)
    return {
        "train": perm[: num_fit - num_validation],
        "validation": perm[num_fit - num_validation : num_fit],
        "test": perm[num_fit:],
    }


def load_protocol(name):
    """Load the data of a benchmark protocol exactly as `BENCHMARKS.md` defines it.

    - `"digits-binary"`: scikit-learn digits, `(raw >= 8)` as uint8 {0, 1}, shape (N, 8, 8, 1).
    - `"digits-17"`: the raw values as uint8 levels 0..16, shape (N, 8, 8, 1).
    - `"digits-dequantized"`: `(raw + u) / 17` with `u ~ U[0, 1)` from `default_rng(1)`,
      float32, shape (N, 64).
    - `"breast-cancer"`: the 30 features standardised by the mean and std of the 455
      train+validation rows, float32, shape (N, 30).

    Digits splits are 1237 train / 200 validation / 360 test; breast cancer is 364 / 91 / 114.
    The validation split is the tail of the `BENCHMARKS.md` train split.

    Args:
        name: str, one of `PROTOCOLS`.

    Returns:
        A `ProtocolData`.

    Example:

    >>> data = load_protocol("digits-binary")
    >>> data.train.shape, data.train.dtype, data.num_levels
    ((1237, 8, 8, 1), dtype('uint8'), 2)
    """
    _check_name(name)
    from sklearn.datasets import load_breast_cancer, load_digits

    if name == "breast-cancer":
        raw = load_breast_cancer().data
        size, num_fit, num_validation = _BREAST_CANCER_SPLIT
        perm = np.random.default_rng(0).permutation(size)
        fit, test = raw[perm[:num_fit]], raw[perm[num_fit:]]
        mean, std = fit.mean(axis=0), fit.std(axis=0)
        fit = ((fit - mean) / std).astype(np.float32)
        test = ((test - mean) / std).astype(np.float32)
        event_shape, num_levels = (30,), None
    else:
        raw = load_digits().images
        size, num_fit, num_validation = _DIGITS_SPLIT
        perm = np.random.default_rng(0).permutation(size)
        fit, test = raw[perm[:num_fit]], raw[perm[num_fit:]]
        if name == "digits-binary":
            fit, test = [(x >= 8).astype(np.uint8)[..., None] for x in (fit, test)]
            event_shape, num_levels = (8, 8, 1), 2
        elif name == "digits-17":
            fit, test = [x.astype(np.uint8)[..., None] for x in (fit, test)]
            event_shape, num_levels = (8, 8, 1), 17
        else:  # digits-dequantized
            rng = np.random.default_rng(1)
            u_fit = rng.random((num_fit, 64))
            u_test = rng.random((size - num_fit, 64))
            fit = ((fit.reshape(-1, 64) + u_fit) / 17).astype(np.float32)
            test = ((test.reshape(-1, 64) + u_test) / 17).astype(np.float32)
            event_shape, num_levels = (64,), None
    num_train = num_fit - num_validation
    return ProtocolData(
        name=name,
        train=fit[:num_train],
        validation=fit[num_train:],
        test=test,
        event_shape=event_shape,
        num_levels=num_levels,
    )
