"""The `speech` data: fixed English sentences spoken by espeak-ng in four voices, 16 kHz mu-law.

30 sentences (`SENTENCES`) x 4 voices (`VOICES`) = 120 utterances. Each is synthesised with
`espeak-ng -v VOICE -s 175 -w FILE SENTENCE` (22,050 Hz, 16-bit mono), read as float
`int16 / 32768`, resampled to 16,000 Hz with `librosa.resample` (soxr_hq) and mu-law encoded
with 256 levels (`mu_law_encode`, i.e. `librosa.mu_compress(x, mu=255, quantize=True) + 128`),
without trimming. The speaker id (global condition) is the voice's index in `VOICES`. The
split is by sentence: sentences 0-19 train, 20-24 validation, 25-29 test, every voice of a
sentence in the same split. The metric is the test NLL in bits per sample.

The utterances are generated once (a few seconds) into `~/.cache/keras_ar/speech` (or
`data_dir`) and read from there afterwards. espeak-ng must be installed
(`apt-get install espeak-ng`, or `make speech-deps`), and the `audio` extra
(`pip install 'keras-ar[audio]'`); this was made with espeak-ng 1.51 (Debian 12), whose output is
deterministic; another version may differ slightly.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from keras_ar.data import audio
from keras_ar.data.sequences import SequenceData
from keras_ar.utils.extras import require

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A small red boat drifted slowly along the quiet river.",
    "She opened the window to let the cool air in.",
    "Please bring three apples and a loaf of bread.",
    "The old clock in the hall struck midnight.",
    "We walked home together after the long meeting.",
    "Heavy rain fell all night on the tin roof.",
    "He found the missing key under the kitchen table.",
    "Bright stars filled the sky above the silent hills.",
    "The children laughed as the puppy chased its tail.",
    "My sister plays the violin every Sunday morning.",
    "The train to the city leaves at half past seven.",
    "Fresh bread smells wonderful in the early morning.",
    "They painted the fence a pale shade of green.",
    "A gentle breeze moved the tall grass in the field.",
    "The library closes early on public holidays.",
    "He poured a cup of hot tea and sat down to read.",
    "The mountain road was narrow and full of sharp turns.",
    "Our neighbours planted roses along the garden wall.",
    "The teacher wrote a long list of words on the board.",
    "Snow covered the village in a thick white blanket.",
    "The market was busy with people buying fruit.",
    "A black cat slept on the warm stone steps.",
    "The pilot announced that we would land soon.",
    "Water boils at one hundred degrees Celsius.",
    "The museum shows paintings from many centuries.",
    "He tied the rope firmly around the wooden post.",
    "The baker sold every cake before noon.",
    "Leaves turn yellow and red in the autumn.",
    "The river flows quietly past the sleeping town.",
)
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-us+f3")
SPLIT_SENTENCES = {"train": tuple(range(0, 20)), "validation": tuple(range(20, 25)), "test": tuple(range(25, 30))}
SAMPLE_RATE = 16000
ESPEAK_RATE = 22050
NUM_LEVELS = 256
_WORDS_PER_MINUTE = 175
_FORMAT = 1  # bump when the generation recipe changes: the cache file name changes with it


def espeak_path():
    """The espeak-ng executable, or a `RuntimeError` saying how to install it."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "The `speech` protocol needs the espeak-ng speech synthesizer, which is not installed (no "
            "`espeak-ng` on PATH). Install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu; "
            "`make speech-deps` does this) or your system's package manager."
        )
    return path


