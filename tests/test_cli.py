"""The `keras-ar` command line, run in-process through `keras_ar.cli.main`."""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_ar
from keras_ar import cli
from keras_ar.datasets import load_protocol

TINY = ["--set", "filters=6", "--set", "num_residual_blocks=1", "--set", "first_kernel_size=3"]


def run(capsys, *argv):
    """Run the CLI; return (exit status, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_fails(capsys, match, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny PixelCNN trained one epoch on digits-binary through the CLI (shared by the tests)."""
    path = str(tmp_path_factory.mktemp("train") / "pixelcnn.keras")
    code = cli.main(["train", "--model", "PixelCNN", "--data", "digits-binary", *TINY, "--epochs", "1",
                     "--verbose", "0", "--output", path])
    assert code == 0
    return path


def test_train_on_a_protocol(trained):
    model = keras.saving.load_model(trained)
    assert isinstance(model, keras_ar.models.PixelCNN)
    assert model.event_shape == (8, 8, 1) and model.distribution_id == "bernoulli"


def test_evaluate_prints_nats_and_bits_per_dim_on_the_test_split(capsys, trained):
    code, out, _ = run(capsys, "evaluate", trained, "--data", "digits-binary")
    assert code == 0
    assert "(360 examples, digits-binary test)" in out
    loss = float(out.split("loss: ")[1].split()[0])
    bpd = float(out.split("bits/dim: ")[1].split()[0])
    assert bpd == pytest.approx(loss / 64 / math.log(2), abs=1e-3)
    model = keras.saving.load_model(trained)
    expected = -np.mean(keras.ops.convert_to_numpy(model.log_prob(load_protocol("digits-binary").test)))
    assert loss == pytest.approx(expected, abs=1e-3)


def test_sample_png_and_npy(capsys, trained, tmp_path):
    code, out, _ = run(capsys, "sample", trained, "-n", 6, "--seed", 3, "--temperature", 0.9,
                       "--output", tmp_path / "s.npy")
    assert code == 0 and "wrote 6 samples" in out
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (6, 8, 8, 1) and set(np.unique(samples)) <= {0, 1}
    code, _, _ = run(capsys, "sample", trained, "-n", 6, "--seed", 3, "--temperature", 0.9, "--cols", 3,
                     "--output", tmp_path / "grid" / "s.png")
    assert code == 0
    png = np.asarray(Image.open(tmp_path / "grid" / "s.png"))
    assert png.shape == (2 * 66 + 2, 3 * 66 + 2)  # 2 rows of 3 grey 8x8 tiles at zoom 8, pad 2
    # the same seed and temperature draw the same samples: the PNG shows those of the .npy
    np.testing.assert_array_equal(png[2:66:8, 2:66:8], samples[0, ..., 0] * 255)
    np.testing.assert_array_equal(png[68:132:8, 134:198:8], samples[5, ..., 0] * 255)


