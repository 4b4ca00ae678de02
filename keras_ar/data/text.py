"""The `text` protocol: a character corpus that ships with Python, split in three contiguous parts.

The corpus (`text_corpus`) is CPython's `LICENSE.txt` followed by the docstrings of a fixed
list of standard-library source files (`CORPUS_FILES`), read from
`sysconfig.get_path("stdlib")`. A source file contributes its docstrings in source order:
the module's, then depth first those of its classes and functions (and theirs) in the order
they appear in the file, each as `ast.get_docstring(node, clean=True)` (indentation removed
as `inspect.cleandoc` does). Docstrings are joined with a blank line (`"\\n\\n"`), as are the
files (LICENSE first). Files are read as UTF-8 with universal newlines. With CPython 3.11.7
the corpus has 397,995 characters, all ASCII (sha256 in `CORPUS_SHA256`); another 3.11 patch release may
differ slightly (check `text_corpus()`'s hash); other minor versions differ.

Split: the first `int(0.8 * n)` characters train, the next `int(0.9 * n) - int(0.8 * n)`
validation, the rest test. Vocabulary: the sorted set of the train characters, ids
`0..V-1`; characters not in it (validation / test only) get the unknown id `V`, so
`num_levels = V + 1`. Metric: test NLL in bits per character.
"""

import ast
import functools
import hashlib
import math
import os
import sysconfig

import numpy as np

from keras_ar.data.sequences import SequenceData
from keras_ar.data.sequences import check_split
from keras_ar.data.sequences import scoring_windows
from keras_ar.data.sequences import windows

CORPUS_FILES = (
    "LICENSE.txt",
    "abc.py",
    "argparse.py",
    "base64.py",
    "bisect.py",
    "calendar.py",
    "collections/__init__.py",
    "contextlib.py",
    "copy.py",
    "csv.py",
    "dataclasses.py",
    "difflib.py",
    "doctest.py",
    "fractions.py",
    "functools.py",
    "getopt.py",
    "gettext.py",
    "glob.py",
    "heapq.py",
    "inspect.py",
    "ipaddress.py",
    "json/__init__.py",
    "locale.py",
    "logging/__init__.py",
    "optparse.py",
    "pathlib.py",
    "pickle.py",
    "pprint.py",
    "queue.py",
    "random.py",
    "re/__init__.py",
    "shlex.py",
    "shutil.py",
    "statistics.py",
    "string.py",
    "subprocess.py",
    "tempfile.py",
    "textwrap.py",
    "threading.py",
    "typing.py",
    "urllib/parse.py",
    "uuid.py",
    "warnings.py",
    "zipfile.py",
)
# the corpus of CPython 3.11.7 (len, sha256 of its UTF-8 bytes)
CORPUS_LENGTH = 397995
CORPUS_SHA256 = "287317cd88c3d186c6d3396b5c378a8bef4c27a294b647baad43c19b4aee5cca"
_TRAIN_FRACTION, _VALIDATION_END = 0.8, 0.9


def _docstrings(node):
    doc = ast.get_docstring(node, clean=True)
    if doc:
        yield doc
    for child in node.body:
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from _docstrings(child)


def text_corpus(stdlib=None):
    """The `text` corpus: CPython's LICENSE and standard-library docstrings (see the module docstring).

    Args:
        stdlib: str, the standard-library folder; None means `sysconfig.get_path("stdlib")`.

    Returns:
        str.

    Example:

    >>> corpus = text_corpus()
    >>> corpus[:26]
    'A. HISTORY OF THE SOFTWARE'
    """
    return _corpus(sysconfig.get_path("stdlib") if stdlib is None else os.fspath(stdlib))


@functools.lru_cache(maxsize=4)
def _corpus(stdlib):
    parts = []
    for name in CORPUS_FILES:
        path = os.path.join(stdlib, *name.split("/"))
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"The `text` corpus needs {name!r} of the Python standard library, not found at {path!r} "
                "(some distributions, e.g. Debian's python3, ship LICENSE.txt elsewhere or not at all)."
            )
        with open(path, encoding="utf-8") as f:
            source = f.read()
        parts.append(source if not name.endswith(".py") else "\n\n".join(_docstrings(ast.parse(source))))
    return "\n\n".join(parts)


def load_text(stdlib=None):
    """Load the `text` protocol (see the module docstring): character ids of the three splits.

    Args:
        stdlib: str, the standard-library folder; None means `sysconfig.get_path("stdlib")`.

    Returns:
        A `SequenceData` with int32 1-D `train` / `validation` / `test` ids, `num_levels`
        = vocabulary size + 1 (the unknown id), metric `"bits per character"`; `info` holds
        `vocabulary` (str, the characters of ids 0..V-1), `unknown_id` (V), `length` and
        `sha256` of the corpus, and `sizes` of the splits.

    Example:

    >>> data = load_text()
    >>> decode_text(data.train[:26], data)
    'A. HISTORY OF THE SOFTWARE'
    >>> len(data.train) + len(data.validation) + len(data.test) == data.info["length"]
    True
    """
    corpus = text_corpus(stdlib)
    n = len(corpus)
    train_end, validation_end = int(_TRAIN_FRACTION * n), int(_VALIDATION_END * n)
    vocabulary = "".join(sorted(set(corpus[:train_end])))
    unknown = len(vocabulary)
    lookup = np.full(max(map(ord, corpus)) + 1, unknown, np.int32)
    lookup[[ord(c) for c in vocabulary]] = np.arange(unknown, dtype=np.int32)
    ids = lookup[np.frombuffer(corpus.encode("utf-32-le"), np.uint32)]
    return SequenceData(
        name="text",
        train=ids[:train_end],
        validation=ids[train_end:validation_end],
        test=ids[validation_end:],
        num_levels=unknown + 1,
        metric="bits per character",
        info={
            "vocabulary": vocabulary,
            "unknown_id": unknown,
            "length": n,
            "sha256": hashlib.sha256(corpus.encode("utf-8")).hexdigest(),
            "sizes": (train_end, validation_end - train_end, n - validation_end),
        },
    )


def encode_text(text, data):
    """Character ids of `text` in the vocabulary of `data` (unknown characters -> the unknown id).

    Example:

    >>> data = load_text()
    >>> decode_text(encode_text("Python", data), data)
    'Python'
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
    (155, 256)
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


def text_dataset(split, length=256, batch_size=64, stride=None, shuffle=None, seed=0, data=None):
    """Windows of one split of `text` as a batched `tf.data.Dataset` of int32 `(batch, length)`.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        length: int, the window length (characters).
        batch_size: int >= 1.
        stride: int, the step between windows; None means `length` (non-overlapping).
        shuffle: bool; None means True for `"train"`.
        seed: int, the shuffle seed.
        data: optional `SequenceData` from `load_text` (else it is loaded).

    Example:

    >>> ds = text_dataset("validation", length=128, batch_size=32)
    >>> next(iter(ds)).shape
    TensorShape([32, 128])
    """
    from keras_ar.data.pipelines import make_dataset

    check_split(split)
    data = load_text() if data is None else data
    shuffle = split == "train" if shuffle is None else shuffle
    return make_dataset(text_windows(data, split, length, stride), batch_size=batch_size, shuffle=shuffle, seed=seed)
