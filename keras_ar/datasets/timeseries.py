"""The `timeseries` protocol: statsmodels' bundled `co2` and `sunspots` series, split in time
(`keras_ar.datasets.co2` / `.sunspots`). Needs statsmodels (`pip install 'keras-ar[timeseries]'`).

- `co2`: `statsmodels.datasets.co2.load_pandas().data["co2"]`, weekly atmospheric CO2 at Mauna
  Loa (ppm), 1958-03-29 to 2001-12-29, 2284 weeks; the 59 missing weeks are filled by linear
  interpolation between their neighbours in week index (`np.interp`).
- `sunspots`: `statsmodels.datasets.sunspots.load_pandas().data["SUNACTIVITY"]`, yearly sunspot
  numbers 1700 to 2008, 309 years.

Split in time, with `n` values: the first `int(0.7 * n)` values train, the next
`int(0.8 * n) - int(0.7 * n)` validation, the rest (the last ~20%) test: co2 1598 / 229 / 457,
sunspots 216 / 31 / 62. All values are standardised by the mean and (population, ddof=0)
standard deviation of the train part, in float64, then stored as float32. Metric: the test NLL
in nats per value, each test value scored given the values before it (the train and
validation values serve as context); `autoreg_baseline` gives the classical anchor.
"""

import math

import numpy as np

from keras_ar.data.sequences import SequenceData
from keras_ar.data.sequences import check_split
from keras_ar.data.sequences import scoring_windows
from keras_ar.data.sequences import windows
from keras_ar.utils.checks import check_int
from keras_ar.utils.extras import require

SERIES = ("co2", "sunspots")
_TRAIN_END, _VALIDATION_END = 0.7, 0.8


def raw_series(name):
    """The raw values of a series (missing co2 weeks interpolated), float64 1-D.

    Example:

    >>> x = raw_series("sunspots")
    >>> len(x), x[:3].tolist()
    (309, [5.0, 11.0, 16.0])
    """
    if name not in SERIES:
        raise ValueError(f"`name` must be one of {SERIES}. Received: name={name!r}")
    datasets = require("statsmodels.datasets", "timeseries", f"keras_ar.datasets.{name}.load_data")

    if name == "co2":
        values = datasets.co2.load_pandas().data["co2"].to_numpy(np.float64)
        known = ~np.isnan(values)
        steps = np.arange(len(values))
        return np.interp(steps, steps[known], values[known])
    return datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)


def split_sizes(n):
    """`(train, validation, test)` sizes of a series of `n` values.

    Example:

    >>> split_sizes(2284), split_sizes(309)
    ((1598, 229, 457), (216, 31, 62))
    """
    train_end, validation_end = int(_TRAIN_END * n), int(_VALIDATION_END * n)
    return train_end, validation_end - train_end, n - validation_end


def load_timeseries(name):
    """Load one series of the `timeseries` protocol (module docstring), standardised and split.

    Args:
        name: `"co2"` or `"sunspots"`.

    Returns:
        A `SequenceData` with float32 1-D `train` / `validation` / `test`, metric
        `"nats per value"`; `info` holds `mean` and `std` (of the raw train values) and `sizes`.

    Example:

    >>> data = load_timeseries("co2")
    >>> len(data.train), len(data.validation), len(data.test)
    (1598, 229, 457)
    >>> bool(abs(data.train.mean()) < 1e-6), round(float(data.train.std()), 4)
    (True, 1.0)
    """
    raw = raw_series(name)
    n_train, n_validation, _ = split_sizes(len(raw))
    mean, std = raw[:n_train].mean(), raw[:n_train].std()
    x = ((raw - mean) / std).astype(np.float32)
    return SequenceData(
        name=name,
        train=x[:n_train],
        validation=x[n_train : n_train + n_validation],
        test=x[n_train + n_validation :],
        metric="nats per value",
        info={"mean": float(mean), "std": float(std), "sizes": split_sizes(len(raw))},
    )


def difference_timeseries(data):
    """The scaled first differences of a standardised series: a change of variables for models
    that extrapolate poorly (co2's test values lie above every train value).

    `d_t = (x_t - x_{t-1}) / s` for every `t >= 1`, with `s` the (population) standard deviation of
    the train part's differences. The differences keep their time index: the train split loses its
    first value, validation and test keep every value, so `d_t` of a test week is scored given the
    differences before it exactly as `x_t` is given the values before it. Given `x_{t-1}`, the map
    from `x_t` to `d_t` has Jacobian `1 / s`, so a model's NLL of `d_t` plus `log(s)`
    (`info["nll_offset"]`) is its NLL of `x_t` in the original protocol's nats per value.

    Args:
        data: a `SequenceData` from `load_timeseries` (or a series name).

    Returns:
        A `SequenceData` of float32 differences; `info` keeps the levels' `mean` and `std`,
        gives the new split `sizes` and adds `scale` (`s`), `nll_offset` (`log(s)`) and
        `differenced: True`. A model's NLL of these values is in difference units: add
        `nll_offset` (as `autoreg_baseline` does) to compare it with the protocol's.

    Example:

    >>> diffs = difference_timeseries("co2")
    >>> len(diffs.train), len(diffs.validation), len(diffs.test)
    (1597, 229, 457)
    >>> round(diffs.info["nll_offset"], 3), round(float(diffs.train.std()), 4)
    (-3.127, 1.0)
    """
    data = load_timeseries(data) if isinstance(data, str) else data
    if data.info.get("differenced"):
        raise ValueError("`data` is already differenced; pass the series from `load_timeseries`.")
    x = _full(data).astype(np.float64)
    d = np.diff(x)
    n_train, n_validation = len(data.train), len(data.validation)
    if n_train < 3:
        raise ValueError(f"The train part of {data.name!r} needs at least 3 values to scale its differences. "
                         f"Received: {n_train}")
    scale = float(d[: n_train - 1].std())
    if not scale > 0:
        raise ValueError(f"The train part of {data.name!r} is constant: its differences cannot be scaled.")
    d = (d / scale).astype(np.float32)
    return SequenceData(
        name=data.name,
        train=d[: n_train - 1],
        validation=d[n_train - 1 : n_train - 1 + n_validation],
        test=d[n_train - 1 + n_validation :],
        metric=data.metric,
        info={**data.info, "sizes": (n_train - 1, n_validation, len(data.test)), "scale": scale,
              "nll_offset": math.log(scale), "differenced": True},
    )