def test_sampler_option_draws_as_the_python_api_does(capsys, trained, tmp_path):
    model = keras.saving.load_model(trained)
    expected = {
        "greedy": model.sample(6, seed=3, sampler="greedy"),
        "top-k:1": model.sample(6, seed=3, sampler=keras_ar.generation.samplers.TopKSampler(k=1)),
        "top-p:0.5": model.sample(6, seed=3, sampler=keras_ar.generation.samplers.TopPSampler(p=0.5, temperature=0.9)),
    }
    outputs = {}
    for spec, want in expected.items():
        extra = ["--temperature", 0.9] if spec.startswith("top-p") else []
        code, _, _ = run(capsys, "sample", trained, "-n", 6, "--seed", 3, "--sampler", spec, *extra,
                         "--output", tmp_path / "s.npy")
        assert code == 0
        outputs[spec] = np.load(tmp_path / "s.npy")
        np.testing.assert_array_equal(outputs[spec], keras.ops.convert_to_numpy(want))
    # greedy takes the most probable value at every step: the same image for every seed
    code, _, _ = run(capsys, "sample", trained, "-n", 6, "--seed", 4, "--sampler", "greedy", "--output",
                     tmp_path / "g.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), outputs["greedy"])
    assert_fails(capsys, "--sampler greedy takes the most probable value: drop --temperature",
                 "sample", trained, "--sampler", "greedy", "--temperature", 0.5, "--output", tmp_path / "x.npy")
    code, _, err = run(capsys, "sample", trained, "--sampler", "top-k:0", "--output", tmp_path / "x.npy")
    assert code == 2 and "expected temperature (default), greedy, top-k:K or top-p:P" in err, err


def test_complete_keeps_the_known_half(capsys, trained, tmp_path):
    test = load_protocol("digits-binary").test
    code, _, _ = run(capsys, "complete", trained, "--data", "digits-binary", "--mask", "top-half", "-n", 4,
                     "--output", tmp_path / "c.npy")
    assert code == 0
    completions = np.load(tmp_path / "c.npy")
    assert completions.shape == (4, 8, 8, 1)
    np.testing.assert_array_equal(completions[:, :4], test[:4, :4])
    mask = np.zeros((8, 8, 1), bool)
    mask[:, :3] = True  # the three left columns, from a file
    np.save(tmp_path / "mask.npy", mask)
    code, _, _ = run(capsys, "complete", trained, "--data", "digits-binary", "--mask", tmp_path / "mask.npy",
                     "-n", 4, "--output", tmp_path / "c2.npy")
    assert code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c2.npy")[:, :, :3], test[:4, :, :3])
    code, out, _ = run(capsys, "complete", trained, "--data", "digits-binary", "--mask", "left-half", "-n", 4,
                       "--output", tmp_path / "c.png")
    assert code == 0 and "left-half" in out
    png = np.asarray(Image.open(tmp_path / "c.png"))
    assert png.shape == (3 * 66 + 2, 4 * 66 + 2)  # rows: originals, masked, completions
    np.testing.assert_array_equal(png[2:66:8, 2:66:8], test[0, ..., 0] * 255)


def test_export_prints_the_version_path(capsys, trained, tmp_path):
    code, out, _ = run(capsys, "export", trained, "--output", tmp_path / "saved_models" / "digits")
    assert code == 0
    path = out.strip().splitlines()[-1]
    assert path == os.path.join(str(tmp_path / "saved_models" / "digits"), "1")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))


def test_conditional_protocols_pass_their_conditions(capsys, tmp_path):
    """digits-superres: train, evaluate and complete give the model each example's 4x4 condition,
    scaled by the protocol's largest level (16); sampling without --condition names the fix."""
    path = tmp_path / "superres.keras"
    code, out, _ = run(capsys, "train", "--model", "GatedPixelCNN", "--data", "digits-superres", "--set", "filters=6",
                       "--set", "num_blocks=1", "--set", "first_kernel_size=3", "--epochs", "1", "--verbose", "0",
                       "--output", path)
    assert code == 0 and "conditioned on condition images (4, 4, 1)" in out
    model = keras.saving.load_model(path)
    assert (model.condition_shape, model.condition_scale) == ((4, 4, 1), 16.0)
    data = load_protocol("digits-superres")
    code, out, _ = run(capsys, "evaluate", path, "--data", "digits-superres", "--split", "validation")
    assert code == 0
    expected = -np.mean(keras.ops.convert_to_numpy(model.log_prob(data.validation, data.validation_condition)))
    assert float(out.split("loss: ")[1].split()[0]) == pytest.approx(expected, abs=1e-3)
    code, _, _ = run(capsys, "complete", path, "--data", "digits-superres", "-n", 3, "--output", tmp_path / "c.npy")
    assert code == 0
    completions = np.load(tmp_path / "c.npy")
    np.testing.assert_array_equal(completions[:, :4], data.test[:3, :4])
    mask = np.zeros((3, 8, 8, 1), bool)
    mask[:, :4] = True  # the same draws as the model given each test digit's own condition image
    expected = model.sample(3, condition=data.test_condition[:3], known=data.test[:3], known_mask=mask, seed=0)
    np.testing.assert_array_equal(completions, keras.ops.convert_to_numpy(expected))
    assert_fails(capsys, "pass --condition FILE.npy", "sample", path, "--output", tmp_path / "s.npy")
    line = assert_fails(capsys, "digits-binary has none", "evaluate", path, "--data", "digits-binary")
    assert "--condition" not in line  # evaluate has no such option


