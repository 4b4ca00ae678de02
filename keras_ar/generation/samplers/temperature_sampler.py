"""TemperatureSampler: draw from every conditional with its logits divided by a temperature."""

import keras

from keras_ar.generation.samplers.sampler import Sampler
from keras_ar.generation.samplers.sampler import check_number


@keras.saving.register_keras_serializable(package="keras_ar")
class TemperatureSampler(Sampler):
    """Ancestral sampling at a temperature: the head's own `sample(params, seed, temperature)`.

    The default sampler. `temperature=1` draws from the model's distribution exactly; below 1
    it sharpens every conditional (logits divided by it, scales of mixtures multiplied by it),
    above 1 it flattens them. It works for every head.

    Args:
        temperature: float > 0. Defaults to 1.0.

    Example:

    >>> model = keras_ar.models.FVSBN(input_shape=(4,))
    >>> tuple(model.sample(3, seed=0, sampler=TemperatureSampler(0.5)).shape)
    (3, 4)
    """

    tensor_names = ("temperature",)

    def __init__(self, temperature=1.0):
        self.temperature = check_number(temperature, "temperature", 0.0)

    def sample(self, head, params, seed):
        return head.sample(params, seed, self.temperature)

    def get_config(self):
        return {"temperature": self.temperature}
