"""Bad input: a one-line PipelineError naming the fix, and nothing half written."""

import os

import numpy as np
import pytest

from pipelines import PipelineError
from pipelines import run_pipeline
from pipelines import runner

pytestmark = pytest.mark.tf_only


def _run(tmp_path, components, **extra):
    config = {"pipeline_name": "t", "run_dir": str(tmp_path / "run"), "push_dir": str(tmp_path / "push"),
              "components": components, **extra}
    with pytest.raises(PipelineError) as info:
        run_pipeline(config, log=lambda *_: None)
    message = str(info.value)
    assert "\n" not in message
    return message


def _assert_nothing_written(tmp_path, component="ExampleGen"):
    home = tmp_path / "run" / component
    leftovers = sorted(os.listdir(home)) if home.exists() else []
    assert leftovers == []
    assert not (tmp_path / "push").exists() or os.listdir(tmp_path / "push") == []


def test_missing_folder(tmp_path):
    message = _run(tmp_path, {"ExampleGen": {"source": "images", "path": str(tmp_path / "nowhere")}})
    assert "does not exist" in message and "ExampleGen.path" in message
    _assert_nothing_written(tmp_path)


def test_unknown_model_fails_before_anything_runs(tmp_path):
    message = _run(tmp_path, {
        "ExampleGen": {"source": "digits"}, "Transform": {"op": "binarize", "threshold": 8},
        "Trainer": {"custom_config": {"model": "PixelCNNN"}},
    })
    assert "unknown model 'PixelCNNN'" in message and "PixelCNN" in message.split("use one of")[1]
    assert not (tmp_path / "run").exists()


def test_unknown_component_and_key(tmp_path):
    assert "unknown component" in _run(tmp_path, {"ExampleGenerator": {}})
    assert "unknown config key" in _run(tmp_path, {"ExampleGen": {"sauce": "digits"}})


def test_corrupt_tfrecord_names_the_file(tmp_path):
    from pipelines import examples

    good = tmp_path / "good.tfrecord"
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(good)) as w:
        for i in range(20):
            w.write(examples.encode(f"e{i}", np.full((2, 2, 1), i % 2)))
    data = bytearray(good.read_bytes())
    data[30:40] = b"\xff" * 10  # inside the first record: its CRC no longer matches
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(data))
    message = _run(tmp_path, {"ExampleGen": {"source": "tfrecord", "path": str(tmp_path / "*.tfrecord")}})
    assert str(bad) in message and "replace or remove it" in message
    _assert_nothing_written(tmp_path)


def test_empty_split(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((1, 2, 2, 1), "float32"))
    message = _run(tmp_path, {"ExampleGen": {"source": "npy", "path": str(tmp_path / "one.npy")}})
    assert "split is empty" in message and "eval_percent" in message
    _assert_nothing_written(tmp_path)


def test_image_of_the_wrong_shape(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((4, 4), 255 * (i % 2), "uint8")).save(folder / f"a{i}.png")
    Image.fromarray(np.zeros((5, 4), "uint8")).save(folder / "z.png")
    message = _run(tmp_path, {"ExampleGen": {"source": "images", "path": str(folder)}})
    assert "z.png" in message and "(5, 4, 1)" in message and "one shape" in message
    _assert_nothing_written(tmp_path)


def test_failed_execution_is_recorded(tmp_path):
    import json

    np.save(tmp_path / "one.npy", np.zeros((1, 2, 2, 1), "float32"))
    message = _run(tmp_path, {"ExampleGen": {"source": "npy", "path": str(tmp_path / "one.npy")}})
    records = os.listdir(tmp_path / "run" / "metadata")
    assert len(records) == 1 and records[0].endswith("-ExampleGen-failed.json")
    with open(tmp_path / "run" / "metadata" / records[0]) as f:
        record = json.load(f)
    assert record["status"] == "failed" and record["error"] == message
    assert record["start_time"] <= record["end_time"]


def test_config_file_errors(tmp_path):
    with pytest.raises(PipelineError, match="does not exist"):
        runner.load_config(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("components: [1, 2\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        runner.load_config(str(bad))
