"""The base install and its extras: each optional module, when missing, fails with the pip command
of the extra that installs it, and keras_ar trains and samples without any of them."""

import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_ar
from keras_ar import cli
from keras_ar import data as kd
from keras_ar.utils.extras import EXTRAS
from keras_ar.utils.extras import install_command
from keras_ar.utils.extras import require

# the modules that only extras install (importlib_resources: TFDS's undeclared dependency)
OPTIONAL = ("librosa", "soundfile", "statsmodels", "tensorflow_datasets", "sklearn", "importlib_resources")


def block(monkeypatch, *modules):
    """Make `modules` (and their submodules, imported or not) unimportable, as if not installed."""
    for top in modules:
        for name in [n for n in sys.modules if n.startswith(top + ".")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, top, None)


def pip_command(extra):
    return re.escape(f"which the base install leaves out: pip install 'keras-ar[{extra}]'")


def test_install_command_names_the_extra_and_rejects_unknown_ones():
    assert install_command("audio") == "pip install 'keras-ar[audio]'"
    with pytest.raises(ValueError, match=r"Unknown keras-ar extra 'audoi'; the extras are \['audio', "):
        install_command("audoi")
    with pytest.raises(ValueError, match="Unknown keras-ar extra"):
        require("math", "audoi", "x")  # checked even where the module is there


def test_require_returns_the_module_and_its_submodules():
    import statsmodels.tsa.ar_model

    assert require("statsmodels.tsa.ar_model", "timeseries", "x") is statsmodels.tsa.ar_model


def test_a_missing_dependency_of_the_optional_module_is_named(tmp_path, monkeypatch):
    # a package that is installed but whose own dependency is not: the extra installs both
    (tmp_path / "fake_optional").mkdir()
    (tmp_path / "fake_optional" / "__init__.py").write_text("import fake_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = (
        "keras_ar.demo_purpose needs fake_optional, which the base install leaves out "
        "(missing: fake_missing_dependency): pip install 'keras-ar[audio]'"
    )
    with pytest.raises(ImportError, match=re.escape(message)):
        require("fake_optional", "audio", "keras_ar.demo_purpose")


def test_a_broken_install_is_not_reported_as_a_missing_extra(tmp_path, monkeypatch):
    # an ImportError other than a missing module (here: a name the module lacks) propagates as is
    (tmp_path / "fake_broken.py").write_text("from os import no_such_name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="cannot import name 'no_such_name'") as info:
        require("fake_broken", "audio", "keras_ar.demo_purpose")
    assert "keras-ar[" not in str(info.value)


@pytest.mark.parametrize(
    "blocked, extra, call, purpose",
    [
        ("librosa", "audio", lambda p: kd.log_mel_frames(np.zeros(1000), 16000, hop_length=160, n_mels=20),
         "keras_ar.data.log_mel_frames needs librosa"),
        ("librosa", "audio", lambda p: kd.trim_silence(np.zeros(100)), "keras_ar.data.trim_silence needs librosa"),
        ("soundfile", "audio", lambda p: kd.load_audio(p), "keras_ar.data.load_audio needs soundfile"),
        ("statsmodels", "timeseries", lambda p: kd.autoreg_baseline("sunspots"),
         "autoreg_baseline needs statsmodels"),
        ("tensorflow_datasets", "tfds", lambda p: kd.image_dataset("mnist", data_dir=os.fspath(p)),
         "keras_ar.data.image_dataset('mnist') needs tensorflow-datasets"),
        ("sklearn", "benchmarks", lambda p: kd.load_protocol("breast-cancer"), "needs scikit-learn"),
    ],
    ids=["librosa-mel", "librosa-trim", "soundfile", "statsmodels", "tfds", "sklearn"],
)
def test_each_extra_when_missing_names_its_pip_command(monkeypatch, tmp_path, blocked, extra, call, purpose):
    block(monkeypatch, blocked)
    with pytest.raises(ImportError, match=re.escape(purpose) + ".*" + pip_command(extra)):
        call(tmp_path / "missing.wav")


def test_write_wav_needs_no_extra(monkeypatch, tmp_path):
    # without soundfile, Python's `wave` writes the same 16-bit PCM file
    import wave

    x = 0.5 * np.sin(np.arange(400) / 5)
    block(monkeypatch, "soundfile", "scipy")
    kd.write_wav(tmp_path / "a.wav", x, 8000)
    monkeypatch.undo()
    with wave.open(os.fspath(tmp_path / "a.wav")) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()) == (1, 2, 8000, 400)
        pcm = np.frombuffer(f.readframes(400), "<i2")
    np.testing.assert_array_equal(pcm, np.round(x * 32767).astype(np.int16))
    kd.write_wav(tmp_path / "b.wav", x, 8000)  # soundfile, where installed: the same up to its rounding
    written = [kd.load_audio(tmp_path / name, sample_rate=None) for name in ("a.wav", "b.wav")]
    np.testing.assert_allclose(written[0], written[1], rtol=0, atol=2 / 32768)


def test_cli_names_the_extra_in_one_line(monkeypatch, capsys, tmp_path):
    block(monkeypatch, "tensorflow_datasets")
    status = cli.main(["train", "--model", "PixelCNN", "--data", "tfds:mnist", "--output", str(tmp_path / "m.keras")])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.strip().splitlines() == [
        "keras-ar train: error: --data tfds:mnist needs tensorflow-datasets, which the base install leaves out: "
        "pip install 'keras-ar[tfds]'"
    ]


def test_every_extra_is_in_pyproject():
    import tomllib

    with open(os.path.join(os.path.dirname(keras_ar.__path__[0]), "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    base = " ".join(project["dependencies"])
    for name in ("librosa", "soundfile", "statsmodels", "tensorflow-datasets", "scikit-learn"):
        assert name not in base, f"{name} is in the base install"
    assert any("librosa" in d for d in extras["audio"]) and any("soundfile" in d for d in extras["audio"])
    assert any("statsmodels" in d for d in extras["timeseries"])
    assert any("tensorflow-datasets" in d for d in extras["tfds"])
    assert any("scikit-learn" in d for d in extras["benchmarks"])


_BASE_USER = """
import sys
for name in {optional!r}:
    sys.modules[name] = None  # as in the base install: not there
import numpy as np
import keras, keras_ar, keras_ar.data, keras_ar.models

rng = np.random.default_rng(0)
x = (rng.random((32, 4, 4, 1)) < 0.5).astype("uint8")
model = keras_ar.models.PixelCNN(input_shape=(4, 4, 1), distribution="bernoulli", filters=8, num_residual_blocks=1)
ds = keras_ar.data.image_dataset(x, batch_size=16, seed=0)  # the tf.data layer
history = model.fit(ds, epochs=2, verbose=0)
loss = history.history["loss"]
samples = keras.ops.convert_to_numpy(model.sample(3, seed=0))
lp = keras.ops.convert_to_numpy(model.log_prob(x[:2]))
imported = sorted(n for n in sys.modules if n.split(".")[0] in {optional!r} and sys.modules[n] is not None)
print("RESULT", len(loss), bool(np.all(np.isfinite(loss))), samples.shape, sorted(set(samples.ravel().tolist())),
      bool(np.all(lp < 0)), imported)
"""


@pytest.mark.slow  # a fresh process imports TensorFlow: ~10 s, ~30 s on a loaded 2-core machine
def test_the_base_install_trains_and_samples_without_any_extra():
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BASE_USER.format(optional=OPTIONAL))],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT")]
    assert line == ["RESULT 2 True (3, 4, 4, 1) [0, 1] True []"], result.stdout[-2000:]
