import dataclasses
import math

import numpy as np
import pytest
import statsmodels.api as sm

from keras_ar.data import timeseries_dataset
from keras_ar.datasets import co2
from keras_ar.datasets import sunspots
from keras_ar.datasets import timeseries
from keras_ar.datasets.timeseries import (
    autoreg_baseline,
    difference_timeseries,
    load_timeseries,
    timeseries_scoring_windows,
    timeseries_windows,
)


@pytest.mark.parametrize("name, sizes", [("co2", (1598, 229, 457)), ("sunspots", (216, 31, 62))])
def test_split_and_standardisation(name, sizes):
    data = load_timeseries(name)
    assert (len(data.train), len(data.validation), len(data.test)) == sizes == data.info["sizes"]
    assert data.train.dtype == np.float32 and data.metric == "nats per value" and data.num_levels is None
    assert abs(data.train.mean()) < 1e-5 and data.train.std() == pytest.approx(1.0, abs=1e-5)
    raw = np.concatenate([data.train, data.validation, data.test]) * data.info["std"] + data.info["mean"]
    np.testing.assert_allclose(raw, timeseries.raw_series(name), rtol=1e-5)
    assert np.isfinite(raw).all()


def test_co2_missing_weeks_are_interpolated():
    source = sm.datasets.co2.load_pandas().data["co2"].to_numpy()
    filled = timeseries.raw_series("co2")
    missing = np.flatnonzero(np.isnan(source))
    assert len(missing) == 59 and not np.isnan(source[[0, -1]]).any()
    np.testing.assert_array_equal(filled[~np.isnan(source)], source[~np.isnan(source)])
    i = missing[0]  # a lone missing week is the mean of its neighbours
    if not np.isnan(source[i + 1]) and not np.isnan(source[i - 1]):
        assert filled[i] == pytest.approx((source[i - 1] + source[i + 1]) / 2)


def test_windows_and_scoring_windows():
    data = load_timeseries("sunspots")
    w = timeseries_windows(data, "train", 16, stride=4)
    assert w.shape == ((216 - 16) // 4 + 1, 16)
    np.testing.assert_array_equal(w[2], data.train[8:24])
    windows, mask = timeseries_scoring_windows(data, "test", segment_length=20, context=10)
    assert windows.shape == (4, 30) and mask.sum() == 62
    np.testing.assert_array_equal(windows[0, :10], data.validation[-10:])
    np.testing.assert_array_equal(windows[:, 10:][mask[:, 10:] == 1], data.test)
    with pytest.raises(ValueError, match="one of"):
        load_timeseries("airline")


def test_autoreg_baseline_matches_a_direct_gaussian_ar():
    data = load_timeseries("sunspots")
    result = autoreg_baseline(data, max_order=4)
    assert set(result["validation_nlls"]) == {1, 2, 3, 4}
    assert result["validation_nll"] == min(result["validation_nlls"].values())
    # recompute the test NLL with least squares on the train values
    p, x = result["order"], np.concatenate([data.train, data.validation, data.test]).astype(np.float64)
    train = x[:216]
    design = np.column_stack([np.ones(216 - p)] + [train[p - k : 216 - k] for k in range(1, p + 1)])
    coef, *_ = np.linalg.lstsq(design, train[p:], rcond=None)
    sigma2 = np.mean((train[p:] - design @ coef) ** 2)
    lags = np.column_stack([np.ones(62)] + [x[247 - k : 309 - k] for k in range(1, p + 1)])
    nll = 0.5 * math.log(2 * math.pi * sigma2) + (x[247:] - lags @ coef) ** 2 / (2 * sigma2)
    assert result["test_nll"] == pytest.approx(nll.mean(), rel=1e-6)
    # an AR model beats the standard normal that standardised data would otherwise get
    assert result["test_nll"] < 0.5 * math.log(2 * math.pi) + 0.5 * np.mean(data.test.astype(np.float64) ** 2)


@pytest.mark.tf_only
def test_timeseries_dataset():
    batches = list(timeseries_dataset("sunspots", "validation", length=8, batch_size=10))
    assert [tuple(b.shape) for b in batches] == [(10, 8), (10, 8), (4, 8)]
    assert batches[0].dtype.name == "float32"


def test_difference_timeseries_is_a_change_of_variables():
    data = load_timeseries("sunspots")
    diffs = difference_timeseries(data)
    assert (len(diffs.train), len(diffs.validation), len(diffs.test)) == (215, 31, 62)
    x = np.concatenate([data.train, data.validation, data.test]).astype(np.float64)
    d = np.concatenate([diffs.train, diffs.validation, diffs.test]).astype(np.float64)
    s = diffs.info["scale"]
    assert s == pytest.approx(np.diff(x[:216]).std()) and diffs.info["nll_offset"] == pytest.approx(math.log(s))
    assert diffs.train.std() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(x[0] + np.cumsum(d * s), x[1:], atol=1e-4)  # the levels come back
    # d_t keeps x_t's time index: test value k is the difference into the series' test value k
    np.testing.assert_allclose(diffs.test * s, x[247:] - x[246:-1], atol=1e-5)
    # a Gaussian density of d_t, moved back to x_t by the offset, is the density of x_t itself
    mu, sigma = 0.3, 0.7
    log_p_d = -0.5 * math.log(2 * math.pi * sigma**2) - (d[-62:] - mu) ** 2 / (2 * sigma**2)
    mean_x, sd_x = x[246:-1] + s * mu, s * sigma
    log_p_x = -0.5 * math.log(2 * math.pi * sd_x**2) - (x[247:] - mean_x) ** 2 / (2 * sd_x**2)
    np.testing.assert_allclose(-log_p_d + diffs.info["nll_offset"], -log_p_x, rtol=1e-5, atol=1e-6)
    assert diffs.info["sizes"] == (215, 31, 62)
    # the AR anchor on the differences reports nats per standardised value too: log s above the same fit
    # in difference units
    result = autoreg_baseline(diffs, max_order=3)
    raw = autoreg_baseline(dataclasses.replace(diffs, info={}), max_order=3)
    assert result["order"] == raw["order"]
    assert result["test_nll"] == pytest.approx(raw["test_nll"] + math.log(s), rel=1e-9)
    for order, nll in result["validation_nlls"].items():
        assert nll == pytest.approx(raw["validation_nlls"][order] + math.log(s), rel=1e-9)
    with pytest.raises(ValueError, match="already differenced"):
        difference_timeseries(diffs)


@pytest.mark.parametrize("module", [co2, sunspots])
def test_load_data_gives_the_protocol_splits(module):
    name = module.__name__.rsplit(".", 1)[1]
    data = load_timeseries(name)
    splits = module.load_data()
    raw = module.load_data(standardize=False)
    for split, x, r in zip(("train", "validation", "test"), splits, raw):
        assert x.dtype == np.float32 and r.dtype == np.float64
        np.testing.assert_array_equal(x, data.split(split))
        np.testing.assert_array_equal(((r - data.info["mean"]) / data.info["std"]).astype(np.float32), x)
    np.testing.assert_array_equal(np.concatenate(raw), timeseries.raw_series(name))
    with pytest.raises(ValueError, match="`standardize` must be True or False. Received: standardize=1"):
        module.load_data(standardize=1)
