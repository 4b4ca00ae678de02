import hashlib
import math
import sys

import numpy as np
import pytest

from keras_ar.data import (
    bits_per_character,
    decode_text,
    encode_text,
    load_text,
    text_corpus,
    text_dataset,
    text_scoring_windows,
    text_windows,
)
from keras_ar.data import text


@pytest.fixture(scope="module")
def data():
    return load_text()


def test_corpus_is_the_documented_one():
    corpus = text_corpus()
    assert corpus.startswith("A. HISTORY OF THE SOFTWARE\n")
    if sys.version_info[:3] == (3, 11, 7):
        assert len(corpus) == text.CORPUS_LENGTH
        assert hashlib.sha256(corpus.encode("utf-8")).hexdigest() == text.CORPUS_SHA256
    # the docstrings of the modules come in CORPUS_FILES order
    assert corpus.index("Command-line parsing library") < corpus.index("Heap queue algorithm")


def test_missing_stdlib_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="LICENSE.txt"):
        text_corpus(stdlib=tmp_path)


def test_split_and_vocabulary(data):
    n = data.info["length"]
    sizes = (int(0.8 * n), int(0.9 * n) - int(0.8 * n), n - int(0.9 * n))
    assert data.info["sizes"] == sizes == (len(data.train), len(data.validation), len(data.test))
    vocabulary = data.info["vocabulary"]
    assert list(vocabulary) == sorted(set(vocabulary))
    assert data.num_levels == len(vocabulary) + 1 == data.info["unknown_id"] + 1
    assert data.train.dtype == np.int32 and data.train.max() < data.info["unknown_id"]
    corpus = text_corpus()
    assert decode_text(data.train, data) == corpus[: sizes[0]]
    test_text = corpus[sizes[0] + sizes[1] :]
    decoded = decode_text(data.test, data, unknown="\0")
    assert all(d == c or (d == "\0" and c not in vocabulary) for d, c in zip(decoded, test_text))
    assert data.metric == "bits per character"


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


@pytest.mark.tf_only
def test_text_dataset(data):
    batches = list(text_dataset("test", length=256, batch_size=64, data=data))
    assert [tuple(b.shape) for b in batches] == [(64, 256), (64, 256), (27, 256)]
    np.testing.assert_array_equal(batches[0].numpy()[0], data.test[:256])  # test: not shuffled
    first = next(iter(text_dataset("train", length=64, batch_size=8, data=data, seed=1)))
    assert first.dtype.name == "int32" and not (first.numpy()[0] == data.train[:64]).all()
