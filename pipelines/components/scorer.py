"""Scorer (TFX's BulkInferrer): per-example log-likelihood and bits/dim as JSON lines or Parquet (Beam RunInference)."""

import json
import os
import time

import apache_beam as beam

from pipelines import artifacts
from pipelines import beam_utils
from pipelines import examples
from pipelines.components.base import Component
from pipelines.errors import PipelineError
from pipelines.scoring import ScoreExamples


class Scorer(Component):
    """A `Model` and `Examples` -> `InferenceResult`: `scores-*.jsonl`, one JSON object per example,
    or `scores-*.parquet` with `output_format: parquet`.

    Each row: `{"id", "label", "log_prob", "bits_per_dim"}` (nats; bits per dimension), and
    `conditional_log_probs` (the per-dimension map; in Parquet flattened, in the model's input
    layout, C order) with `per_dimension: true`. RunInference runs the SavedModel through
    `pipelines.SavedModelHandler`.

    Config: `split` (`"eval"`, `"train"` or `"all"`), `output_format` (`"jsonl"` or `"parquet"`,
    which needs pyarrow, installed with Beam), `per_dimension`, `num_shards`,
    `max_batch_size`, `beam` (e.g. `{runner: DirectRunner, direct_num_workers: 2,
    direct_running_mode: multi_processing}`).
    """

    INPUTS = {"model": artifacts.MODEL, "examples": artifacts.EXAMPLES}
    OUTPUTS = {"scores": artifacts.INFERENCE_RESULT}
    DEFAULTS = {"split": "eval", "output_format": "jsonl", "per_dimension": False, "num_shards": 1, "max_batch_size": 256,
                "beam": None}

    def check_config(self, c):
        if c["split"] not in ("eval", "train", "all"):
            raise PipelineError(f"Scorer: unknown split {c['split']!r}; set Scorer.split to 'eval', 'train' or 'all'")
        if c["output_format"] not in FORMATS:
            raise PipelineError(
                f"Scorer: unknown output_format {c['output_format']!r}; set Scorer.output_format to 'jsonl' or 'parquet'"
            )

    def code_files(self):
        from pipelines import model_handler
        from pipelines import scoring

        return super().code_files() + [scoring.__file__, model_handler.__file__, examples.__file__]

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        c = exec_properties
        splits = examples.SPLITS if c["split"] == "all" else (c["split"],)
        files = [f for s in splits for f in examples.split_files(input_dict["examples"].uri, s)]
        out = output_dict["scores"].uri
        os.makedirs(out, exist_ok=True)
        pipeline = beam_utils.make_pipeline(c["beam"])
        scores = (
            pipeline
            | "Files" >> beam.Create(files)
            | "Score" >> ScoreExamples(input_dict["model"].uri, c["per_dimension"], c["max_batch_size"])
        )
        prefix = os.path.join(out, "scores")
        if c["output_format"] == "parquet":
            (
                scores
                | "Flat" >> beam.Map(_flat_row)
                | "Write" >> beam.io.WriteToParquet(
                    prefix, _parquet_schema(c["per_dimension"]), file_name_suffix=".parquet", num_shards=c["num_shards"]
                )
            )
        else:
            (
                scores
                | "Json" >> beam.Map(lambda d: json.dumps(d, sort_keys=True))
                | "Write" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl", num_shards=c["num_shards"])
            )
        start = time.perf_counter()
        beam_utils.run(pipeline, "Scorer")
        seconds = time.perf_counter() - start
        count = _count_rows(out, c["output_format"])
        output_dict["scores"].properties.update(
            count=count, seconds=round(seconds, 3), examples_per_second=round(count / max(seconds, 1e-9), 1), splits=list(splits),
            output_format=c["output_format"],
        )


FORMATS = ("jsonl", "parquet")


def _parquet_schema(per_dimension):
    import pyarrow as pa

    fields = [("id", pa.string()), ("label", pa.int64()), ("log_prob", pa.float64()), ("bits_per_dim", pa.float64())]
    if per_dimension:
        fields.append(("conditional_log_probs", pa.list_(pa.float64())))
    return pa.schema(fields)


def _flat_row(row):
    if "conditional_log_probs" not in row:
        return row
    import numpy as np

    return dict(row, conditional_log_probs=np.asarray(row["conditional_log_probs"], "float64").reshape(-1).tolist())


def _count_rows(out, output_format):
    names = [os.path.join(out, name) for name in os.listdir(out)]
    if output_format == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(name).metadata.num_rows for name in names)
    return sum(1 for name in names for _ in open(name))
