"""The `tf.data` pipeline of the `text` protocol. The protocol itself (the bundled corpus, its
splits and vocabulary) moved to `keras_ar.datasets.text`; its other names resolve there, with a
`DeprecationWarning`."""

from keras_ar.data import _moved
from keras_ar.data.sequences import check_split
from keras_ar.datasets import text as _text

_MOVED = {
    name: ("keras_ar.datasets.text", name)
    for name in (
        "CORPUS_LENGTH",
        "CORPUS_SHA256",
        "bits_per_character",
        "decode_text",
        "encode_text",
        "load_text",
        "text_corpus",
        "text_scoring_windows",
        "text_windows",
    )
}


def __getattr__(name):
    return _moved.resolve(__name__, name, _MOVED)


def text_dataset(split, length=256, batch_size=64, stride=None, shuffle=None, seed=0, data=None):
    """Windows of one split of `text` as a batched `tf.data.Dataset` of int32 `(batch, length)`.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        length: int, the window length (characters).
        batch_size: int >= 1.
        stride: int, the step between windows; None means `length` (non-overlapping).
        shuffle: bool; None means True for `"train"`.
        seed: int, the shuffle seed.
        data: optional `SequenceData` from `keras_ar.datasets.text.load_text` (else it is loaded).

    Example:

    >>> ds = text_dataset("validation", length=128, batch_size=32)
    >>> next(iter(ds)).shape
    TensorShape([32, 128])
    """
    from keras_ar.data.pipelines import make_dataset

    check_split(split)
    data = _text.load_text() if data is None else data
    shuffle = split == "train" if shuffle is None else shuffle
    windows = _text.text_windows(data, split, length, stride)
    return make_dataset(windows, batch_size=batch_size, shuffle=shuffle, seed=seed)
