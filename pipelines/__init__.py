"""TFX-style batch pipelines for keras_ar on Apache Beam.

ExampleGen -> Transform -> Trainer -> Evaluator -> Pusher, and Scorer (batch inference), each
a component with typed artifacts on disk and a record per execution; `pipelines.runner` runs
them from a config file and reuses what has not changed. `python -m pipelines run CONFIG`.
"""

from pipelines.errors import PipelineError
from pipelines.fn_args import FnArgs
from pipelines.model_handler import SavedModelHandler
from pipelines.runner import load_config
from pipelines.runner import run_pipeline
from pipelines.scoring import ScoreExamples

__all__ = ["FnArgs", "PipelineError", "SavedModelHandler", "ScoreExamples", "load_config", "run_pipeline"]
