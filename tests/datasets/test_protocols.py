import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_sample_images

from keras_ar.datasets import PROTOCOLS, ProtocolData, load_protocol
from keras_ar.datasets.protocols import protocol_indices

SIZES = {"digits": (1237, 200, 360), "breast-cancer": (364, 91, 114), "patches": (6106, 678, 1696)}
SPLITS = ("train", "validation", "test")


@pytest.fixture(scope="module")
def raw_digits():
    return load_digits().images


def _sizes(name):
    if name == "breast-cancer":
        return SIZES[name]
    return SIZES["patches" if name.startswith("patches") else "digits"]


@pytest.fixture(scope="module")
def patches():
    """The patches exactly as the recipe of BENCHMARKS.md writes them."""
    imgs = load_sample_images().images
    return np.concatenate(
        [im[:424].reshape(53, 8, 80, 8, 3).swapaxes(1, 2).reshape(-1, 8, 8, 3) for im in imgs]
    )


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
    for split, size in zip(SPLITS, _sizes(name)):  # labels for every split
        labels = getattr(data, f"{split}_labels")
        assert labels.shape == (size,) and labels.dtype == np.int64
        assert 0 <= labels.min() and labels.max() == data.num_classes - 1
        condition = getattr(data, f"{split}_condition")
        if data.is_conditional:
            assert condition.shape == (size,) + data.condition_shape
        else:
            assert condition is None and data.condition_shape is None


def test_digit_labels_follow_the_indices():
    target = load_digits().target
    for name in ("digits-binary", "digits-17", "digits-dequantized", "digits-superres"):
        data, idx = load_protocol(name), protocol_indices(name)
        for split in SPLITS:
            np.testing.assert_array_equal(getattr(data, f"{split}_labels"), target[idx[split]])
    np.testing.assert_array_equal(load_protocol("digits-17").train_labels[:8], [6, 6, 6, 2, 5, 6, 6, 2])
    cancer = load_protocol("breast-cancer")
    np.testing.assert_array_equal(cancer.test_labels, load_breast_cancer().target[protocol_indices("breast-cancer")["test"]])


def test_patches_rgb_is_the_documented_split(patches):
    data = load_protocol("patches-rgb")
    assert patches.shape == (8480, 8, 8, 3)
    perm = np.random.default_rng(0).permutation(len(patches))
    train, test = patches[perm[:6784]], patches[perm[6784:]]
    np.testing.assert_array_equal(data.train, train[:-678])
    np.testing.assert_array_equal(data.validation, train[-678:])
    np.testing.assert_array_equal(data.test, test)
    assert (data.event_shape, data.num_levels, data.num_classes) == ((8, 8, 3), 256, 2)
    # first values (they pin the JPEG decoding of scikit-learn's photographs too)
    np.testing.assert_array_equal(perm[:3], [1118, 6813, 1264])
    np.testing.assert_array_equal(data.train[0, 0, :2], [[247, 248, 253], [247, 248, 253]])
    np.testing.assert_array_equal(data.validation[-1, 0, 0], [0, 96, 85])
    np.testing.assert_array_equal(data.test[0, 0, :2], [[229, 195, 149], [232, 198, 153]])
    # labels: the photograph of each patch (china.jpg 0, flower.jpg 1)
    np.testing.assert_array_equal(data.test_labels, (perm[6784:] >= 4240).astype(int))


def test_digits_superres_condition_is_the_mean_of_each_2x2_block(raw_digits):
    data, base = load_protocol("digits-superres"), load_protocol("digits-17")
    assert data.condition_shape == (4, 4, 1) and data.event_shape == (8, 8, 1) and data.num_levels == 17
    for split in SPLITS:
        x = getattr(data, split)
        np.testing.assert_array_equal(x, getattr(base, split))
        condition = getattr(data, f"{split}_condition")
        assert condition.dtype == np.float32
        expected = x[..., 0].astype(float).reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4))
        np.testing.assert_array_equal(condition[..., 0], expected)
    np.testing.assert_array_equal(data.test[0, :2, :, 0], [[0, 0, 4, 11, 15, 8, 0, 0], [0, 0, 13, 16, 11, 13, 7, 0]])
    np.testing.assert_array_equal(data.test_condition[0, 0, :, 0], [0.0, 11.0, 11.75, 1.75])


def test_patches_colorize_condition_is_the_grey_patch():
    data, base = load_protocol("patches-colorize"), load_protocol("patches-rgb")
    assert data.condition_shape == (8, 8, 1) and data.event_shape == (8, 8, 3)
    for split in SPLITS:
        x = getattr(data, split)
        np.testing.assert_array_equal(x, getattr(base, split))
        condition = getattr(data, f"{split}_condition")
        assert condition.dtype == np.uint8
        x = x.astype(float)
        expected = np.round(0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])
        np.testing.assert_array_equal(condition[..., 0], expected)
    np.testing.assert_array_equal(data.train_condition[0, 0, :4, 0], [248, 248, 249, 249])
    np.testing.assert_array_equal(data.test_condition[0, 0, :3, 0], [200, 203, 201])


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
