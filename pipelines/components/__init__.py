"""The components: ExampleGen -> Transform -> Trainer -> Evaluator -> Pusher; Scorer."""

from pipelines.components.evaluator import Evaluator
from pipelines.components.example_gen import ExampleGen
from pipelines.components.pusher import Pusher
from pipelines.components.scorer import Scorer
from pipelines.components.trainer import Trainer
from pipelines.components.transform import Transform

COMPONENTS = {c.__name__: c for c in (ExampleGen, Transform, Trainer, Evaluator, Pusher, Scorer)}

__all__ = ["COMPONENTS", "Evaluator", "ExampleGen", "Pusher", "Scorer", "Trainer", "Transform"]
