import numpy as np
import pytest
import tensorflow as tf

from keras_ar.data import (
    digits_dataset,
    image_dataset,
    load_image_folder,
    load_protocol,
    make_dataset,
    protocol_dataset,
    tfds_source,
)


def _epochs(ds, n=2):
    """`n` passes over `ds`, each concatenated (per component for tuple elements)."""
    passes = [list(ds) for _ in range(n)]
    if isinstance(passes[0][0], tuple):
        return [tuple(np.concatenate(part) for part in zip(*batches)) for batches in passes]
    return [np.concatenate(batches) for batches in passes]


def test_make_dataset_with_condition():
    x, c = np.zeros((10, 8, 8, 1), np.uint8), np.arange(10)
    batches = list(make_dataset(x, c, batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    assert [tuple(b[1].shape) for b in batches] == [(4,), (4,), (2,)]
    assert len(list(make_dataset(x, batch_size=4, drop_remainder=True))) == 2
    assert len(list(make_dataset(x, batch_size=4, repeat=True).take(7))) == 7


def test_make_dataset_shuffles_each_epoch_reproducibly():
    x = np.arange(100)
    first, second = _epochs(make_dataset(x, batch_size=32, shuffle=True, seed=1))
    again, _ = _epochs(make_dataset(x, batch_size=32, shuffle=True, seed=1))
    assert (first != second).any() and sorted(first) == list(x)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(_epochs(make_dataset(x, batch_size=32), 1)[0], x)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=np.zeros((0, 3))), "x.shape"),
        (dict(x=np.zeros((4, 3)), condition=np.zeros(5)), "condition.shape"),
        (dict(x=np.zeros((4, 3)), batch_size=0), "batch_size=0"),
    ],
)
def test_make_dataset_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dataset(**kwargs)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (12, 6, 5), dtype=np.uint8)