def test_class_conditional_training_on_a_protocol_s_labels(capsys, tmp_path):
    path = tmp_path / "class.keras"
    code, out, _ = run(capsys, "train", "--model", "PixelCNN", "--data", "digits-binary", "--class-conditional",
                       *TINY, "--epochs", "1", "--verbose", "0", "--output", path)
    assert code == 0 and "conditioned on the class labels" in out
    model = keras.saving.load_model(path)
    assert model.num_classes == 10
    data = load_protocol("digits-binary")
    code, out, _ = run(capsys, "evaluate", path, "--data", "digits-binary")
    assert code == 0
    expected = -np.mean(keras.ops.convert_to_numpy(model.log_prob(data.test, data.test_labels)))
    assert float(out.split("loss: ")[1].split()[0]) == pytest.approx(expected, abs=1e-3)
    code, _, _ = run(capsys, "complete", path, "--data", "digits-binary", "-n", 2, "--output", tmp_path / "c.npy")
    assert code == 0  # the originals' own labels
    mask = np.zeros((2, 8, 8, 1), bool)
    mask[:, :4] = True
    expected = model.sample(2, condition=data.test_labels[:2], known=data.test[:2], known_mask=mask, seed=0)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), keras.ops.convert_to_numpy(expected))
    np.save(tmp_path / "x.npy", data.test[:20])
    code, _, _ = run(capsys, "complete", path, "--data", tmp_path / "x.npy", "-n", 2, "--output", tmp_path / "c.npy")
    assert code == 0  # data without labels: the classes are cycled, as `sample` does
    assert_fails(capsys, "has none", "train", "--model", "PixelCNN", "--data", tmp_path / "x.npy",
                 "--class-conditional", *TINY, "--output", tmp_path / "m.keras")
    assert_fails(capsys, "does not apply", "train", "--model", "GatedPixelCNN", "--data", "digits-superres",
                 "--class-conditional", "--output", tmp_path / "m.keras")


def test_train_on_npy_with_json_config_infers_levels(capsys, tmp_path):
    x = np.random.default_rng(0).integers(0, 4, (20, 4, 4, 1)).astype("int64")
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "config.json").write_text(json.dumps({"filters": 4, "num_residual_blocks": 0}))
    code, out, _ = run(capsys, "train", "--model", "pixelcnn", "--data", tmp_path / "x.npy", "--config",
                       tmp_path / "config.json", "--set", "first_kernel_size=3", "--epochs", 2,
                       "--batch-size", 8, "--validation-split", 0.2, "--verbose", 0, "--output",
                       tmp_path / "m.keras")
    assert code == 0, out
    assert "16 training examples, 4 validation examples" in out and "4 levels" in out
    model = keras.saving.load_model(tmp_path / "m.keras")
    config = model.get_config()
    assert (config["distribution"], config["num_levels"], config["filters"]) == ("categorical", 4, 4)
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.keras", "--data", tmp_path / "x.npy")
    assert code == 0 and "(20 examples" in out


