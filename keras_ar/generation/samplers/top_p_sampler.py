"""TopPSampler: nucleus sampling, among the most probable levels that hold probability p."""

import keras
from keras import ops

from keras_ar.generation.samplers.sampler import Sampler
from keras_ar.generation.samplers.sampler import check_number
from keras_ar.generation.samplers.sampler import draw_level
from keras_ar.generation.samplers.sampler import level_log_probs


@keras.saving.register_keras_serializable(package="keras_ar")
class TopPSampler(Sampler):
    """Nucleus sampling: draw among the fewest most probable levels whose probability reaches `p`.

    The logits are divided by `temperature` first; the levels are ranked by probability and
    kept until their sum reaches `p` (the most probable is always kept; levels tied with the
    last one kept are kept too), then renormalised. `p` is fed to the compiled loop as a
    tensor. Discrete heads of one channel (Categorical, Bernoulli, one-channel
    DiscretizedLogisticMixture).

    Args:
        p: float in (0, 1]. The probability mass to keep. Defaults to 0.9.
        temperature: float > 0. Defaults to 1.0.

    Example:

    >>> model = keras_ar.models.FVSBN(input_shape=(4,))
    >>> tuple(model.sample(3, seed=0, sampler=TopPSampler(p=0.5)).shape)
    (3, 4)

    Reference:
        Holtzman et al., "The Curious Case of Neural Text Degeneration", 2020.
    """

    tensor_names = ("p", "temperature")

    def __init__(self, p=0.9, temperature=1.0):
        self.p = check_number(p, "p", 0.0, high=1.0)
        self.temperature = check_number(temperature, "temperature", 0.0)

    def sample(self, head, params, seed):
        logits = level_log_probs(head, params, self) / self.temperature
        probs = ops.softmax(logits, axis=-1)
        ranked = ops.flip(ops.sort(probs, axis=-1), axis=-1)  # most probable first
        before = ops.cumsum(ranked, axis=-1) - ranked  # the mass of the levels ranked above each
        kept = ops.sum(ops.cast(before < self.p, "int32"), axis=-1, keepdims=True)  # >= 1
        last = ops.take_along_axis(ranked, ops.maximum(kept, 1) - 1, axis=-1)
        return draw_level(logits, probs >= last, seed)

    def get_config(self):
        return {"p": self.p, "temperature": self.temperature}
