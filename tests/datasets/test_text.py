import hashlib
import math

import numpy as np
import pytest

from keras_ar.datasets import _bundled
from keras_ar.datasets import text
from keras_ar.datasets.text import (
    bits_per_character,
    decode_text,
    encode_text,
    load_corpus,
    load_text,
    text_scoring_windows,
    text_windows,
)


@pytest.fixture(scope="module")
def data():
    return load_text()


def test_corpus_is_the_bundled_checksummed_text():
    corpus = load_corpus()
    assert len(corpus) == text.CORPUS_LENGTH == 456867
    assert hashlib.sha256(corpus.encode("utf-8")).hexdigest() == text.CORPUS_SHA256
    assert corpus.startswith("Paradise Lost\n\n\n\n\nBook I\n\n\nOf Man's first disobedience, and the fruit\n")
    assert corpus.endswith("Through Eden took their solitary way.\n\n[The End]\n")
    assert corpus.isascii() and "\r" not in corpus and "Gutenberg" not in corpus  # no etext header
    assert not any(line.endswith(" ") for line in corpus.split("\n"))


def test_a_damaged_corpus_file_is_refused(tmp_path, monkeypatch):
    damaged = tmp_path / text.CORPUS_FILE
    damaged.write_bytes(_bundled.read_bytes(text.CORPUS_FILE).replace(b"Eden", b"Edan", 1))
    monkeypatch.setattr(_bundled, "FILES_DIR", str(tmp_path))
    _bundled.read_bytes.cache_clear()
    try:
        with pytest.raises(OSError, match="is damaged: its SHA-256 is .* Reinstall keras-ar"):
            load_corpus()
        damaged.unlink()
        with pytest.raises(FileNotFoundError, match="lacks its package data"):
            load_corpus()
    finally:
        _bundled.read_bytes.cache_clear()


def test_split_and_vocabulary(data):
    n = data.info["length"]
    sizes = (int(0.8 * n), int(0.9 * n) - int(0.8 * n), n - int(0.9 * n))
    assert data.info["sizes"] == sizes == (len(data.train), len(data.validation), len(data.test))
    assert sizes == (365493, 45687, 45687)
    vocabulary = data.info["vocabulary"]
    assert list(vocabulary) == sorted(set(vocabulary)) and len(vocabulary) == 75
    assert data.num_levels == len(vocabulary) + 1 == data.info["unknown_id"] + 1 == 76
    assert data.train.dtype == np.int32 and data.train.max() < data.info["unknown_id"]
    corpus = load_corpus()
    assert vocabulary == "".join(sorted(set(corpus[: sizes[0]])))
    assert decode_text(data.train, data) == corpus[: sizes[0]]
    test_text = corpus[sizes[0] + sizes[1] :]
    decoded = decode_text(data.test, data, unknown="\0")
    assert decoded == "".join(c if c in vocabulary else "\0" for c in test_text)
    assert decoded.count("\0") == 2  # "[The End]": brackets occur in the test part only
    assert data.metric == "bits per character" and data.info["sha256"] == text.CORPUS_SHA256


def test_load_data_is_the_protocol_splits(data):
    train, validation, test = text.load_data()
    for split, ids in zip(("train", "validation", "test"), (train, validation, test)):
        assert ids.dtype == np.int32
        np.testing.assert_array_equal(ids, data.split(split))
    assert text.get_vocabulary() == data.info["vocabulary"]
    train[0] = 74  # a copy: the next load is unchanged
    assert text.load_data()[0][0] == data.train[0]


def test_encode_maps_unknown_characters(data):
    ids = encode_text("ab\N{SNOWMAN}", data)
    assert ids[-1] == data.info["unknown_id"]
    assert decode_text(ids, data) == "ab\N{REPLACEMENT CHARACTER}"


def test_windows_and_scoring_windows(data):
    w = text_windows(data, "validation", 100)
    assert w.shape == (len(data.validation) // 100, 100)
    np.testing.assert_array_equal(w[1], data.validation[100:200])
    windows, mask = text_scoring_windows(data, "test", segment_length=1000, context=24)
    assert windows.shape == (math.ceil(len(data.test) / 1000), 1024)
    assert mask.sum() == len(data.test)
    np.testing.assert_array_equal(windows[0, :24], data.validation[-24:])  # context from before the split
    np.testing.assert_array_equal(windows[:, 24:][mask[:, 24:] == 1], data.test)
    assert bits_per_character(math.log(2) * 300, 100) == pytest.approx(3.0)
