"""The `tf.data` pipeline of the `timeseries` protocol. The protocol itself (the `co2` and
`sunspots` series, their splits and the AutoReg baseline) moved to `keras_ar.datasets.timeseries`
(and `keras_ar.datasets.co2` / `.sunspots`); its other names resolve there, with a
`DeprecationWarning`."""

from keras_ar.data import _moved
from keras_ar.datasets import timeseries as _timeseries

_MOVED = {
    name: ("keras_ar.datasets.timeseries", name)
    for name in (
        "SERIES",
        "autoreg_baseline",
        "difference_timeseries",
        "load_timeseries",
        "raw_series",
        "split_sizes",
        "timeseries_scoring_windows",
        "timeseries_windows",
    )
}


def __getattr__(name):
    return _moved.resolve(__name__, name, _MOVED)


def timeseries_dataset(name_or_data, split, length, batch_size=32, stride=1, shuffle=None, seed=0):
    """Windows of one split as a batched `tf.data.Dataset` of float32 `(batch, length)`.

    Args:
        name_or_data: `"co2"`, `"sunspots"` or a `SequenceData` from
            `keras_ar.datasets.timeseries.load_timeseries` (or `difference_timeseries`).
        split: `"train"`, `"validation"` or `"test"`.
        length, stride: the window length and the step between windows.
        batch_size: int >= 1.
        shuffle: bool; None means True for `"train"`.
        seed: int, the shuffle seed.

    Example:

    >>> ds = timeseries_dataset("co2", "train", length=64, batch_size=16)
    >>> next(iter(ds)).shape
    TensorShape([16, 64])
    """
    from keras_ar.data.pipelines import make_dataset

    data = _timeseries.load_timeseries(name_or_data) if isinstance(name_or_data, str) else name_or_data
    shuffle = split == "train" if shuffle is None else shuffle
    windows = _timeseries.timeseries_windows(data, split, length, stride)
    return make_dataset(windows, batch_size=batch_size, shuffle=shuffle, seed=seed)