def test_train_on_a_folder_of_rgb_pngs_and_sample_in_colour(capsys, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(folder / f"{k}.png")
    code, out, _ = run(capsys, "train", "--model", "PixelCNN", "--data", folder, *TINY, "--epochs", 1,
                       "--verbose", 0, "--output", tmp_path / "rgb.keras")
    assert code == 0, out
    assert "event shape (4, 4, 3), 256 levels" in out
    code, _, _ = run(capsys, "sample", tmp_path / "rgb.keras", "-n", 2, "--output", tmp_path / "rgb.png")
    assert code == 0
    png = np.asarray(Image.open(tmp_path / "rgb.png"))
    assert png.ndim == 3 and png.shape[-1] == 3  # 4x4 tiles at zoom 16: RGB kept in colour
    assert png.shape == (64 + 4, 2 * 66 + 2, 3)


def test_yaml_config_without_pyyaml_is_a_clear_error(capsys, tmp_path, monkeypatch):
    (tmp_path / "c.yaml").write_text("filters: 6\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    assert_fails(capsys, "pip install pyyaml", "train", "--model", "PixelCNN", "--data", "digits-binary",
                 "--config", tmp_path / "c.yaml")


def test_errors_are_one_line_with_status_2(capsys, trained, tmp_path):
    line = assert_fails(capsys, "unknown model 'Nope'", "train", "--model", "Nope", "--data", "digits-binary")
    assert "PixelCNN" in line and "NADE" in line  # lists the available ones
    assert_fails(capsys, "model file not found", "sample", tmp_path / "none.keras", "--output", tmp_path / "s.png")
    assert_fails(capsys, "data file not found", "evaluate", trained, "--data", tmp_path / "none.npy")
    assert_fails(capsys, "is neither a protocol", "evaluate", trained, "--data", "digits-42")
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    assert_fails(capsys, "cannot read --data", "evaluate", trained, "--data", tmp_path / "bad.npy")
    # data of the wrong shape: the model's own ValueError
    assert_fails(capsys, "`x` must have shape (batch, 4, 4, 1)", "train", "--model", "PixelCNN", "--data",
                 "digits-binary", *TINY, "--set", "input_shape=[4, 4, 1]", "--epochs", 1)
    assert_fails(capsys, "`input_shape` must be (height, width, channels)", "train", "--model", "PixelCNN",
                 "--data", "breast-cancer", "--epochs", 1)
    np.save(tmp_path / "small.npy", np.zeros((3, 4, 4, 1), "uint8"))
    assert_fails(capsys, "shape (batch, 8, 8, 1)", "evaluate", trained, "--data", tmp_path / "small.npy")
    assert_fails(capsys, "--set takes key=value", "train", "--model", "PixelCNN", "--data", "digits-binary",
                 "--set", "filters")
    assert_fails(capsys, "--output must end in .png or .npy", "sample", trained, "--output", tmp_path / "s.jpg")
    assert_fails(capsys, "--mask must be", "complete", trained, "--data", "digits-binary", "--mask", "middle",
                 "--output", tmp_path / "c.npy")


def test_image_folder_errors(capsys, trained, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(folder / "b.png")
    assert_fails(capsys, "must all have the same size: a.png is 4x4 but b.png is 4x5", "evaluate", trained,
                 "--data", folder)
    (folder / "b.png").write_bytes(b"not a png")
    assert_fails(capsys, "cannot read image", "evaluate", trained, "--data", folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_fails(capsys, "holds no PNG or JPEG image", "evaluate", trained, "--data", empty)


def test_tfds_without_network_fails_fast(capsys, trained, monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # nothing downloaded there
    monkeypatch.setattr(cli, "_network_reachable", lambda *a, **k: False)
    assert_fails(capsys, "no network: ", "evaluate", trained, "--data", "tfds:mnist")


def test_network_check_is_quick():
    import time

    t0 = time.perf_counter()
    cli._network_reachable("192.0.2.1", 443, timeout=0.5)  # TEST-NET-1: never answers
    assert time.perf_counter() - t0 < 2.0


def test_debug_shows_the_traceback_and_usage_errors_exit_2(capsys):
    with pytest.raises(cli.CliError, match="unknown model"):
        cli.main(["train", "--model", "Nope", "--data", "digits-binary", "--debug"])
    assert cli.main(["train", "--model", "PixelCNN"]) == 2  # argparse: --data is required
    assert "--data" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "keras_ar.cli", "train", "--model", "Nope", "--data", "digits-binary"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 2
    assert "keras-ar train: error: unknown model 'Nope'" in result.stderr
    assert "Traceback" not in result.stderr