def test_image_dataset_fixed_and_levels(images):
    fixed = _epochs(image_dataset(images, binarize="fixed", shuffle=False), 1)[0]
    assert fixed.shape == (12, 6, 5, 1) and fixed.dtype == np.uint8
    np.testing.assert_array_equal(fixed[..., 0], images >= 128)
    levels = _epochs(image_dataset(images, num_levels=4, shuffle=False), 1)[0]
    np.testing.assert_array_equal(levels[..., 0], images // 64)
    raw = _epochs(image_dataset(images, split="test"), 1)[0]  # not shuffled by default
    np.testing.assert_array_equal(raw[..., 0], images)
    floats = _epochs(image_dataset(images[..., None] / 255.0, split="test"), 1)[0]
    assert floats.dtype == np.float32 and floats.shape == (12, 6, 5, 1)
    binary = _epochs(image_dataset(images / 255.0, binarize="fixed", split="test"), 1)[0]
    np.testing.assert_array_equal(binary, fixed)
    boolean = _epochs(image_dataset(images >= 128, binarize="fixed", split="test"), 1)[0]
    np.testing.assert_array_equal(boolean, fixed)


def test_image_dataset_dynamic_binarization(images):
    probs = np.full((64, 8, 8), 0.5)
    first, second = _epochs(image_dataset(probs, binarize="dynamic", batch_size=16, seed=3))
    again, again_second = _epochs(image_dataset(probs, binarize="dynamic", batch_size=16, seed=3))
    other, _ = _epochs(image_dataset(probs, binarize="dynamic", batch_size=16, seed=4))
    assert set(np.unique(first)) == {0, 1}
    assert (first != second).any() and (first != other).any()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(second, again_second)
    # The draw depends on (seed, element index, epoch), not on the shuffled position.
    def by_label(shuffle):
        labels = np.arange(64)
        ds = image_dataset(
            probs, labels=labels, with_labels=True, binarize="dynamic", shuffle=shuffle, seed=3
        )
        return [x[np.argsort(y)] for x, y in _epochs(ds)]

    for shuffled, ordered in zip(by_label(True), by_label(False)):
        np.testing.assert_array_equal(shuffled, ordered)
    plain = image_dataset(probs, binarize="dynamic", shuffle=False, seed=3)
    np.testing.assert_array_equal(by_label(False)[0], _epochs(plain, 1)[0])


def test_image_dataset_labels(images):
    labels = np.arange(12)
    ds = image_dataset(images, labels=labels, with_labels=True, num_levels=2, batch_size=5)
    (x, y), = _epochs(ds, 1)
    assert x.shape == (12, 6, 5, 1) and sorted(y) == list(labels)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(binarize="random"), "binarize='random'"),
        (dict(binarize="fixed", num_levels=4), "num_levels=4"),
        (dict(num_levels=1), "num_levels=1"),
        (dict(batch_size=-1), "batch_size=-1"),
        (dict(with_labels=True), "labels=None"),
        (dict(with_labels=True, labels=np.arange(3)), "labels.shape"),
    ],
)
def test_image_dataset_errors(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_dataset(images, **kwargs)


def test_image_dataset_bad_source():
    with pytest.raises(ValueError, match="source.shape"):
        image_dataset(np.zeros((4, 4)))


def test_image_dataset_tfds_name_offline(monkeypatch):
    import tensorflow_datasets as tfds

    images = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3, 1) * 7
    calls = []

    def fake_load(name, split, data_dir):
        calls.append((name, split, data_dir))
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(4)})

    monkeypatch.setattr(tfds, "load", fake_load)
    monkeypatch.setattr(tfds_source, "network_reachable", lambda: True)  # as if online
    ds = image_dataset("mnist", "test", binarize="fixed", with_labels=True, data_dir="/d")
    (x, y), = list(ds)
    assert calls == [("mnist", "test", "/d")]
    assert x.shape == (4, 3, 3, 1) and x.dtype == tf.uint8
    np.testing.assert_array_equal(x, images >= 128)
    np.testing.assert_array_equal(y, np.arange(4))
    x = next(iter(image_dataset("mnist", "train", num_levels=2, batch_size=4)))
    assert x.shape == (4, 3, 3, 1) and sorted(np.ravel(x)) == sorted(np.ravel(images // 128))


def test_digits_dataset():
    data = load_protocol("digits-17")
    test = _epochs(digits_dataset("digits-17", "test", batch_size=100), 1)[0]
    np.testing.assert_array_equal(test, data.test)
    train = _epochs(digits_dataset(data, "train", batch_size=1237), 1)[0]
    assert train.shape == (1237, 8, 8, 1) and (train != data.train).any()  # shuffled
    assert next(iter(digits_dataset("breast-cancer", "validation", batch_size=8))).shape == (8, 30)
    with pytest.raises(ValueError, match="split='valid'"):
        digits_dataset("digits-17", "valid")


def test_digits_dataset_labels_and_conditions():
    data = load_protocol("digits-17")
    x, y = _epochs(digits_dataset(data, "test", batch_size=100, labels=True), 1)[0]
    np.testing.assert_array_equal(x, data.test)
    np.testing.assert_array_equal(y, data.test_labels)
    x, y = _epochs(digits_dataset("digits-binary", "train", batch_size=512, labels=True, seed=2), 1)[0]
    binary = load_protocol("digits-binary")
    assert (x != binary.train).any()  # shuffled, and together: every pair is a pair of the split
    pairs = {(image.tobytes(), label) for image, label in zip(binary.train, binary.train_labels)}
    assert all((image.tobytes(), label) in pairs for image, label in zip(x, y))
    sr = load_protocol("digits-superres")
    x, c = _epochs(protocol_dataset(sr, "validation", batch_size=64), 1)[0]
    np.testing.assert_array_equal(x, sr.validation)
    np.testing.assert_array_equal(c, sr.validation_condition)
    assert c.dtype == np.float32 and c.shape == (200, 4, 4, 1)
    x, c = next(iter(protocol_dataset("patches-colorize", "test", batch_size=5)))
    assert x.shape == (5, 8, 8, 3) and c.shape == (5, 8, 8, 1) and c.dtype == tf.uint8
    with pytest.raises(ValueError, match="conditional protocol"):
        digits_dataset("digits-superres", "train", labels=True)
    with pytest.raises(ValueError, match="labels='yes'"):
        digits_dataset("digits-17", "train", labels="yes")
    assert protocol_dataset is digits_dataset


def test_image_dataset_from_npy_file_and_folder(tmp_path, images):
    from PIL import Image

    np.save(tmp_path / "images.npy", images)
    raw = _epochs(image_dataset(str(tmp_path / "images.npy"), split="test"), 1)[0]
    np.testing.assert_array_equal(raw[..., 0], images)
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, image in enumerate(images[:3]):
        Image.fromarray(image).save(folder / f"{i}.png")
    np.testing.assert_array_equal(load_image_folder(str(folder))[..., 0], images[:3])
    binary = _epochs(image_dataset(folder, split="test", binarize="fixed"), 1)[0]
    np.testing.assert_array_equal(binary[..., 0], images[:3] >= 128)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(folder / "9.png")
    with pytest.raises(ValueError, match="same size"):
        load_image_folder(str(folder))
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        image_dataset(str(tmp_path / "missing.npy"))


def test_tfds_name_without_network_fails_at_once(monkeypatch, tmp_path):
    import time

    import tensorflow_datasets as tfds

    def no_load(*args, **kwargs):
        raise AssertionError("tfds.load must not be reached without a network")

    monkeypatch.setattr(tfds, "load", no_load)
    monkeypatch.setattr(tfds_source, "network_reachable", lambda: False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(ConnectionError) as info:
        image_dataset("mnist", binarize="fixed")
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert message.startswith("no network: ") and "'mnist'" in message and str(tmp_path) in message
    for alternative in ("folder", ".npy", "load_protocol('digits-17')"):
        assert alternative in message
    # downloaded data needs no network
    (tmp_path / "mnist").mkdir()
    tfds_source.check_tfds_available("mnist:3.0.1")
