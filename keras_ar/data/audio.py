"""Audio: mu-law codes (as `librosa.mu_compress`), loading, silence trimming, log-mel frames aligned
with the samples, WAV writing, and a `tf.data` pipeline of random segments for WaveNet.

NumPy and librosa; TensorFlow is imported only by `audio_dataset` (and the mu-law functions
accept tf tensors when TensorFlow is already imported).
"""

import os
import sys

import numpy as np

from keras_ar.utils.checks import check_int
from keras_ar.utils.extras import require

_LOG_FLOOR = 1e-5  # log-mel: log(max(mel power, 1e-5))


def _is_tf_tensor(x):
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(x)


def _mu(num_levels):
    check_int(num_levels, "num_levels", 2)
    return num_levels - 1


def silence_code(num_levels=256):
    """The mu-law code of 0.0 (silence): `num_levels // 2`.

    Example:

    >>> silence_code(), int(mu_law_encode(0.0))
    (128, 128)
    """
    _mu(num_levels)
    return num_levels // 2


def mu_law_encode(x, num_levels=256):
    """Mu-law codes `0..num_levels - 1` of waveform values in [-1, 1].

    Equal to `librosa.mu_compress(x, mu=num_levels - 1, quantize=True) + num_levels // 2`
    (librosa gives `-num_levels // 2 .. num_levels // 2 - 1`), clipped to `0..num_levels - 1`;
    the same arithmetic, so the codes agree exactly (float32 input computed as librosa computes
    it). Values outside [-1, 1] are clipped first (librosa raises). A tf tensor gives a tf
    int32 tensor, computed in float64 (usable inside `tf.data` maps).

    Args:
        x: array-like or tf.Tensor of floats in [-1, 1].
        num_levels: int >= 2, the number of codes (`mu = num_levels - 1`). Defaults to 256.

    Returns:
        int32 codes of the shape of `x` (numpy, or tf for tf input).

    Example:

    >>> mu_law_encode(np.array([-1.0, -0.5, 0.0, 0.01, 0.5, 1.0]))
    array([  0,  16, 128, 157, 240, 255], dtype=int32)
    """
    mu = _mu(num_levels)
    edges = np.linspace(-1, 1, num=mu + 1, endpoint=True)  # librosa's bins
    if _is_tf_tensor(x):
        import tensorflow as tf

        x = tf.clip_by_value(tf.cast(x, tf.float64), -1.0, 1.0)
        x_comp = tf.sign(x) * tf.math.log1p(mu * tf.abs(x)) / np.log1p(mu)
        # np.digitize(right=True) == searchsorted(side="left")
        flat = tf.reshape(x_comp, (1, -1))
        codes = tf.searchsorted(tf.constant(edges[None]), flat, side="left", out_type=tf.int32)
        codes = tf.reshape(codes, tf.shape(x))
        return tf.clip_by_value(codes, 0, mu)
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    x = np.clip(x, -1, 1)
    x_comp = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    codes = np.digitize(x_comp, edges, right=True)
    return np.clip(codes, 0, mu).astype(np.int32)


