"""A Beam `ModelHandler` over `tf.saved_model.load` and keras_ar's exported signatures.

Beam's stock `TFModelHandlerTensor` loads with `tf.keras.models.load_model`, which under Keras 3
refuses a raw SavedModel (and imports `tensorflow_hub`); this handler needs TensorFlow only.
"""

from typing import Any
from typing import Iterable
from typing import Optional
from typing import Sequence

import numpy as np
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.ml.inference.base import PredictionResult


class SavedModelHandler(ModelHandler):
    """Runs one signature of a keras_ar SavedModel on batches of examples.

    Args:
        model_uri: str. A SavedModel directory (`saved_models/<name>/<version>`).
        signature: str. `"log_prob"` (default; outputs `log_prob` and `bits_per_dim`) or
            `"conditional_log_probs"` (per-dimension maps).
        min_batch_size, max_batch_size: int. How RunInference batches elements.

    Example:

    ```python
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
    scores = keyed_images | RunInference(KeyedModelHandler(SavedModelHandler("saved_models/digits/1")))
    ```
    """

    def __init__(self, model_uri, signature="log_prob", min_batch_size=32, max_batch_size=256):
        super().__init__()
        self._model_uri = model_uri
        self._signature = signature
        self._batch = {"min_batch_size": min_batch_size, "max_batch_size": max_batch_size}

    def load_model(self):
        import tensorflow as tf

        loaded = tf.saved_model.load(self._model_uri)
        if self._signature not in loaded.signatures:
            raise ValueError(
                f"`signature` must be one of {sorted(loaded.signatures)}. Received: signature={self._signature!r}"
            )
        return loaded

    def run_inference(
        self, batch: Sequence[np.ndarray], model: Any, inference_args: Optional[dict] = None
    ) -> Iterable[PredictionResult]:
        import tensorflow as tf

        x = tf.constant(np.stack([np.asarray(e, "float32") for e in batch]))
        outputs = model.signatures[self._signature](x=x)
        outputs = {k: v.numpy() for k, v in outputs.items()}
        for i, example in enumerate(batch):
            yield PredictionResult(example, {k: v[i] for k, v in outputs.items()}, self._model_uri)

    def batch_elements_kwargs(self):
        return dict(self._batch)

    def get_num_bytes(self, batch):
        return sum(np.asarray(e).nbytes for e in batch)
