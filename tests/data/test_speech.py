import shutil

import numpy as np
import pytest

from keras_ar.data import mu_law_decode, speech_dataset
from keras_ar.datasets import speech
from keras_ar.datasets.speech import load_speech

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (`sudo apt-get install espeak-ng` or `make speech-deps`)",
)
SUBSET = {"sentence_ids": [0, 20, 25], "voices": ("en-us", "en-us+f3")}  # one sentence per split


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="module")
def subset(speech_dir):
    return load_speech(data_dir=speech_dir, **SUBSET)


def test_the_protocol_is_fixed():
    assert len(speech.SENTENCES) == 30 and len(set(speech.SENTENCES)) == 30
    assert speech.VOICES == ("en-us", "en-gb", "en-gb-scotland", "en-us+f3")
    ids = [i for split in ("train", "validation", "test") for i in speech.SPLIT_SENTENCES[split]]
    assert ids == list(range(30)) and len(speech.SPLIT_SENTENCES["train"]) == 20


def test_missing_espeak_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        load_speech(data_dir=tmp_path, sentence_ids=[0], voices=["en-us"])


@needs_espeak
def test_every_voice_exists_and_sounds_different():
    # espeak-ng falls back silently to the base voice for an unknown variant: compare the audio
    first = [speech.synthesize(speech.SENTENCES[0], voice) for voice in speech.VOICES]
    for i in range(len(first)):
        assert 1.0 < len(first[i]) / speech.SAMPLE_RATE < 5.0 and np.abs(first[i]).max() > 0.1
        for j in range(i):
            assert len(first[i]) != len(first[j]) or not np.allclose(first[i], first[j])


@needs_espeak
def test_splits_labels_and_codes(subset):
    assert subset.name == "speech" and subset.num_levels == 256 and subset.num_classes == 4
    assert subset.info["sample_rate"] == 16000 and subset.metric == "bits per sample"
    assert subset.info["sentence_ids"] == {"train": (0,), "validation": (20,), "test": (25,)}
    for split in ("train", "validation", "test"):
        utterances = subset.split(split)
        assert len(utterances) == 2
        np.testing.assert_array_equal(getattr(subset, f"{split}_labels"), [0, 3])  # indices into VOICES
        for codes in utterances:
            assert codes.dtype == np.uint8 and codes.ndim == 1
            assert 0.5 < len(codes) / 16000 < 5.0
            assert np.abs(mu_law_decode(codes)).max() > 0.1  # speech, not silence
        assert len(utterances[0]) != len(utterances[1]) or (utterances[0] != utterances[1]).any()
    assert subset.info["recipe"]["espeak_version"].startswith("eSpeak NG")


@needs_espeak
def test_generated_once_then_read_from_the_cache(subset, speech_dir, monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise AssertionError("synthesized again instead of reading the cache")

    monkeypatch.setattr(speech, "synthesize", fail)
    again = load_speech(data_dir=speech_dir, **SUBSET)
    for a, b in zip(subset.train + subset.test, again.train + again.test):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    # deterministic: generated afresh elsewhere, the same codes
    fresh = load_speech(data_dir=tmp_path, sentence_ids=[25], voices=["en-us"])
    np.testing.assert_array_equal(fresh.test[0], subset.test[0])


@needs_espeak
@pytest.mark.tf_only
def test_speech_dataset_with_speaker_condition(subset):
    ds = speech_dataset("train", segment_length=256, batch_size=4, receptive_field=64, data=subset, num_segments=8)
    batches = list(ds)
    assert len(batches) == 2
    x, speaker = batches[0]
    assert tuple(x.shape) == (4, 320) and tuple(speaker.shape) == (4,)
    assert set(np.concatenate([b[1] for b in batches]).tolist()) <= {0, 3}
    x, mel = next(iter(speech_dataset("test", 320, 2, hop_length=160, n_mels=10, speaker=False, data=subset,
                                      num_segments=2)))
    assert tuple(mel.shape) == (2, 2, 10)