def _full(data):
    return np.concatenate([data.train, data.validation, data.test])


def _start(data, split):
    check_split(split)
    return {"train": 0, "validation": len(data.train), "test": len(data.train) + len(data.validation)}[split]


def timeseries_windows(data, split, length, stride=1):
    """Windows of `length` values within one split (`windows`), float32 `(N, length)`.

    Example:

    >>> timeseries_windows(load_timeseries("sunspots"), "train", 32).shape
    (185, 32)
    """
    check_split(split)
    return windows(data.split(split), length, stride)


def timeseries_scoring_windows(data, split="test", segment_length=32, context=32):
    """`scoring_windows` over a split: every value scored once, with up to `context` earlier values
    of the series (from the previous splits too) as context; zeros (the train mean of a
    standardised series) before the series' start.

    Returns:
        `(windows, mask)`, float32 `(N, context + segment_length)`.
    """
    start = _start(data, split)
    end = start + len(data.split(split))
    return scoring_windows(_full(data)[:end], segment_length, context, start=start, pad_value=0.0)


def _ar_nll(params, sigma2, series, order, start, end):
    """Mean Gaussian one-step NLL of `series[start:end]` under AR(order) with intercept."""
    targets = series[start:end]
    lags = np.stack([series[start - k : end - k] for k in range(1, order + 1)], axis=1)
    mean = params[0] + lags @ params[1:]
    return float(np.mean(0.5 * math.log(2 * math.pi * sigma2) + (targets - mean) ** 2 / (2 * sigma2)))


def autoreg_baseline(name_or_data, max_order=None):
    """The classical anchor: a statsmodels `AutoReg` (Gaussian AR(p) with intercept) on the
    standardised series, p chosen by validation NLL.

    For each `p` in `1..max_order`, `AutoReg(train, lags=p, trend="c").fit()` (conditional
    least squares on the train values only); a value is predicted from the `p` true values
    before it (from earlier splits where needed) with the fitted variance `sigma2`. The `p`
    of the lowest validation NLL is kept (train fit unchanged) and scored on the test values.

    Args:
        name_or_data: `"co2"`, `"sunspots"` or a `SequenceData` from `load_timeseries` or
            `difference_timeseries` (an AR model of the differences, an ARIMA(p, 1, 0); its NLL is
            given in nats per standardised value, as every model's).
        max_order: int, the largest order tried; None means `min(60, len(train) // 10)` (60
            fits for co2: about half a minute).

    Returns:
        dict: `order`, `validation_nll`, `test_nll` (nats per value, standardised units),
        `validation_nlls` (per order tried).

    Example:

    >>> result = autoreg_baseline("sunspots", max_order=10)
    >>> result["order"], round(result["test_nll"], 3)
    (8, 1.155)
    """
    AutoReg = require("statsmodels.tsa.ar_model", "timeseries", "keras_ar.datasets.timeseries.autoreg_baseline").AutoReg

    data = load_timeseries(name_or_data) if isinstance(name_or_data, str) else name_or_data
    series = _full(data).astype(np.float64)
    train = series[: len(data.train)]
    if max_order is None:
        max_order = min(60, len(train) // 10)
    max_order = check_int(max_order, "max_order", 1)
    n_train, n_validation = len(data.train), len(data.validation)
    fits, validation_nlls = {}, {}
    for order in range(1, max_order + 1):
        result = AutoReg(train, lags=order, trend="c").fit()
        fits[order] = (np.asarray(result.params), float(result.sigma2))
        validation_nlls[order] = _ar_nll(*fits[order], series, order, n_train, n_train + n_validation)
    offset = data.info.get("nll_offset", 0.0)  # differenced data: back to nats per standardised value
    validation_nlls = {order: nll + offset for order, nll in validation_nlls.items()}
    order = min(validation_nlls, key=validation_nlls.get)
    return {
        "order": order,
        "validation_nll": validation_nlls[order],
        "test_nll": _ar_nll(*fits[order], series, order, n_train + n_validation, len(series)) + offset,
        "validation_nlls": validation_nlls,
    }


def load_splits(name, standardize=True):
    """`(train, validation, test)` of the series `name` (the `load_data()` of `co2` and `sunspots`):
    standardised float32 (the protocol's values) or, with `standardize=False`, raw float64."""
    if not isinstance(standardize, bool):
        raise ValueError(f"`standardize` must be True or False. Received: standardize={standardize!r}")
    if standardize:
        data = load_timeseries(name)
        return data.train, data.validation, data.test
    raw = raw_series(name)
    n_train, n_validation, _ = split_sizes(len(raw))
    return raw[:n_train], raw[n_train : n_train + n_validation], raw[n_train + n_validation :]
