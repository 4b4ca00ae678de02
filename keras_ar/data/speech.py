"""The `tf.data` pipeline of the `speech` protocol. The protocol itself (the sentences, voices,
their synthesis and splits) moved to `keras_ar.datasets.speech`; its other names resolve there,
with a `DeprecationWarning`."""

from keras_ar.data import _moved
from keras_ar.data import audio
from keras_ar.data.sequences import check_split
from keras_ar.datasets import speech as _speech

_MOVED = {
    name: ("keras_ar.datasets.speech", name)
    for name in (
        "ESPEAK_RATE",
        "NUM_LEVELS",
        "SAMPLE_RATE",
        "SENTENCES",
        "SPLIT_SENTENCES",
        "VOICES",
        "espeak_path",
        "espeak_version",
        "generate_speech",
        "load_speech",
        "synthesize",
    )
}


def __getattr__(name):
    return _moved.resolve(__name__, name, _MOVED)


def speech_dataset(
    split,
    segment_length,
    batch_size,
    receptive_field=0,
    hop_length=None,
    n_mels=None,
    speaker=True,
    seed=0,
    num_segments=None,
    data=None,
    data_dir=None,
):
    """Random segments of one split of `speech` as a `tf.data.Dataset` (`audio_dataset`).

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        segment_length, batch_size, receptive_field, hop_length, n_mels, seed, num_segments:
            as in `audio_dataset`.
        speaker: bool, add the speaker id (voice index, 4 classes) as the condition.
        data: optional `SequenceData` from `keras_ar.datasets.speech.load_speech` (else it is loaded).
        data_dir: str, the cache folder for `load_speech`.

    Returns:
        A `tf.data.Dataset`, as `audio_dataset`.
    """
    check_split(split)
    data = _speech.load_speech(data_dir) if data is None else data
    return audio.audio_dataset(
        data.split(split),
        segment_length,
        batch_size,
        receptive_field=receptive_field,
        hop_length=hop_length,
        n_mels=n_mels,
        labels=getattr(data, f"{split}_labels") if speaker else None,
        num_classes=data.num_classes,
        seed=seed,
        sample_rate=_speech.SAMPLE_RATE,
        num_levels=_speech.NUM_LEVELS,
        num_segments=num_segments,
    )
