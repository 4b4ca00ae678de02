"""Evaluator: NLL and bits/dim on the eval split; BLESSED only when better than a threshold and
than the last pushed version."""

import json
import os

import apache_beam as beam

from pipelines import artifacts
from pipelines import beam_utils
from pipelines import examples
from pipelines import push_records
from pipelines.components.base import Component
from pipelines.errors import PipelineError
from pipelines.scoring import ScoreExamples


class Evaluator(Component):
    """A `Model` and `Examples` -> `ModelEvaluation` (`metrics.json`) and `ModelBlessing`.

    The blessing directory holds a file `BLESSED` or `NOT_BLESSED` (TFX's contract). A model is
    blessed when its eval bits/dim is at most `max_bits_per_dim` and its eval NLL is lower
    than the baseline's by at least `min_improvement` nats. The baseline is the newest version
    under `push_dir` that was not pushed from this very model (so re-running an unchanged
    pipeline does not compare a model with itself), scored on the same examples.

    Config: `max_bits_per_dim` (default 1.0), `min_improvement` (0.0), `push_dir` (set by the
    pipeline), `beam`.
    """

    INPUTS = {"model": artifacts.MODEL, "examples": artifacts.EXAMPLES}
    OUTPUTS = {"evaluation": artifacts.MODEL_EVALUATION, "blessing": artifacts.MODEL_BLESSING}
    DEFAULTS = {"max_bits_per_dim": 1.0, "min_improvement": 0.0, "push_dir": None, "beam": None}

    def check_config(self, c):
        if not isinstance(c["max_bits_per_dim"], (int, float)) or c["max_bits_per_dim"] <= 0:
            raise PipelineError(f"Evaluator: max_bits_per_dim must be a number > 0, got {c['max_bits_per_dim']!r}")

    def code_files(self):
        from pipelines import scoring

        return super().code_files() + [scoring.__file__, push_records.__file__]

    def extra_fingerprint(self, input_dict):
        baseline = self.baseline(input_dict["model"].uri)
        return None if baseline is None else {"version": baseline[0], "hash": artifacts.hash_path(baseline[1])}

    def baseline(self, model_uri):
        push_dir = self.exec_properties["push_dir"]
        if not push_dir:
            return None
        return push_records.latest_pushed(push_dir, exclude_model_hash=artifacts.hash_path(model_uri))

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        c = exec_properties
        files = examples.split_files(input_dict["examples"].uri, "eval")
        candidate = _evaluate(input_dict["model"].uri, files, c["beam"])
        baseline = self.baseline(input_dict["model"].uri)
        baseline_metrics = None if baseline is None else _evaluate(baseline[1], files, c["beam"])
        reasons = []
        if candidate["bits_per_dim"] > c["max_bits_per_dim"]:
            reasons.append(f"bits/dim {candidate['bits_per_dim']:.4f} > max_bits_per_dim {c['max_bits_per_dim']}")
        if baseline_metrics is not None and not candidate["nll"] < baseline_metrics["nll"] - c["min_improvement"]:
            reasons.append(
                f"NLL {candidate['nll']:.4f} not below pushed version {baseline[0]}'s {baseline_metrics['nll']:.4f}"
                + (f" by {c['min_improvement']}" if c["min_improvement"] else "")
            )
        blessed = not reasons
        metrics = {
            "candidate": candidate,
            "baseline": None if baseline is None else dict(baseline_metrics, version=baseline[0], path=baseline[1]),
            "blessed": blessed,
            "reasons": reasons,
        }
        for name in ("evaluation", "blessing"):
            os.makedirs(output_dict[name].uri, exist_ok=True)
        with open(os.path.join(output_dict["evaluation"].uri, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=1)
        with open(os.path.join(output_dict["blessing"].uri, "BLESSED" if blessed else "NOT_BLESSED"), "w") as f:
            f.write("; ".join(reasons) + "\n")
        output_dict["evaluation"].properties.update(nll=candidate["nll"], bits_per_dim=candidate["bits_per_dim"])
        output_dict["blessing"].properties.update(blessed=blessed, reasons=reasons)


def _evaluate(model_uri, files, beam_config):
    """Mean NLL (nats per example) and bits/dim of a SavedModel over TFRecord files (a Beam job)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="keras_ar_eval_") as tmp:
        path = os.path.join(tmp, "metrics.json")
        pipeline = beam_utils.make_pipeline(beam_config)
        (
            pipeline
            | "Files" >> beam.Create(files)
            | "Score" >> ScoreExamples(model_uri)
            | "Pairs" >> beam.Map(lambda d: (-d["log_prob"], d["bits_per_dim"], 1))
            | "Sum" >> beam.CombineGlobally(lambda rows: tuple(map(sum, zip(*rows))) if rows else (0.0, 0.0, 0))
            | "Write" >> beam.Map(_write_metrics, path)
        )
        beam_utils.run(pipeline, "Evaluator")
        with open(path) as f:
            metrics = json.load(f)
    if metrics["count"] == 0:
        raise PipelineError("Evaluator: the eval split is empty; add data or raise ExampleGen.eval_percent")
    return metrics


def _write_metrics(total, path):
    nll, bpd, count = total
    with open(path, "w") as f:
        json.dump({"nll": nll / max(count, 1), "bits_per_dim": bpd / max(count, 1), "count": count}, f)
