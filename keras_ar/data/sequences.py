"""What the sequence protocols (`speech`, `text`, `co2`, `sunspots`) share: their splits as a
`SequenceData`, and fixed-length windows cut from a long sequence.

NumPy only; the `tf.data` helper imports TensorFlow when called.
"""

import dataclasses

import numpy as np

from keras_ar.utils.checks import check_int

_SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SequenceData:
    """The three splits of one sequence protocol.

    Args:
        name: str, the protocol name (`"speech"`, `"text"`, `"co2"` or `"sunspots"`).
        train, validation, test: the splits. One long 1-D array per split for `text` (int32
            character ids) and the time series (float32 standardised values); a list of 1-D
            uint8 mu-law code arrays, one per utterance, for `speech`.
        num_levels: int or None, the number of discrete values (values are `0..num_levels - 1`),
            None for real values.
        metric: str, what the protocol reports (`"bits per sample"`, `"bits per character"`,
            `"nats per value"`).
        train_labels, validation_labels, test_labels: int32 arrays or None, a label per
            utterance (`speech`: the speaker, i.e. the voice index).
        num_classes: int or None, the number of label classes.
        info: dict, protocol details (the vocabulary of `text`, the standardisation of a time
            series, the sentences and voices of `speech`, ...).

    Example:

    >>> data = SequenceData("toy", np.arange(8), np.arange(2), np.arange(2), num_levels=8)
    >>> data.split("validation")
    array([0, 1])
    """

    name: str
    train: object
    validation: object
    test: object
    num_levels: object = None
    metric: str = ""
    train_labels: object = None
    validation_labels: object = None
    test_labels: object = None
    num_classes: object = None
    info: dict = dataclasses.field(default_factory=dict)

    def split(self, split):
        """The data of `split` (`"train"`, `"validation"` or `"test"`)."""
        check_split(split)
        return getattr(self, split)


def check_split(split):
    if split not in _SPLITS:
        raise ValueError(f"`split` must be one of {_SPLITS}. Received: split={split!r}")


def windows(sequence, length, stride=None):
    """Cut fixed-length windows from a 1-D sequence, dropping a last partial window.

    Args:
        sequence: 1-D array.
        length: int >= 1, the window length.
        stride: int >= 1, the step between window starts; None means `length` (non-overlapping).

    Returns:
        An array `(num_windows, length)` of the dtype of `sequence` (a copy).

    Example:

    >>> windows(np.arange(7), 3)
    array([[0, 1, 2],
           [3, 4, 5]])
    >>> windows(np.arange(5), 3, stride=1)
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4]])
    """
    sequence = np.asarray(sequence)
    if sequence.ndim != 1:
        raise ValueError(f"`sequence` must be 1-D. Received: sequence.shape={sequence.shape}")
    length = check_int(length, "length", 1)
    stride = length if stride is None else check_int(stride, "stride", 1)
    if len(sequence) < length:
        raise ValueError(
            f"`sequence` ({len(sequence)} values) is shorter than one window. Received: length={length}"
        )
    starts = np.arange(0, len(sequence) - length + 1, stride)
    return sequence[starts[:, None] + np.arange(length)]


def window_dataset(sequence, length, batch_size=64, stride=None, shuffle=False, seed=0, drop_remainder=False):
    """A batched `tf.data.Dataset` of the windows of a 1-D sequence (`windows`).

    Args:
        sequence: 1-D array.
        length, stride: as in `windows`.
        batch_size: int >= 1.
        shuffle: bool, shuffle the windows (reshuffled every epoch).
        seed: int, the shuffle seed.
        drop_remainder: bool, drop a last smaller batch.

    Returns:
        A `tf.data.Dataset` of `(batch, length)` windows.
    """
    from keras_ar.data.pipelines import make_dataset

    return make_dataset(
        windows(sequence, length, stride), batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
    )


def scoring_windows(sequence, segment_length, context=0, start=0, pad_value=0):
    """Windows that score every value of `sequence[start:]` exactly once, each given up to
    `context` values before it: how the sequence protocols are evaluated with a model of a fixed
    window length `context + segment_length`.

    Window k holds `sequence[s - context : s + segment_length]` with
    `s = start + k * segment_length`; positions before the sequence's start or after its end
    hold `pad_value`. The mask is 1 at the values scored (the last `segment_length` positions,
    fewer in a last partial window) and 0 at the context and the padding. The metric is then
    `-sum(mask * model.conditional_log_probs(windows)) / sum(mask)` (nats per value).

    Args:
        sequence: 1-D array (a whole series; the values before `start` serve as context only).
        segment_length: int >= 1, the values scored per window.
        context: int >= 0, the values before each segment.
        start: int >= 0, the first value to score.
        pad_value: the value outside the sequence (the silence code for audio).

    Returns:
        `(windows, mask)`: `(num_windows, context + segment_length)` of the dtype of
        `sequence`, and float32 of the same shape.

    Example:

    >>> w, m = scoring_windows(np.arange(1, 8), segment_length=3, context=2, start=1)
    >>> w
    array([[0, 1, 2, 3, 4],
           [3, 4, 5, 6, 7]])
    >>> m
    array([[0., 0., 1., 1., 1.],
           [0., 0., 1., 1., 1.]], dtype=float32)
    """
    sequence = np.asarray(sequence)
    if sequence.ndim != 1:
        raise ValueError(f"`sequence` must be 1-D. Received: sequence.shape={sequence.shape}")
    segment_length = check_int(segment_length, "segment_length", 1)
    context = check_int(context, "context", 0)
    start = check_int(start, "start", 0)
    if start >= len(sequence):
        raise ValueError(f"`start` must be < len(sequence) = {len(sequence)}. Received: start={start}")
    count = -(-(len(sequence) - start) // segment_length)
    padded = np.concatenate(
        [np.full(context, pad_value, sequence.dtype), sequence, np.full(segment_length, pad_value, sequence.dtype)]
    )
    firsts = start + segment_length * np.arange(count)  # in `sequence` coordinates
    index = firsts[:, None] + np.arange(context + segment_length)  # in `padded` coordinates
    mask = np.zeros(index.shape, np.float32)
    scored = np.minimum(segment_length, len(sequence) - firsts)
    mask[np.arange(context + segment_length)[None] - context < scored[:, None]] = 1.0
    mask[:, :context] = 0.0
    return padded[index], mask
