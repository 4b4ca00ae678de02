"""The runner: components run once, are reused while inputs, config and code are unchanged,
and leave a record per execution; Transform's statistics come from the train split alone."""

import glob
import json
import os

import numpy as np
import pytest

from pipelines import examples
from pipelines import run_pipeline
from pipelines import transform as transform_lib

pytestmark = pytest.mark.tf_only


def _config(tmp_path, components, **extra):
    return {"pipeline_name": "t", "run_dir": str(tmp_path / "run"), "push_dir": str(tmp_path / "push"),
            "components": components, **extra}


def _read_split(uri, split):
    rows = [examples.decode(r) for f in examples.split_files(uri, split) for r in examples.read_file(f)]
    return {i: (x, label) for i, x, label in rows}


@pytest.fixture(scope="module")
def npy_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("npy")
    rng = np.random.default_rng(0)
    data = rng.uniform(0.0, 10.0, size=(200, 3, 2)).astype("float32")
    np.save(tmp_path / "data.npy", data)
    components = {
        "ExampleGen": {"source": "npy", "path": str(tmp_path / "data.npy"), "eval_percent": 25},
        "Transform": {"op": "quantize", "num_levels": 4},
    }
    lines = []
    summary = run_pipeline(_config(tmp_path, components), log=lines.append)
    return tmp_path, data, components, summary, lines


def test_split_is_deterministic_and_complete(npy_run):
    tmp_path, data, _, summary, _ = npy_run
    uri = glob.glob(str(tmp_path / "run" / "ExampleGen" / "*" / "examples"))[0]
    train, ev = _read_split(uri, "train"), _read_split(uri, "eval")
    assert set(train).isdisjoint(ev) and len(train) + len(ev) == 200
    assert 20 < len(ev) < 80  # ~25%
    for key, (x, _) in list(train.items())[:10]:
        np.testing.assert_array_equal(x, data[int(key.split("/")[1])])
    assert summary["ExampleGen"]["outputs"]["examples"]["counts"] == {"train": len(train), "eval": len(ev)}


def test_statistics_from_train_split_alone(npy_run):
    tmp_path, data, _, _, _ = npy_run
    uri = glob.glob(str(tmp_path / "run" / "ExampleGen" / "*" / "examples"))[0]
    train_ids = sorted(int(k.split("/")[1]) for k in _read_split(uri, "train"))
    stats_file = glob.glob(str(tmp_path / "run" / "Transform" / "*" / "statistics" / "statistics.json"))[0]
    with open(stats_file) as f:
        stats = json.load(f)
    train = data[train_ids].astype("float64")
    assert stats["count"] == len(train_ids) and stats["shape"] == [3, 2]
    np.testing.assert_allclose([stats["min"], stats["max"]], [train.min(), train.max()], rtol=1e-6)
    np.testing.assert_allclose(stats["channel_mean"], train.reshape(-1, 2).mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["channel_std"], train.reshape(-1, 2).std(0), rtol=1e-4)
    # the eval split does not leak into them: the statistics of all examples differ
    assert not np.allclose(stats["channel_mean"], data.reshape(-1, 2).astype("float64").mean(0), rtol=1e-6, atol=0)


def test_transformed_examples_apply_the_saved_spec(npy_run):
    tmp_path, data, _, _, _ = npy_run
    run = tmp_path / "run" / "Transform"
    with open(glob.glob(str(run / "*" / "transform_graph" / "transform.json"))[0]) as f:
        spec = json.load(f)
    assert spec["op"] == "quantize" and spec["num_levels"] == 4 and spec["distribution"] == "categorical"
    out = glob.glob(str(run / "*" / "transformed_examples"))[0]
    ev = _read_split(out, "eval")
    for key, (x, _) in ev.items():
        np.testing.assert_array_equal(x, transform_lib.apply(spec, data[int(key.split("/")[1])]))
        assert set(np.unique(x)) <= {0.0, 1.0, 2.0, 3.0}


def test_second_run_reuses_everything(npy_run):
    tmp_path, _, components, first, lines = npy_run
    assert [s["status"] for s in first.values()] == ["ran", "ran"]
    again = []
    second = run_pipeline(_config(tmp_path, components), log=again.append)
    assert [s["status"] for s in second.values()] == ["reused", "reused"]
    assert again[-1] == "all 2 components reused; nothing ran"
    assert [s["execution"] for s in second.values()] == [s["execution"] for s in first.values()]


def test_config_change_reruns_downstream_only(npy_run):
    tmp_path, _, components, first, _ = npy_run
    changed = dict(components, Transform={"op": "quantize", "num_levels": 8})
    summary = run_pipeline(_config(tmp_path, changed), log=lambda *_: None)
    assert summary["ExampleGen"]["status"] == "reused" and summary["Transform"]["status"] == "ran"
    assert summary["Transform"]["execution"] != first["Transform"]["execution"]


def test_damaged_output_is_rebuilt(npy_run):
    tmp_path, _, components, first, _ = npy_run
    stats = glob.glob(str(tmp_path / "run" / "Transform" / first["Transform"]["execution"] / "statistics" / "statistics.json"))[0]
    with open(stats, "a") as f:
        f.write(" ")
    summary = run_pipeline(_config(tmp_path, components), log=lambda *_: None)
    assert summary["Transform"]["status"] == "ran"
    assert summary["Transform"]["execution"] == first["Transform"]["execution"]  # same inputs, same place