def mu_law_decode(codes, num_levels=256):
    """Waveform values of mu-law codes `0..num_levels - 1`: `librosa.mu_expand(codes - num_levels // 2,
    mu=num_levels - 1, quantize=True)`.

    Args:
        codes: integer array-like or tf.Tensor, values in `0..num_levels - 1`.
        num_levels: int >= 2. Defaults to 256.

    Returns:
        float32 values in [-1, 1) of the shape of `codes` (numpy, or tf for tf input).

    Example:

    >>> mu_law_decode(np.array([0, 128, 255]))
    array([-1.        ,  0.        ,  0.95743704], dtype=float32)
    """
    mu = _mu(num_levels)
    if _is_tf_tensor(codes):
        import tensorflow as tf

        y = (tf.cast(codes, tf.float64) - num_levels // 2) * 2.0 / (1 + mu)
        x = tf.sign(y) / mu * (tf.pow(tf.constant(1.0 + mu, tf.float64), tf.abs(y)) - 1)
        return tf.cast(x, tf.float32)
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() > mu):
        raise ValueError(
            f"mu-law codes must be in 0..{mu}. Received: values in {codes.min()}..{codes.max()}"
        )
    y = (codes.astype(np.float64) - num_levels // 2) * 2.0 / (1 + mu)
    return (np.sign(y) / mu * (np.power(1 + mu, np.abs(y)) - 1)).astype(np.float32)


def load_audio(path, sample_rate=16000, expected_sample_rate=None):
    """Load an audio file as mono float32 at `sample_rate` (librosa: channels averaged, resampled).

    Any format libsndfile reads (WAV, FLAC, OGG, MP3, ...).

    Args:
        path: str or os.PathLike.
        sample_rate: int, the sample rate to resample to; None keeps the file's rate.
        expected_sample_rate: optional int, the rate the file must have (else ValueError).

    Returns:
        float32 1-D array.

    Raises:
        ValueError naming the file if it is missing, unreadable (corrupt or not audio), empty,
        or not at `expected_sample_rate`.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> write_wav(path, 0.5 * np.sin(np.arange(8000) / 5), 8000)
    >>> load_audio(path, sample_rate=16000).shape
    (16000,)
    """
    soundfile = require("soundfile", "audio", "keras_ar.data.load_audio")

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"No such audio file: {path!r}")
    try:
        info = soundfile.info(path)
    except Exception as error:  # libsndfile's errors are RuntimeError / LibsndfileError
        raise ValueError(f"Could not read the audio file {path!r} (corrupt or not audio): {error}") from None
    if info.frames == 0:
        raise ValueError(f"The audio file {path!r} is empty (no samples).")
    if expected_sample_rate is not None and info.samplerate != expected_sample_rate:
        raise ValueError(
            f"The audio file {path!r} has sample rate {info.samplerate} Hz; expected {expected_sample_rate} Hz."
        )
    try:
        x, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as error:
        raise ValueError(f"Could not read the audio file {path!r} (corrupt or truncated): {error}") from None
    if x.shape[0] == 0:
        raise ValueError(f"The audio file {path!r} is empty (no samples).")
    x = x.mean(axis=1)
    if sample_rate is not None and sample_rate != rate:
        librosa = require("librosa", "audio", "keras_ar.data.load_audio (resampling)")
        x = librosa.resample(x, orig_sr=rate, target_sr=sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def trim_silence(x, top_db=40, frame_length=1024, hop_length=256):
    """Trim leading and trailing silence (`librosa.effects.trim`): frames quieter than `top_db`
    below the loudest frame.

    Args:
        x: 1-D float waveform.
        top_db: float, the threshold in dB below the peak. Defaults to 40.
        frame_length, hop_length: int, the analysis frames.

    Returns:
        float32 1-D array, the trimmed waveform.

    Example:

    >>> x = np.concatenate([np.zeros(4000), np.sin(np.arange(4000)), np.zeros(4000)])
    >>> len(trim_silence(x))  # the tone and part of the frames at its edges
    5120
    """
    librosa = require("librosa", "audio", "keras_ar.data.trim_silence")

    x = np.asarray(x, np.float32)
    if x.ndim != 1:
        raise ValueError(f"`x` must be a 1-D waveform. Received: x.shape={x.shape}")
    trimmed, _ = librosa.effects.trim(x, top_db=top_db, frame_length=frame_length, hop_length=hop_length)
    return trimmed


def log_mel_frames(x, sample_rate, hop_length, n_mels, n_fft=None, fmin=0.0, fmax=None):
    """Log-mel frames aligned with the samples: frame f covers samples `[f * hop, (f + 1) * hop)`.

    Frame f is the mel power spectrum (librosa, Hann window of `n_fft` samples) of the
    window centred on the middle of its `hop` samples, i.e. samples
    `[f * hop - (n_fft - hop) // 2, ...)` with zeros outside the waveform, as
    `log(max(mel, 1e-5))`. There are `len(x) // hop_length` frames (a last partial block
    has none), so `x[:frames * hop]` and the frames make a WaveNet example with
    `input_shape=(frames * hop,)`, `condition_shape=(frames, n_mels)`.

    Args:
        x: 1-D float waveform.
        sample_rate: int, its sample rate.
        hop_length: int >= 1, samples per frame.
        n_mels: int >= 1, mel bands.
        n_fft: int >= hop_length, the window; None means `4 * hop_length`.
        fmin, fmax: the mel range in Hz; fmax None means `sample_rate / 2`.

    Returns:
        float32 `(len(x) // hop_length, n_mels)`.

    Example:

    >>> log_mel_frames(np.zeros(1000), 16000, hop_length=160, n_mels=20).shape
    (6, 20)
    """
    librosa = require("librosa", "audio", "keras_ar.data.log_mel_frames")

    hop_length = check_int(hop_length, "hop_length", 1)
    n_mels = check_int(n_mels, "n_mels", 1)
    n_fft = 4 * hop_length if n_fft is None else check_int(n_fft, "n_fft", hop_length)
    x = np.asarray(x, np.float32)
    if x.ndim != 1:
        raise ValueError(f"`x` must be a 1-D waveform. Received: x.shape={x.shape}")
    frames = len(x) // hop_length
    if frames == 0:
        return np.zeros((0, n_mels), np.float32)
    left = (n_fft - hop_length) // 2
    padded = np.pad(x[: frames * hop_length], (left, n_fft - hop_length - left))
    if frames * hop_length < len(x):  # the samples after the last block are real context, not zeros
        tail = x[frames * hop_length : frames * hop_length + n_fft - hop_length - left]
        padded[left + frames * hop_length : left + frames * hop_length + len(tail)] = tail
    mel = librosa.feature.melspectrogram(
        y=padded, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, center=False, n_mels=n_mels,
        fmin=fmin, fmax=fmax, power=2.0,
    )
    return np.log(np.maximum(mel, _LOG_FLOOR)).T[:frames].astype(np.float32)


def write_wav(path, x, sample_rate):
    """Write a float waveform in [-1, 1] (clipped) as a 16-bit PCM mono WAV file.

    soundfile when installed, else Python's `wave` module (the base install needs neither extra).

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> write_wav(path, np.zeros(100), 16000)
    >>> os.path.getsize(path) > 200
    True
    """
    x = np.clip(np.asarray(x, np.float64), -1.0, 1.0)
    if x.ndim != 1:
        raise ValueError(f"`x` must be a 1-D waveform. Received: x.shape={x.shape}")
    try:
        import soundfile
    except ImportError:  # the `audio` extra is not installed
        import wave

        with wave.open(os.fspath(path), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(int(sample_rate))
            f.writeframes(np.round(x * 32767).astype("<i2").tobytes())
        return
    soundfile.write(os.fspath(path), x, int(sample_rate), subtype="PCM_16")


def _as_codes(waveform, name, num_levels, sample_rate):
    """A waveform (float array, integer codes or a path) as int32 codes and float values."""
    if isinstance(waveform, (str, os.PathLike)):
        values = load_audio(waveform, sample_rate)
        return mu_law_encode(values, num_levels), values
    w = np.asarray(waveform)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D waveform. Received: shape {w.shape}")
    if np.issubdtype(w.dtype, np.integer):
        if w.min() < 0 or w.max() >= num_levels:
            raise ValueError(f"{name} holds integer codes outside 0..{num_levels - 1}.")
        return w.astype(np.int32), None
    return mu_law_encode(w, num_levels), w.astype(np.float32)


def audio_dataset(
    waveforms,
    segment_length,
    batch_size,
    receptive_field=0,
    hop_length=None,
    n_mels=None,
    labels=None,
    seed=0,
    *,
    sample_rate=16000,
    num_levels=256,
    num_classes=None,
    num_segments=None,
    n_fft=None,
):
    """A `tf.data` pipeline of random mu-law segments of waveforms, for WaveNet.

    Each element is `receptive_field + segment_length` int32 codes: a segment of
    `segment_length` samples that lies within one waveform, preceded by the
    `receptive_field` samples before it, which are the silence code (`silence_code`) before
    the start of the waveform; so even a segment's first samples are predicted from a full
    context. Segments are drawn uniformly among all the valid positions of all waveforms
    (a longer waveform is drawn more often); with `hop_length`, positions are multiples of
    `hop_length`. Waveforms shorter than `segment_length` are padded at the end with silence.

    The condition, if any:
    - `hop_length` and `n_mels`: the log-mel frames (`log_mel_frames`, computed on the
      waveform after its left padding) of the element, float32 `(frames, n_mels)` with
      `frames = (receptive_field + segment_length) / hop_length`, which must be whole: a
      WaveNet with `input_shape=(receptive_field + segment_length,)`,
      `condition_shape=(frames, n_mels)` and `local_conditioning`.
    - `labels`: the waveform's label (e.g. a speaker id), int32 scalar: a WaveNet with
      `num_classes`.
    - both: the frames with the one-hot label appended to every frame, float32
      `(frames, n_mels + num_classes)` (a global condition riding on the local one).

    Args:
        waveforms: a list of 1-D waveforms: float arrays in [-1, 1] at `sample_rate`, integer
            arrays of mu-law codes, or audio file paths (`load_audio(path, sample_rate)`).
        segment_length: int >= 1, the samples of a segment.
        batch_size: int >= 1.
        receptive_field: int >= 0, the context samples before each segment.
        hop_length, n_mels: ints, both or neither: the local log-mel condition.
        labels: optional sequence of ints, one per waveform.
        seed: int, the seed of the segment draws (each epoch draws afresh, reproducibly).
        sample_rate: int, the sample rate (files are resampled to it; the mel bands use it).
        num_levels: int, mu-law codes. Defaults to 256.
        num_classes: int, label classes for the one-hot; None means `max(labels) + 1`.
        num_segments: optional int, segments per epoch; None repeats forever (pass
            `steps_per_epoch` to `fit`).
        n_fft: optional int, the mel window (`log_mel_frames`).

    Returns:
        A `tf.data.Dataset` of `x` batches `(batch, receptive_field + segment_length)`, or of
        `(x, condition)` tuples; full batches only, prefetched.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> ds = audio_dataset([rng.uniform(-1, 1, 3000), rng.uniform(-1, 1, 5000)], segment_length=320,
    ...                    batch_size=4, receptive_field=160, hop_length=160, n_mels=8, labels=[0, 1],
    ...                    num_segments=8)
    >>> [(tuple(x.shape), tuple(c.shape)) for x, c in ds]
    [((4, 480), (4, 3, 10)), ((4, 480), (4, 3, 10))]
    """
    import tensorflow as tf

    segment_length = check_int(segment_length, "segment_length", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    receptive_field = check_int(receptive_field, "receptive_field", 0)
    if (hop_length is None) != (n_mels is None):
        raise ValueError(
            "Pass both `hop_length` and `n_mels` (a log-mel condition) or neither. "
            f"Received: hop_length={hop_length!r}, n_mels={n_mels!r}"
        )
    if num_segments is not None:
        num_segments = check_int(num_segments, "num_segments", 1)
    if isinstance(waveforms, np.ndarray) and waveforms.ndim == 1 and waveforms.dtype != object:
        waveforms = [waveforms]
    waveforms = list(waveforms)
    if not waveforms:
        raise ValueError("`waveforms` must hold at least one waveform. Received: an empty list")
    element_length = receptive_field + segment_length
    step = 1
    if hop_length is not None:
        step = check_int(hop_length, "hop_length", 1)
        check_int(n_mels, "n_mels", 1)
        if element_length % step:
            raise ValueError(
                "`receptive_field + segment_length` must be a multiple of `hop_length` (whole mel frames). "
                f"Received: receptive_field={receptive_field}, segment_length={segment_length}, hop_length={hop_length}"
            )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(waveforms),) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError(
                "`labels` must hold one non-negative integer per waveform. "
                f"Received: {len(waveforms)} waveforms, labels of shape {labels.shape} and dtype {labels.dtype}"
            )
        if num_classes is None:
            num_classes = int(labels.max()) + 1
        elif labels.max() >= num_classes:
            raise ValueError(f"`labels` must be < num_classes={num_classes}. Received: max label {labels.max()}")

    silence = silence_code(num_levels)
    codes, mels, offsets, mel_offsets, counts = [], [], [0], [0], []
    for i, waveform in enumerate(waveforms):
        name = f"waveform {waveform!r}" if isinstance(waveform, (str, os.PathLike)) else f"waveforms[{i}]"
        c, values = _as_codes(waveform, name, num_levels, sample_rate)
        short = max(0, segment_length - len(c))
        c = np.concatenate([np.full(receptive_field, silence, np.int32), c, np.full(short, silence, np.int32)])
        codes.append(c)
        offsets.append(offsets[-1] + len(c))
        counts.append((len(c) - element_length) // step + 1)
        if hop_length is not None:
            if values is None:
                values = mu_law_decode(c[receptive_field : len(c) - short], num_levels)
            padded = np.concatenate([np.zeros(receptive_field, np.float32), values, np.zeros(short, np.float32)])
            mels.append(log_mel_frames(padded, sample_rate, hop_length, n_mels, n_fft=n_fft))
            mel_offsets.append(mel_offsets[-1] + len(mels[-1]))
    all_codes = tf.constant(np.concatenate(codes))
    offsets = tf.constant(offsets[:-1], tf.int64)
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    cumulative = tf.constant(cumulative, tf.int64)
    if hop_length is not None:
        all_mels = tf.constant(np.concatenate(mels))
        mel_offsets = tf.constant(mel_offsets[:-1], tf.int64)
        frames = element_length // step
        if labels is not None:
            one_hot = tf.one_hot(labels, num_classes, dtype=tf.float32)
    if labels is not None:
        label_values = tf.constant(labels, tf.int32)

    def segment(key):
        draw = tf.math.floormod(key, total)  # uniform over all valid positions (bias < total / 2**63)
        index = tf.searchsorted(cumulative, draw[None], side="right")[0]
        position = (draw - tf.concat([[0], cumulative], 0)[index]) * step
        start = offsets[index] + position
        x = all_codes[start : start + element_length]
        x = tf.ensure_shape(x, (element_length,))
        condition = None
        if hop_length is not None:
            first = mel_offsets[index] + position // step
            condition = tf.ensure_shape(all_mels[first : first + frames], (frames, n_mels))
            if labels is not None:
                condition = tf.concat([condition, tf.repeat(one_hot[index][None], frames, axis=0)], axis=1)
        elif labels is not None:
            condition = label_values[index]
        return x if condition is None else (x, condition)

    ds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    if num_segments is not None:
        ds = ds.take(num_segments)
    ds = ds.map(segment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