def synthesize(sentence, voice, sample_rate=SAMPLE_RATE):
    """Speak one sentence with espeak-ng: mono float32 at `sample_rate` (resampled from 22,050 Hz).

    Args:
        sentence: str.
        voice: str, an espeak-ng voice (e.g. `"en-us"`, `"en-gb+f3"`; see `espeak-ng --voices`).
        sample_rate: int, the output rate.

    Returns:
        float32 1-D array in [-1, 1].
    """
    librosa = require("librosa", "audio", "the `speech` protocol")
    soundfile = require("soundfile", "audio", "the `speech` protocol")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "utterance.wav")
        result = subprocess.run(
            [espeak_path(), "-v", voice, "-s", str(_WORDS_PER_MINUTE), "-w", path, sentence],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not os.path.exists(path):
            raise RuntimeError(
                f"espeak-ng failed for voice {voice!r} (exit {result.returncode}): {result.stderr.strip()}"
            )
        x, rate = soundfile.read(path, dtype="int16")
    if x.ndim != 1 or len(x) == 0:
        raise RuntimeError(f"espeak-ng gave no mono audio for voice {voice!r} and sentence {sentence!r}")
    x = x.astype(np.float32) / 32768.0
    if rate != sample_rate:
        x = librosa.resample(x, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def espeak_version():
    """The `espeak-ng --version` line (recorded with the generated data)."""
    out = subprocess.run([espeak_path(), "--version"], capture_output=True, text=True).stdout
    return out.strip().splitlines()[0].split("  Data at")[0] if out.strip() else "unknown"


def _default_dir():
    return os.path.join(os.path.expanduser("~"), ".cache", "keras_ar", "speech")


def _recipe(sentence_ids, voices):
    return {
        "format": _FORMAT,
        "sentences": [SENTENCES[i] for i in sentence_ids],
        "voices": list(voices),
        "sample_rate": SAMPLE_RATE,
        "num_levels": NUM_LEVELS,
        "words_per_minute": _WORDS_PER_MINUTE,
    }


def generate_speech(data_dir=None, sentence_ids=None, voices=None):
    """Generate (once) the utterances and return the path of their `.npz` cache file.

    The file holds `codes` (all utterances' uint8 mu-law codes, concatenated), `lengths`,
    `sentence` and `voice` (indices into `SENTENCES` and `VOICES`) per utterance, and the
    recipe and espeak-ng version as JSON. Its name depends on the recipe, so a subset
    (`sentence_ids`, `voices`; e.g. for tests) has its own file. Written atomically.

    Args:
        data_dir: str, the cache folder; None means `~/.cache/keras_ar/speech`.
        sentence_ids: optional sequence of indices into `SENTENCES` (default: all 30).
        voices: optional sequence of voices of `VOICES` (default: all 4).

    Returns:
        str, the path of the cache file.
    """
    sentence_ids, voices = _check_subset(sentence_ids, voices)
    data_dir = os.fspath(data_dir) if data_dir is not None else _default_dir()
    recipe = _recipe(sentence_ids, voices)
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    path = os.path.join(data_dir, f"speech-{digest}.npz")
    if os.path.exists(path):
        return path
    espeak_path()
    os.makedirs(data_dir, exist_ok=True)
    codes, lengths, sentence_index, voice_index = [], [], [], []
    for i in sentence_ids:
        for voice in voices:
            x = synthesize(SENTENCES[i], voice)
            codes.append(audio.mu_law_encode(x, NUM_LEVELS).astype(np.uint8))
            lengths.append(len(x))
            sentence_index.append(i)
            voice_index.append(VOICES.index(voice))
    recipe["espeak_version"] = espeak_version()
    handle, tmp = tempfile.mkstemp(suffix=".npz", dir=data_dir)
    os.close(handle)
    try:
        np.savez(
            tmp,
            codes=np.concatenate(codes),
            lengths=np.asarray(lengths, np.int64),
            sentence=np.asarray(sentence_index, np.int32),
            voice=np.asarray(voice_index, np.int32),
            recipe=np.asarray(json.dumps(recipe)),
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _check_subset(sentence_ids, voices):
    sentence_ids = tuple(range(len(SENTENCES))) if sentence_ids is None else tuple(int(i) for i in sentence_ids)
    voices = VOICES if voices is None else tuple(voices)
    if not sentence_ids or any(not 0 <= i < len(SENTENCES) for i in sentence_ids):
        raise ValueError(
            f"`sentence_ids` must be indices into the {len(SENTENCES)} SENTENCES. Received: sentence_ids={sentence_ids}"
        )
    if not voices or any(v not in VOICES for v in voices):
        raise ValueError(f"`voices` must be some of {VOICES}. Received: voices={voices}")
    return tuple(sorted(set(sentence_ids))), tuple(v for v in VOICES if v in voices)


def load_speech(data_dir=None, sentence_ids=None, voices=None):
    """Load the `speech` protocol (generating it on first use; see the module docstring).

    Args:
        data_dir: str, the cache folder; None means `~/.cache/keras_ar/speech`.
        sentence_ids, voices: an optional subset (tests); the splits keep their sentences.

    Returns:
        A `SequenceData`: `train` / `validation` / `test` lists of uint8 code arrays (one per
        utterance, ordered by sentence then voice), `*_labels` the voice indices,
        `num_levels=256`, `num_classes=4`; `info` holds `sample_rate`, `voices`, the
        `sentences` and the `sentence_ids` of each split, and the generation `recipe`.
    """
    path = generate_speech(data_dir, sentence_ids, voices)
    with np.load(path) as stored:
        codes, lengths = stored["codes"], stored["lengths"]
        sentence, voice = stored["sentence"], stored["voice"]
        recipe = json.loads(str(stored["recipe"]))
    utterances = np.split(codes, np.cumsum(lengths)[:-1])
    fields, split_ids = {}, {}
    for split, ids in SPLIT_SENTENCES.items():
        chosen = [k for k in range(len(utterances)) if sentence[k] in ids]
        fields[split] = [utterances[k] for k in chosen]
        fields[f"{split}_labels"] = voice[chosen].astype(np.int32)
        split_ids[split] = tuple(sorted({int(sentence[k]) for k in chosen}))
    return SequenceData(
        name="speech",
        num_levels=NUM_LEVELS,
        metric="bits per sample",
        num_classes=len(VOICES),
        info={
            "sample_rate": SAMPLE_RATE,
            "voices": VOICES,
            "sentences": SENTENCES,
            "sentence_ids": split_ids,
            "recipe": recipe,
        },
        **fields,
    )


def load_data(data_dir=None):
    """Load the utterances with their fixed train / validation / test splits (by sentence),
    generating them on first use (see the module docstring; needs espeak-ng and the `audio` extra).

    Args:
        data_dir: str, the cache folder; None means `~/.cache/keras_ar/speech`.

    Returns:
        `(x_train, y_train), (x_val, y_val), (x_test, y_test)`: `x` a list of uint8 1-D mu-law
        code arrays (256 levels, 16 kHz), one per utterance ordered by sentence then voice; `y`
        int32, the speaker (the voice's index in `VOICES`); 80 / 20 / 20 utterances.
    """
    data = load_speech(data_dir)
    return tuple((data.split(k), getattr(data, f"{k}_labels")) for k in ("train", "validation", "test"))