def test_execution_record(npy_run):
    tmp_path, _, _, first, _ = npy_run
    path = tmp_path / "run" / "ExampleGen" / first["ExampleGen"]["execution"] / "execution.json"
    with open(path) as f:
        record = json.load(f)
    assert record["status"] == "complete" and record["start_time"] < record["end_time"]
    assert record["config"]["source"] == "npy" and len(record["code_hash"]) == 64
    assert set(record["outputs"]) == {"examples"} and len(record["outputs"]["examples"]["hash"]) == 64
    transform = glob.glob(str(tmp_path / "run" / "Transform" / first["Transform"]["execution"] / "execution.json"))[0]
    with open(transform) as f:
        record = json.load(f)
    assert record["inputs"]["examples"]["hash"] and record["inputs"]["examples"]["type"] == "Examples"
    assert not glob.glob(str(tmp_path / "run" / "*" / ".tmp-*"))


def test_fn_args_carries_tfx_field_names():
    import dataclasses

    from pipelines import FnArgs

    tfx_fields = {
        "working_dir", "train_files", "eval_files", "train_steps", "eval_steps", "schema_path", "schema_file",
        "transform_graph_path", "transform_output", "data_accessor", "serving_model_dir", "eval_model_dir",
        "model_run_dir", "base_model", "hyperparameters", "custom_config",
    }
    assert {f.name for f in dataclasses.fields(FnArgs)} == tfx_fields


@pytest.mark.slow
def test_digits_pipeline_end_to_end(tmp_path):
    """Train, evaluate, push; a second run reuses all; a model not better than the pushed one is not pushed."""
    import tensorflow as tf

    components = {
        "ExampleGen": {"source": "digits", "eval_percent": 20},
        "Transform": {"op": "binarize", "threshold": 8},
        "Trainer": {"custom_config": {
            "model": "PixelCNN", "epochs": 2, "batch_size": 128, "learning_rate": 0.01,
            "model_args": {"filters": 8, "num_residual_blocks": 1, "first_kernel_size": 3},
        }},
        "Evaluator": {"max_bits_per_dim": 1.0},
        "Pusher": {},
        "Scorer": {},
    }
    first = run_pipeline(_config(tmp_path, components), log=lambda *_: None)
    assert all(s["status"] == "ran" for s in first.values())
    assert first["Evaluator"]["outputs"]["blessing"]["blessed"]
    pushed = first["Pusher"]["outputs"]["pushed_model"]
    assert pushed["pushed"] and pushed["version"] == 1 and os.listdir(tmp_path / "push") == ["1"]

    # the pushed version serves with TensorFlow alone, and gives the Scorer's numbers
    scores = [json.loads(line) for f in glob.glob(str(tmp_path / "run" / "Scorer" / "*" / "scores" / "*.jsonl"))
              for line in open(f)]
    assert len(scores) == first["ExampleGen"]["outputs"]["examples"]["counts"]["eval"]
    transformed = glob.glob(str(tmp_path / "run" / "Transform" / "*" / "transformed_examples"))[0]
    ev = _read_split(transformed, "eval")
    served = tf.saved_model.load(str(tmp_path / "push" / "1"))
    ids = [s["id"] for s in scores[:16]]
    out = served.signatures["log_prob"](x=tf.constant(np.stack([ev[i][0] for i in ids])))["log_prob"].numpy()
    np.testing.assert_allclose(out, [s["log_prob"] for s in scores[:16]], rtol=1e-5, atol=1e-3)
    blessing = glob.glob(str(tmp_path / "run" / "Evaluator" / "*" / "blessing" / "*"))
    assert [os.path.basename(p) for p in blessing] == ["BLESSED"]

    again = []
    second = run_pipeline(_config(tmp_path, components), log=again.append)
    assert all(s["status"] == "reused" for s in second.values()) and again[-1].startswith("all 6 components reused")
    assert os.listdir(tmp_path / "push") == ["1"]

    # a retrained model that must beat version 1 by an impossible margin: evaluated, not pushed
    components["Trainer"]["custom_config"]["epochs"] = 1
    components["Evaluator"]["min_improvement"] = 1e6
    third = run_pipeline(_config(tmp_path, components), log=lambda *_: None)
    assert third["Trainer"]["status"] == "ran"
    assert not third["Evaluator"]["outputs"]["blessing"]["blessed"]
    assert "pushed version 1" in third["Evaluator"]["outputs"]["blessing"]["reasons"][0]
    assert not third["Pusher"]["outputs"]["pushed_model"]["pushed"]
    assert os.listdir(tmp_path / "push") == ["1"]
    run_dir = tmp_path / "run" / "Trainer" / third["Trainer"]["execution"] / "model_run"
    assert os.path.isfile(run_dir / "model.keras") and os.listdir(run_dir / "checkpoints") == ["epoch-001.weights.h5"]
    assert glob.glob(str(run_dir / "logs" / "train" / "events.out.tfevents.*"))
