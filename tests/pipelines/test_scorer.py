"""Scorer: Beam RunInference over the SavedModel gives `model.log_prob`, example by example."""

import glob
import json
import os

import keras
import numpy as np
import pytest

from pipelines import artifacts
from pipelines import examples
from pipelines.components import Scorer
from pipelines.model_handler import SavedModelHandler

pytestmark = pytest.mark.tf_only

N = 300


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    import tensorflow as tf

    import keras_ar
    from keras_ar.export import export_archive

    root = tmp_path_factory.mktemp("scorer")
    keras.utils.set_random_seed(0)
    model = keras_ar.models.PixelCNN(input_shape=(8, 8, 1), filters=8, num_residual_blocks=1, first_kernel_size=3)
    model.build()
    x = (keras_ar.datasets.digits.load_raw()[0][:N, :, :, None] >= 8).astype("float32")
    model_dir = os.path.join(root, "model")
    export_archive(model, model_dir)
    data_dir = os.path.join(root, "examples")
    for split, rows in (("eval", range(0, N, 2)), ("train", range(1, N, 2))):
        os.makedirs(os.path.join(data_dir, split))
        with tf.io.TFRecordWriter(os.path.join(data_dir, split, "data-00000-of-00001.tfrecord")) as w:
            for i in rows:
                w.write(examples.encode(f"digit/{i}", x[i], label=i % 10))
    out = artifacts.Artifact(artifacts.INFERENCE_RESULT, os.path.join(root, "scores"))
    scorer = Scorer(split="all", num_shards=2, max_batch_size=64)
    scorer.Do(
        {"model": artifacts.Artifact(artifacts.MODEL, model_dir), "examples": artifacts.Artifact(artifacts.EXAMPLES, data_dir)},
        {"scores": out},
        scorer.exec_properties,
    )
    rows = [json.loads(line) for f in sorted(glob.glob(os.path.join(out.uri, "scores-*.jsonl"))) for line in open(f)]
    expected = keras.ops.convert_to_numpy(model.log_prob(x))
    return rows, expected, out


def test_every_example_scored_once(scored):
    rows, _, out = scored
    ids = sorted(int(r["id"].split("/")[1]) for r in rows)
    assert ids == list(range(N))
    assert out.properties["count"] == N and len(glob.glob(os.path.join(out.uri, "*.jsonl"))) == 2
    assert all(r["label"] == int(r["id"].split("/")[1]) % 10 for r in rows)


def test_scores_equal_model_log_prob(scored):
    rows, expected, _ = scored
    got = np.array([r["log_prob"] for r in sorted(rows, key=lambda r: int(r["id"].split("/")[1]))])
    # different batchings of the same examples (RunInference's batches, one keras batch): ~1e-5 nats
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    assert np.std(expected) > 0.1  # the examples differ: a constant score would not pass
    bits = np.array([r["bits_per_dim"] for r in sorted(rows, key=lambda r: int(r["id"].split("/")[1]))])
    np.testing.assert_allclose(bits, -expected / (64 * np.log(2.0)), rtol=1e-5, atol=1e-5)


def test_handler_rejects_unknown_signature(scored):
    _, _, out = scored
    model_dir = os.path.join(os.path.dirname(out.uri), "model")
    with pytest.raises(ValueError, match="signature"):
        SavedModelHandler(model_dir, signature="nope").load_model()


def test_per_dimension_maps(tmp_path, scored):
    import apache_beam as beam

    from pipelines import beam_utils
    from pipelines.scoring import ScoreExamples

    _, expected, out = scored
    root = os.path.dirname(out.uri)
    files = sorted(glob.glob(os.path.join(root, "examples", "eval", "*.tfrecord")))
    pipeline = beam_utils.make_pipeline()
    (
        pipeline
        | beam.Create(files)
        | ScoreExamples(os.path.join(root, "model"), per_dimension=True)
        | beam.Map(json.dumps)
        | beam.io.WriteToText(str(tmp_path / "maps"), num_shards=1)
    )
    beam_utils.run(pipeline, "test")
    results = [json.loads(line) for f in glob.glob(str(tmp_path / "maps*")) for line in open(f)]
    assert len(results) == N // 2
    for r in results[:5]:
        maps = np.array(r["conditional_log_probs"])
        assert maps.shape == (8, 8, 1)
        np.testing.assert_allclose(maps.sum(), r["log_prob"], rtol=1e-5, atol=1e-3)


def test_parquet_output_equals_model_log_prob(tmp_path, scored):
    import pyarrow.parquet as pq

    _, expected, out = scored
    root = os.path.dirname(out.uri)
    parquet = artifacts.Artifact(artifacts.INFERENCE_RESULT, str(tmp_path / "scores"))
    scorer = Scorer(split="all", output_format="parquet", per_dimension=True, num_shards=2, max_batch_size=64)
    scorer.Do(
        {"model": artifacts.Artifact(artifacts.MODEL, os.path.join(root, "model")),
         "examples": artifacts.Artifact(artifacts.EXAMPLES, os.path.join(root, "examples"))},
        {"scores": parquet},
        scorer.exec_properties,
    )
    files = sorted(glob.glob(os.path.join(parquet.uri, "scores-*.parquet")))
    assert len(files) == 2 and parquet.properties["count"] == N
    table = pq.ParquetDataset(files).read().to_pydict()
    order = np.argsort([int(i.split("/")[1]) for i in table["id"]])
    assert sorted(int(i.split("/")[1]) for i in table["id"]) == list(range(N))
    got = np.array(table["log_prob"])[order]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    maps = np.array(table["conditional_log_probs"])[order]
    assert maps.shape == (N, 64)
    np.testing.assert_allclose(maps.sum(axis=1), got, rtol=1e-5, atol=1e-3)
    assert [table["label"][i] for i in order[:12]] == [i % 10 for i in range(12)]


def test_unknown_output_format_names_the_fix():
    from pipelines import PipelineError

    with pytest.raises(PipelineError, match="set Scorer.output_format to 'jsonl' or 'parquet'"):
        Scorer(output_format="csv")
