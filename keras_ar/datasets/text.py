'''The `text` data: John Milton's "Paradise Lost" (1667, public domain), a fixed character corpus
bundled with keras_ar, split in three contiguous parts.

The corpus (`load_corpus`) is `keras_ar/datasets/files/paradise_lost.txt`: the February 1992
Project Gutenberg etext of the poem (as in the Canterbury corpus, `plrabn12.txt`) from its title
to its end, without the Project Gutenberg introduction, with Unix line ends and no trailing spaces
(`files/README.md`). 456,867 ASCII characters, read as UTF-8 and checked against its SHA-256
(`CORPUS_SHA256`), so it is the same on every machine and Python version.

Split (fixed, by characters): the first `int(0.8 * n)` characters train, the next
`int(0.9 * n) - int(0.8 * n)` validation, the rest test (365,493 / 45,687 / 45,687).
Vocabulary: the sorted set of the train characters (75), ids `0..V-1`; characters not in it
(validation / test only: `[` and `]`) get the unknown id `V`, so `num_levels = V + 1` (76).
Metric: test NLL in bits per character.
'''

import functools
import math

import numpy as np

from keras_ar.data.sequences import SequenceData
from keras_ar.data.sequences import check_split
from keras_ar.data.sequences import scoring_windows
from keras_ar.data.sequences import windows
from keras_ar.datasets import _bundled

CORPUS_FILE = "paradise_lost.txt"
CORPUS_LENGTH = 456867
CORPUS_SHA256 = _bundled.SHA256[CORPUS_FILE]  # of its UTF-8 bytes (the file's bytes)
_TRAIN_FRACTION, _VALIDATION_END = 0.8, 0.9


def load_corpus():
    """The corpus: the bundled text of "Paradise Lost", SHA-256 checked (see the module docstring).

    Returns:
        str.

    Example:

    >>> corpus = load_corpus()
    >>> len(corpus), corpus[:13]
    (456867, 'Paradise Lost')
    """
    return _bundled.read_bytes(CORPUS_FILE).decode("utf-8")


def text_corpus():
    """The `text` corpus (`load_corpus`)."""
    return load_corpus()


@functools.lru_cache(maxsize=1)
def _encoded():
    corpus = load_corpus()
    n = len(corpus)
    train_end, validation_end = int(_TRAIN_FRACTION * n), int(_VALIDATION_END * n)
    vocabulary = "".join(sorted(set(corpus[:train_end])))
    unknown = len(vocabulary)
    lookup = np.full(max(map(ord, corpus)) + 1, unknown, np.int32)
    lookup[[ord(c) for c in vocabulary]] = np.arange(unknown, dtype=np.int32)
    ids = lookup[np.frombuffer(corpus.encode("utf-32-le"), np.uint32)]
    ids.setflags(write=False)
    return ids, vocabulary, (train_end, validation_end, n)


def get_vocabulary():
    """The vocabulary: the sorted characters of the train split; character `i` has id `i`, and
    `len(vocabulary)` is the unknown id.

    Example:

    >>> vocabulary = get_vocabulary()
    >>> len(vocabulary), vocabulary[-5:]
    (75, 'vwxyz')
    """
    return _encoded()[1]


def load_data():
    """Load the character ids of the fixed train / validation / test splits.

    Returns:
        `(train, validation, test)`: int32 1-D arrays of character ids (`get_vocabulary()`; the
        unknown id is `len(get_vocabulary())`), of 365,493 / 45,687 / 45,687 characters.

    Example:

    >>> train, validation, test = load_data()
    >>> len(train), len(validation), len(test)
    (365493, 45687, 45687)
    """
    ids, _, (train_end, validation_end, _) = _encoded()
    return ids[:train_end].copy(), ids[train_end:validation_end].copy(), ids[validation_end:].copy()


def load_text():
    """Load the `text` protocol (see the module docstring): character ids of the three splits.

    Returns:
        A `SequenceData` with int32 1-D `train` / `validation` / `test` ids, `num_levels`
        = vocabulary size + 1 (the unknown id), metric `"bits per character"`; `info` holds
        `vocabulary` (str, the characters of ids 0..V-1), `unknown_id` (V), `length` and
        `sha256` of the corpus, and `sizes` of the splits.

    Example:

    >>> data = load_text()
    >>> decode_text(data.train[:13], data)
    'Paradise Lost'
    >>> len(data.train) + len(data.validation) + len(data.test) == data.info["length"]
    True
    """
    train, validation, test = load_data()
    vocabulary = get_vocabulary()
    n = len(train) + len(validation) + len(test)
    return SequenceData(
        name="text",
        train=train,
        validation=validation,
        test=test,
        num_levels=len(vocabulary) + 1,
        metric="bits per character",
        info={
            "vocabulary": vocabulary,
            "unknown_id": len(vocabulary),
            "length": n,
            "sha256": CORPUS_SHA256,
            "sizes": (len(train), len(validation), len(test)),
        },
    )


def encode_text(text, data):
    """Character ids of `text` in the vocabulary of `data` (unknown characters -> the unknown id).

    Example:

    >>> data = load_text()
    >>> decode_text(encode_text("Eden", data), data)
    'Eden'
    """
    vocabulary, unknown = data.info["vocabulary"], data.info["unknown_id"]
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.asarray([index.get(c, unknown) for c in text], np.int32)


def decode_text(ids, data, unknown="\N{REPLACEMENT CHARACTER}"):
    """The text of character ids (the unknown id -> `unknown`)."""
    vocabulary = data.info["vocabulary"] + unknown
    return "".join(vocabulary[int(i)] for i in np.asarray(ids).ravel())


def text_windows(data, split, length=256, stride=None):
    """Windows of `length` character ids of one split (`windows`), int32 `(N, length)`.

    Example:

    >>> text_windows(load_text(), "test", 256).shape
    (178, 256)
    """
    check_split(split)
    return windows(data.split(split), length, stride)


def text_scoring_windows(data, split="test", segment_length=256, context=0):
    """`scoring_windows` over a split: every character scored once, with up to `context` earlier
    characters of the corpus (from the previous splits too) as context.

    Returns:
        `(windows, mask)`, int32 and float32 `(N, context + segment_length)`.
    """
    check_split(split)
    full = np.concatenate([data.train, data.validation, data.test])
    start = {"train": 0, "validation": len(data.train), "test": len(data.train) + len(data.validation)}[split]
    end = start + len(data.split(split))
    windows_, mask = scoring_windows(full[:end], segment_length, context, start=start, pad_value=0)
    return windows_, mask


def bits_per_character(nats, num_characters):
    """Total NLL in nats over `num_characters` characters, in bits per character.

    Example:

    >>> round(bits_per_character(2 * math.log(2) * 100, 100), 6)
    2.0
    """
    return float(nats) / (num_characters * math.log(2))
