import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

from keras_ar.data import PROTOCOLS, ProtocolData, load_protocol, protocol_indices

SIZES = {"digits": (1237, 200, 360), "breast-cancer": (364, 91, 114)}


@pytest.fixture(scope="module")
def raw_digits():
    return load_digits().images


def _sizes(name):
    return SIZES["breast-cancer" if name == "breast-cancer" else "digits"]


def test_permutation_is_the_documented_one():
    perm = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(perm[:3], [360, 1773, 1482])
    idx = protocol_indices("digits-binary")
    np.testing.assert_array_equal(idx["train"][:3], [360, 1773, 1482])
    np.testing.assert_array_equal(idx["test"], perm[1437:])
    np.testing.assert_array_equal(idx["validation"], perm[1237:1437])


@pytest.mark.parametrize("name", PROTOCOLS)
def test_splits_are_disjoint_and_complete(name):
    idx = protocol_indices(name)
    sizes = tuple(len(idx[k]) for k in ("train", "validation", "test"))
    assert sizes == _sizes(name)
    everything = np.concatenate([idx["train"], idx["validation"], idx["test"]])
    assert len(np.unique(everything)) == len(everything) == sum(sizes)


@pytest.mark.parametrize("name", PROTOCOLS)
def test_shapes_dtypes_levels(name):
    data = load_protocol(name)
    assert isinstance(data, ProtocolData) and data.name == name
    for split, size in zip((data.train, data.validation, data.test), _sizes(name)):
        assert split.shape == (size,) + data.event_shape
    if data.num_levels is None:
        assert data.train.dtype == np.float32
    else:
        assert data.train.dtype == np.uint8
        values = np.concatenate([data.train.ravel(), data.validation.ravel(), data.test.ravel()])
        assert values.min() == 0 and values.max() == data.num_levels - 1


def test_digit_values_follow_the_indices(raw_digits):
    idx = protocol_indices("digits-17")
    binary, levels = load_protocol("digits-binary"), load_protocol("digits-17")
    for split in ("train", "validation", "test"):
        expected = raw_digits[idx[split]][..., None]
        np.testing.assert_array_equal(getattr(levels, split), expected)
        np.testing.assert_array_equal(getattr(binary, split), expected >= 8)


def test_dequantized_matches_the_recipe(raw_digits):
    data = load_protocol("digits-dequantized")
    assert data.event_shape == (64,) and data.num_levels is None
    perm = np.random.default_rng(0).permutation(1797)
    rng = np.random.default_rng(1)
    u_train, u_test = rng.random((1437, 64)), rng.random((360, 64))
    expected = ((raw_digits[perm[:1437]].reshape(-1, 64) + u_train) / 17).astype(np.float32)
    np.testing.assert_array_equal(np.concatenate([data.train, data.validation]), expected)
    expected = ((raw_digits[perm[1437:]].reshape(-1, 64) + u_test) / 17).astype(np.float32)
    np.testing.assert_array_equal(data.test, expected)
    # Each value stays inside its bin [x / 17, (x + 1) / 17).
    np.testing.assert_array_equal(
        np.floor(data.test.astype(np.float64) * 17), raw_digits[perm[1437:]].reshape(-1, 64)
    )


def test_breast_cancer_uses_train_statistics():
    data = load_protocol("breast-cancer")
    fit = np.concatenate([data.train, data.validation]).astype(np.float64)
    np.testing.assert_allclose(fit.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(fit.std(axis=0), 1.0, atol=1e-5)
    assert np.abs(data.test.mean(axis=0)).max() > 1e-3  # not re-standardised on test
    raw = load_breast_cancer().data
    idx = protocol_indices("breast-cancer")
    train_rows = raw[np.concatenate([idx["train"], idx["validation"]])]
    expected = (raw[idx["test"]] - train_rows.mean(0)) / train_rows.std(0)
    np.testing.assert_allclose(data.test, expected, rtol=1e-5, atol=1e-5)


def test_unknown_protocol():
    with pytest.raises(ValueError, match="digits-binary.*Received: name='mnist'"):
        load_protocol("mnist")
    with pytest.raises(ValueError, match="name="):
        protocol_indices("nope")


def test_frozen():
    data = load_protocol("digits-binary")
    with pytest.raises(AttributeError):
        data.name = "x"


def test_reference_baselines_on_this_split():
    # BENCHMARKS.md: independent Bernoulli (Laplace) 25.25 nats, independent categorical
    # (add-one) 107.86 nats, both fit on all 1437 train+validation images.
    data = load_protocol("digits-binary")
    fit = np.concatenate([data.train, data.validation]).reshape(-1, 64)
    test = data.test.reshape(-1, 64)
    p = (fit.sum(0) + 1.0) / (len(fit) + 2.0)
    nll = -np.mean(np.sum(test * np.log(p) + (1 - test) * np.log1p(-p), axis=1))
    assert abs(nll - 25.25) < 0.01

    data = load_protocol("digits-17")
    fit = np.concatenate([data.train, data.validation]).reshape(-1, 64).astype(int)
    test = data.test.reshape(-1, 64).astype(int)
    counts = np.stack([(fit == k).sum(0) for k in range(17)], axis=1) + 1.0
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    nll = -np.mean(log_p[np.arange(64), test].sum(axis=1))
    assert abs(nll - 107.86) < 0.01
