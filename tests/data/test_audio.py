import os

import librosa
import numpy as np
import pytest

from keras_ar.data import (
    audio_dataset,
    load_audio,
    log_mel_frames,
    mu_law_decode,
    mu_law_encode,
    silence_code,
    trim_silence,
    write_wav,
)


def _librosa_codes(x, num_levels=256):
    mu = num_levels - 1
    return np.clip(librosa.mu_compress(x, mu=mu, quantize=True) + num_levels // 2, 0, mu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_levels", [256, 16])
def test_mu_law_encode_equals_librosa(dtype, num_levels):
    rng = np.random.default_rng(0)
    x = np.concatenate([[-1.0, -0.0, 0.0, 1.0, 1e-9, -1e-9], rng.uniform(-1, 1, 50_000), rng.normal(0, 0.01, 50_000)])
    x = np.clip(x, -1, 1).astype(dtype)
    codes = mu_law_encode(x, num_levels)
    assert codes.dtype == np.int32 and codes.min() == 0 and codes.max() == num_levels - 1
    np.testing.assert_array_equal(codes, _librosa_codes(x, num_levels))
    assert mu_law_encode(0.0, num_levels) == silence_code(num_levels) == num_levels // 2


def test_mu_law_decode_equals_librosa_and_inverts_encode():
    codes = np.arange(256)
    expected = librosa.mu_expand(codes - 128, mu=255, quantize=True)
    decoded = mu_law_decode(codes)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, expected.astype(np.float32))
    np.testing.assert_array_equal(mu_law_encode(decoded), codes)  # decode then encode is the identity
    # out-of-range inputs are clipped (librosa raises)
    np.testing.assert_array_equal(mu_law_encode([-3.0, 2.0]), [0, 255])
    with pytest.raises(ValueError, match="0..255"):
        mu_law_decode([256])


@pytest.mark.tf_only
def test_mu_law_tf_ops_match_numpy():
    import tensorflow as tf

    x = np.random.default_rng(1).uniform(-1, 1, 20_000)
    codes = mu_law_encode(tf.constant(x.reshape(100, 200)))
    assert codes.dtype == tf.int32 and tuple(codes.shape) == (100, 200)
    np.testing.assert_array_equal(codes.numpy().ravel(), mu_law_encode(x))
    decoded = mu_law_decode(tf.constant(np.arange(256)))
    np.testing.assert_allclose(decoded.numpy(), mu_law_decode(np.arange(256)), atol=1e-7)


def test_write_and_load_audio_resamples_to_mono(tmp_path):
    path = tmp_path / "tone.wav"
    t = np.arange(8000) / 8000
    write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    x = load_audio(path, sample_rate=16000)
    assert x.dtype == np.float32 and x.shape == (16000,)
    assert 0.45 < np.abs(x).max() < 0.55
    native = load_audio(path, sample_rate=None, expected_sample_rate=8000)
    assert native.shape == (8000,)
    np.testing.assert_allclose(native, 0.5 * np.sin(2 * np.pi * 440 * t), atol=1e-4)
    import soundfile

    stereo = tmp_path / "stereo.wav"
    soundfile.write(stereo, np.stack([np.full(100, 0.5), np.zeros(100)], axis=1), 16000)
    np.testing.assert_allclose(load_audio(stereo), 0.25, atol=1e-4)


def test_bad_audio_files_raise_clear_errors(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(ValueError, match="No such audio file.*missing.wav"):
        load_audio(missing)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    with pytest.raises(ValueError, match="corrupt.wav"):
        load_audio(corrupt)
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.wav.*corrupt or not audio"):
        load_audio(text)
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0), 16000)
    with pytest.raises(ValueError, match="empty.wav.*empty"):
        load_audio(empty)
    rate = tmp_path / "rate.wav"
    write_wav(rate, np.zeros(100), 22050)
    with pytest.raises(ValueError, match="rate.wav.*22050 Hz; expected 16000"):
        load_audio(rate, expected_sample_rate=16000)


def test_trim_silence():
    tone = 0.5 * np.sin(np.arange(4000) / 3)
    x = np.concatenate([np.zeros(8000), tone, np.zeros(8000)])
    trimmed = trim_silence(x, top_db=40)
    assert trimmed.dtype == np.float32
    assert 4000 <= len(trimmed) <= 4000 + 2 * 1024
    assert np.abs(trimmed).max() == pytest.approx(0.5, abs=1e-3)


def test_log_mel_frames_are_aligned_with_their_samples():
    sr, hop = 16000, 160
    x = np.zeros(50 * hop + 37, np.float32)  # a partial block at the end has no frame
    x[20 * hop : 21 * hop] = np.sin(np.arange(hop) * 0.7)  # a burst within frame 20 only
    frames = log_mel_frames(x, sr, hop_length=hop, n_mels=16)
    assert frames.shape == (50, 16) and frames.dtype == np.float32
    energy = frames.max(axis=1)
    assert energy.argmax() == 20
    assert energy[20] > energy[18] and energy[20] > energy[22]  # centred: symmetric spread
    np.testing.assert_allclose(energy[19], energy[21], atol=0.02)
    assert energy[0] == pytest.approx(np.log(1e-5))  # silence is the floor
    assert log_mel_frames(x[: hop - 1], sr, hop, 16).shape == (0, 16)


