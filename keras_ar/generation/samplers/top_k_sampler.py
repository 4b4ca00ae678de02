"""TopKSampler: draw among the k most probable levels of every conditional."""

import keras
from keras import ops

from keras_ar.generation.samplers.sampler import Sampler
from keras_ar.generation.samplers.sampler import check_number
from keras_ar.generation.samplers.sampler import draw_level
from keras_ar.generation.samplers.sampler import level_log_probs


@keras.saving.register_keras_serializable(package="keras_ar")
class TopKSampler(Sampler):
    """Draw each value among the `k` most probable levels of its conditional, renormalised.

    The logits are divided by `temperature` first. Levels tied with the k-th most probable
    are kept too; `k` at or above the number of levels keeps them all. `k` is fed to the
    compiled loop as a tensor: another `k` compiles nothing new. Discrete heads of one
    channel (Categorical, Bernoulli, one-channel DiscretizedLogisticMixture).

    Args:
        k: int >= 1. How many levels to keep. Defaults to 5.
        temperature: float > 0. Defaults to 1.0.

    Example:

    >>> model = keras_ar.models.WaveNet(input_shape=(8,), num_levels=16, residual_channels=4,
    ...     dilation_channels=4, skip_channels=4, num_layers_per_stack=2, num_stacks=1)
    >>> tuple(model.sample(2, seed=0, sampler=TopKSampler(k=3)).shape)
    (2, 8)
    """

    tensor_names = ("k", "temperature")
    _int_tensors = ("k",)

    def __init__(self, k=5, temperature=1.0):
        self.k = check_number(k, "k", 1, integer=True)
        self.temperature = check_number(temperature, "temperature", 0.0)

    def sample(self, head, params, seed):
        logits = level_log_probs(head, params, self) / self.temperature
        levels = logits.shape[-1]
        ranked = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # most probable first
        k = ops.clip(ops.convert_to_tensor(self.k, "int32"), 1, levels)
        kth = ops.take(ranked, k - 1, axis=-1)
        return draw_level(logits, logits >= ops.expand_dims(kth, -1), seed)

    def get_config(self):
        return {"k": self.k, "temperature": self.temperature}
