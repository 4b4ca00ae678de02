"""Transform: statistics over the train split, then the same transform on every split (Beam jobs)."""

import json
import os

import apache_beam as beam
import numpy as np

from pipelines import artifacts
from pipelines import beam_utils
from pipelines import examples
from pipelines import transform as transform_lib
from pipelines.components.base import Component
from pipelines.errors import PipelineError


class Transform(Component):
    """Examples -> transformed Examples, `ExampleStatistics` and a `TransformGraph`.

    The statistics (count, shape, min, max, mean, std, and per channel — the last axis — mean
    and std) come from the train split alone and fix the transform's numbers; `transform.json`
    (the `TransformGraph`) holds them, and `pipelines.transform.apply` applies them, in this
    job and at serving time alike.

    Config: `op` (`"binarize"`, `"quantize"`, `"standardize"`, `"identity"`), `threshold`
    (binarize; default the middle of the train range), `num_levels` (quantize), `num_shards`,
    `beam`.

    Example:

    ```yaml
    Transform: {op: binarize, threshold: 8}
    ```
    """

    INPUTS = {"examples": artifacts.EXAMPLES}
    OUTPUTS = {
        "transformed_examples": artifacts.EXAMPLES,
        "statistics": artifacts.STATISTICS,
        "transform_graph": artifacts.TRANSFORM_GRAPH,
    }
    DEFAULTS = {"op": "identity", "threshold": None, "num_levels": None, "num_shards": 2, "beam": None}

    def check_config(self, c):
        if c["op"] not in transform_lib.OPS:
            raise PipelineError(f"Transform: unknown op {c['op']!r}; set Transform.op to one of {list(transform_lib.OPS)}")
        if c["op"] == "quantize" and not (isinstance(c["num_levels"], int) and c["num_levels"] >= 2):
            raise PipelineError(f"Transform: op 'quantize' needs an int `num_levels` >= 2, got {c['num_levels']!r}")

    def code_files(self):
        return super().code_files() + [transform_lib.__file__, examples.__file__]

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        c = exec_properties
        source = input_dict["examples"].uri
        stats_dir = output_dict["statistics"].uri
        os.makedirs(stats_dir, exist_ok=True)

        # 1. statistics over the train split
        pipeline = beam_utils.make_pipeline(c["beam"])
        (
            pipeline
            | "ListTrain" >> beam.Create(examples.split_files(source, "train"))
            | "ReadTrain" >> beam.FlatMap(examples.read_file)
            | "Decode" >> beam.Map(lambda r: examples.decode(r)[1])
            | "Statistics" >> beam.CombineGlobally(StatisticsFn())
            | "Write" >> beam.Map(_write_json, os.path.join(stats_dir, "statistics.json"))
        )
        beam_utils.run(pipeline, "Transform")
        with open(os.path.join(stats_dir, "statistics.json")) as f:
            statistics = json.load(f)
        if not statistics or statistics["count"] == 0:
            raise PipelineError("Transform: the train split is empty; add data or lower ExampleGen.eval_percent")

        # 2. the transform, fixed by those statistics, on every split
        spec = transform_lib.make_spec(c["op"], statistics, c["threshold"], c["num_levels"])
        graph_dir = output_dict["transform_graph"].uri
        os.makedirs(graph_dir, exist_ok=True)
        _write_json(spec, os.path.join(graph_dir, "transform.json"))
        out = output_dict["transformed_examples"].uri
        pipeline = beam_utils.make_pipeline(c["beam"])
        for split in examples.SPLITS:
            (
                pipeline
                | f"List-{split}" >> beam.Create(examples.split_files(source, split))
                | f"Read-{split}" >> beam.FlatMap(examples.read_file)
                | f"Transform-{split}" >> beam.Map(_transform_record, spec)
                | f"Write-{split}" >> beam.io.WriteToTFRecord(
                    examples.write_path(out, split), file_name_suffix=".tfrecord", num_shards=c["num_shards"]
                )
            )
        beam_utils.run(pipeline, "Transform")
        output_dict["transformed_examples"].properties.update(
            split_names=list(examples.SPLITS), counts=input_dict["examples"].properties.get("counts")
        )
        output_dict["transform_graph"].properties.update(spec)
        output_dict["statistics"].properties.update(count=statistics["count"], shape=statistics["shape"])


def _transform_record(record, spec):
    example_id, x, label = examples.decode(record)
    if list(x.shape) != list(spec["shape"]):
        raise PipelineError(
            f"Transform: example {example_id} has shape {list(x.shape)}, the train split {spec['shape']}; "
            "give every example one shape"
        )
    return examples.encode(example_id, transform_lib.apply(spec, x), label)


def _write_json(value, path):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)


class StatisticsFn(beam.CombineFn):
    """count, shape, min, max, mean, std, and per channel (last axis) mean and std, in float64."""

    def create_accumulator(self):
        return None

    def add_input(self, acc, x):
        x = np.asarray(x, "float64")
        if not np.all(np.isfinite(x)):
            raise PipelineError("Transform: an example holds NaN or inf; clean the input data")
        channels = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
        part = {
            "shape": list(x.shape), "count": 1, "n": channels.shape[0], "min": float(x.min()), "max": float(x.max()),
            "sum": channels.sum(0), "sumsq": (channels ** 2).sum(0),
        }
        return self.merge_accumulators([acc, part])

    def merge_accumulators(self, accs):
        accs = [a for a in accs if a is not None]
        if not accs:
            return None
        out = dict(accs[0])
        for a in accs[1:]:
            if a["shape"] != out["shape"]:
                raise PipelineError(
                    f"Transform: train examples have shapes {out['shape']} and {a['shape']}; give every example one shape"
                )
            out = {
                "shape": out["shape"], "count": out["count"] + a["count"], "n": out["n"] + a["n"],
                "min": min(out["min"], a["min"]), "max": max(out["max"], a["max"]),
                "sum": out["sum"] + a["sum"], "sumsq": out["sumsq"] + a["sumsq"],
            }
        return out

    def extract_output(self, acc):
        if acc is None:
            return {"count": 0}
        n = acc["n"]
        channel_mean = acc["sum"] / n
        channel_var = np.maximum(acc["sumsq"] / n - channel_mean ** 2, 0.0)
        mean = acc["sum"].sum() / (n * len(acc["sum"]))
        var = max(acc["sumsq"].sum() / (n * len(acc["sum"])) - mean ** 2, 0.0)
        return {
            "count": acc["count"], "shape": acc["shape"], "min": acc["min"], "max": acc["max"],
            "mean": float(mean), "std": float(np.sqrt(var)),
            "channel_mean": channel_mean.tolist(), "channel_std": np.sqrt(channel_var).tolist(),
        }
