"""`ScoreExamples`: TFRecord files -> per-example log-likelihood and bits/dim (Beam RunInference)."""

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import KeyedModelHandler
from apache_beam.ml.inference.base import RunInference

from pipelines import examples
from pipelines.model_handler import SavedModelHandler


class ScoreExamples(beam.PTransform):
    """A PCollection of TFRecord file names -> dicts `{id, label, log_prob, bits_per_dim}`.

    Args:
        model_uri: str. A keras_ar SavedModel.
        per_dimension: bool. Also give `conditional_log_probs` (the per-dimension map, nested lists).
        max_batch_size: int. Largest batch RunInference forms.
    """

    def __init__(self, model_uri, per_dimension=False, max_batch_size=256):
        super().__init__()
        self.model_uri = model_uri
        self.per_dimension = per_dimension
        self.max_batch_size = max_batch_size

    def expand(self, files):
        decoded = (
            files
            | "Read" >> beam.FlatMap(examples.read_file)
            | "Decode" >> beam.Map(examples.decode)
        )
        keyed = decoded | "Key" >> beam.Map(lambda e: ((e[0], e[2]), e[1]))
        handler = SavedModelHandler(self.model_uri, max_batch_size=self.max_batch_size)
        scores = (
            keyed
            | "LogProb" >> RunInference(KeyedModelHandler(handler))
            | "ToDict" >> beam.Map(_to_dict)
        )
        if not self.per_dimension:
            return scores
        maps = (
            keyed
            | "PerDimension" >> RunInference(
                KeyedModelHandler(SavedModelHandler(self.model_uri, "conditional_log_probs", max_batch_size=self.max_batch_size))
            )
            | "MapToDict" >> beam.Map(lambda kv: (kv[0][0], np.asarray(kv[1].inference["conditional_log_probs"]).tolist()))
        )
        return (
            {"scores": scores | "ById" >> beam.Map(lambda d: (d["id"], d)), "maps": maps}
            | "Join" >> beam.CoGroupByKey()
            | "Merge" >> beam.Map(lambda kv: dict(kv[1]["scores"][0], conditional_log_probs=kv[1]["maps"][0]))
        )


def _to_dict(kv):
    (example_id, label), result = kv
    return {
        "id": example_id,
        "label": int(label),
        "log_prob": float(result.inference["log_prob"]),
        "bits_per_dim": float(result.inference["bits_per_dim"]),
    }