def _all(ds):
    batches = list(ds)
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate([b[i] for b in batches]) for i in range(len(batches[0])))
    return np.concatenate(batches)


@pytest.mark.tf_only
def test_audio_dataset_segments_with_context_padding():
    # two "waveforms" of codes whose values tell their position: every segment can be located
    w0 = np.arange(1, 101) % 256  # codes 1..100
    w1 = 150 + np.arange(1, 51)  # codes 151..200 (the silence code 128 in neither)
    ds = audio_dataset([w0.astype(np.int32), w1.astype(np.int32)], segment_length=10, batch_size=4,
                       receptive_field=5, labels=[0, 1], num_segments=400, seed=3)
    x, labels = _all(ds)
    assert x.shape == (400, 15) and x.dtype == np.int32 and labels.dtype == np.int32
    silence = silence_code()
    for row, label in zip(x, labels):
        segment, context = row[5:], row[:5]
        assert (segment != silence).all()
        assert (np.diff(segment) == 1).all()  # contiguous within one waveform
        assert label == (0 if segment[0] <= 100 else 1)
        first = segment[0] - (0 if label == 0 else 150)  # 1-based position in its waveform
        assert first <= (100 if label == 0 else 50) - 9  # the segment lies inside the waveform
        expected = np.arange(segment[0] - 5, segment[0])
        expected[expected < (1 if label == 0 else 151)] = silence  # before the start: silence
        np.testing.assert_array_equal(context, expected)
    # uniform over the 91 + 41 positions: about 91 / 132 of the segments come from w0
    assert 0.6 < (labels == 0).mean() < 0.78
    assert (x[:, 5] == 1).any()  # a segment at the very start, with silent context
    again, _ = _all(audio_dataset([w0, w1], 10, 4, receptive_field=5, labels=[0, 1], num_segments=400, seed=3))
    np.testing.assert_array_equal(again, x)  # reproducible
    ds = audio_dataset([w0, w1], 10, 4, receptive_field=5, num_segments=8, seed=3)
    first, second = _all(ds), _all(ds)
    assert first.shape == (8, 15) and (first != second).any()  # a new draw each epoch


@pytest.mark.tf_only
def test_audio_dataset_mel_condition_is_aligned():
    rng = np.random.default_rng(0)
    sr, hop, rf = 16000, 80, 160
    waveforms = [0.3 * rng.standard_normal(2000).clip(-3, 3) / 3, 0.3 * rng.standard_normal(1200).clip(-3, 3) / 3]
    ds = audio_dataset(waveforms, segment_length=320, batch_size=2, receptive_field=rf, hop_length=hop,
                       n_mels=8, sample_rate=sr, num_segments=20)
    x, mel = _all(ds)
    assert x.shape == (20, 480) and mel.shape == (20, 6, 8) and mel.dtype == np.float32
    # recompute the frames of each element from the padded waveform it came from
    for row, frames in zip(x, mel):
        for w in waveforms:
            codes = np.concatenate([np.full(rf, 128), mu_law_encode(w)])
            starts = [s for s in range(0, len(codes) - 480 + 1, hop) if (codes[s : s + 480] == row).all()]
            if starts:
                values = np.concatenate([np.zeros(rf), w])
                expected = log_mel_frames(values, sr, hop, 8)[starts[0] // hop : starts[0] // hop + 6]
                np.testing.assert_allclose(frames, expected, atol=1e-4)
                break
        else:
            raise AssertionError("a segment not found in any waveform at a frame boundary")
    # mel + labels: the one-hot speaker rides on every frame
    x, c = next(iter(audio_dataset(waveforms, 320, 2, receptive_field=rf, hop_length=hop, n_mels=8,
                                   labels=[1, 0], num_classes=3, num_segments=2)))
    assert tuple(c.shape) == (2, 6, 11)
    np.testing.assert_array_equal(c.numpy()[:, :, 8:].sum(axis=-1), 1.0)


@pytest.mark.tf_only
def test_audio_dataset_from_files_and_errors(tmp_path):
    paths = []
    for i, n in enumerate([800, 300]):  # the second is shorter than a segment: padded with silence
        paths.append(str(tmp_path / f"{i}.wav"))
        write_wav(paths[-1], 0.5 * np.sin(np.arange(n) / (i + 2)), 16000)
    x = _all(audio_dataset(paths, segment_length=400, batch_size=3, num_segments=6))
    assert x.shape == (6, 400)
    with pytest.raises(ValueError, match="missing.wav"):
        audio_dataset([paths[0], str(tmp_path / "missing.wav")], 400, 3)
    with pytest.raises(ValueError, match="multiple of `hop_length`"):
        audio_dataset(paths, 100, 3, receptive_field=7, hop_length=10, n_mels=4)
    with pytest.raises(ValueError, match="both `hop_length` and `n_mels`"):
        audio_dataset(paths, 100, 3, hop_length=10)
    with pytest.raises(ValueError, match="one non-negative integer per waveform"):
        audio_dataset(paths, 100, 3, labels=[0])
    with pytest.raises(ValueError, match=r"waveforms\[1\] must be a non-empty"):
        audio_dataset([np.zeros(10), np.zeros(0)], 100, 3)
    assert os.path.exists(paths[0])
