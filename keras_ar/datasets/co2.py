"""Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-03-29 to 2001-12-29: statsmodels' `co2` data,
2,284 weeks, the 59 missing weeks linearly interpolated. Needs statsmodels
(`pip install 'keras-ar[timeseries]'`).

Split in time (fixed; the `timeseries` protocol's): the first 70% train, the next 10% validation,
the last 20% test (1598, 229, 457 values); `keras_ar.datasets.timeseries` defines it.
"""

from keras_ar.datasets import timeseries


def load_data(standardize=True):
    """Load the series with its fixed train / validation / test splits (in time order).

    Args:
        standardize: bool; True (the protocol's values) standardises by the mean and
            (population) standard deviation of the train part and gives float32; False gives the
            raw float64 values.

    Returns:
        `(train, validation, test)`: 1-D arrays of 1598, 229, 457 values.

    Example:

    >>> train, validation, test = load_data()
    >>> len(train), len(validation), len(test)
    (1598, 229, 457)
    """
    return timeseries.load_splits("co2", standardize)
