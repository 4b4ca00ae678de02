"""ExampleGen's WAV-folder and text sources, on tiny generated inputs; their bad inputs."""

import glob
import os
import wave

import numpy as np
import pytest

from pipelines import PipelineError
from pipelines import examples
from pipelines import run_pipeline

pytestmark = pytest.mark.tf_only


def _config(tmp_path, example_gen):
    return {"pipeline_name": "t", "run_dir": str(tmp_path / "run"), "push_dir": str(tmp_path / "push"),
            "components": {"ExampleGen": example_gen}}


def _read(tmp_path):
    uri = glob.glob(str(tmp_path / "run" / "ExampleGen" / "*" / "examples"))[0]
    out = {}
    for split in examples.SPLITS:
        for f in examples.split_files(uri, split):
            for record in examples.read_file(f):
                example_id, x, label = examples.decode(record)
                out[example_id] = (split, x, label)
    return out


def _write_wav(path, samples):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.asarray(samples, "<i2").tobytes())


def test_wav_folder(tmp_path):
    rng = np.random.default_rng(0)
    recordings = {}
    for cls in ("cat", "dog"):
        for i in range(6):
            name = f"{cls}/{i}.wav"
            recordings[name] = rng.integers(-30000, 30000, size=40 + 4 * i)
            _write_wav(tmp_path / "wavs" / name, recordings[name])
    run_pipeline(_config(tmp_path, {"source": "wav", "path": str(tmp_path / "wavs"), "window": 16, "stride": 8,
                                    "eval_percent": 30}), log=lambda *_: None)
    got = _read(tmp_path)
    expected_count = sum(len(range(0, len(s) - 16 + 1, 8)) for s in recordings.values())
    assert len(got) == expected_count
    splits_per_file = {}
    for example_id, (split, x, label) in got.items():
        name, start = example_id.rsplit("/", 1)
        start = int(start)
        assert x.shape == (16, 1)
        np.testing.assert_allclose(x[:, 0], recordings[name][start:start + 16] / 32768.0, rtol=0, atol=1e-7)
        assert label == ("cat", "dog").index(name.split("/")[0])
        splits_per_file.setdefault(name, set()).add(split)
    assert all(len(s) == 1 for s in splits_per_file.values())  # a recording never spans both splits
    assert {s for v in splits_per_file.values() for s in v} == {"train", "eval"}


def test_text_file(tmp_path):
    text = ("the quick brown fox jumps over the lazy dog. " * 8).encode()
    (tmp_path / "corpus.txt").write_bytes(text)
    run_pipeline(_config(tmp_path, {"source": "text", "path": str(tmp_path / "corpus.txt"), "window": 32,
                                    "stride": 16, "eval_percent": 25}), log=lambda *_: None)
    got = _read(tmp_path)
    cut = int(len(text) * 0.75)
    for example_id, (split, x, label) in got.items():
        start = int(example_id.rsplit("/", 1)[1])
        assert x.shape == (32, 1) and label == -1
        assert bytes(x[:, 0].astype("uint8")) == text[start:start + 32]
        # in position: train windows end before the cut, eval windows start after it
        assert (start + 32 <= cut) if split == "train" else (start >= cut)
    assert {s for s, _, _ in got.values()} == {"train", "eval"}


def _error(tmp_path, example_gen):
    with pytest.raises(PipelineError) as info:
        run_pipeline(_config(tmp_path, example_gen), log=lambda *_: None)
    message = str(info.value)
    assert "\n" not in message
    home = tmp_path / "run" / "ExampleGen"
    assert not home.exists() or os.listdir(home) == []  # nothing half written
    return message


def test_wav_bad_inputs(tmp_path):
    message = _error(tmp_path, {"source": "wav", "path": str(tmp_path / "nowhere")})
    assert "does not exist" in message and "ExampleGen.path" in message
    (tmp_path / "empty").mkdir()
    assert "no .wav file" in _error(tmp_path, {"source": "wav", "path": str(tmp_path / "empty")})
    _write_wav(tmp_path / "short" / "a.wav", np.zeros(10))
    message = _error(tmp_path, {"source": "wav", "path": str(tmp_path / "short"), "window": 64})
    assert "lower ExampleGen.window" in message
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "b.wav").write_bytes(b"not a wav file at all")
    message = _error(tmp_path, {"source": "wav", "path": str(tmp_path / "broken")})
    assert "b.wav" in message and "PCM" in message


def test_text_bad_inputs(tmp_path):
    assert "needs `path`" in _error(tmp_path, {"source": "text"})
    (tmp_path / "t.txt").write_bytes(b"abc" * 10)
    assert "lower ExampleGen.window" in _error(tmp_path, {"source": "text", "path": str(tmp_path / "t.txt")})
    # 40 bytes, windows of 32: one window, before the cut; the eval split is empty
    (tmp_path / "u.txt").write_bytes(b"x" * 40)
    message = _error(tmp_path, {"source": "text", "path": str(tmp_path / "u.txt"), "window": 32, "eval_percent": 10})
    assert "eval split is empty" in message and "eval_percent" in message
    assert "`window` must be an int >= 1" in _error(tmp_path, {"source": "text", "path": str(tmp_path / "u.txt"), "window": 0})
