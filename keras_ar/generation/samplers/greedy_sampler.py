"""GreedySampler: the most probable level of every conditional."""

import keras
from keras import ops

from keras_ar.generation.samplers.sampler import Sampler
from keras_ar.generation.samplers.sampler import level_log_probs


@keras.saving.register_keras_serializable(package="keras_ar")
class GreedySampler(Sampler):
    """Take the most probable level of each conditional in turn (no randomness; ties: the lowest).

    Greedy decoding, one group at a time: the result is not the most probable event, only
    the chain of locally most probable choices. Discrete heads of one channel (Categorical,
    Bernoulli, one-channel DiscretizedLogisticMixture).

    Example:

    >>> model = keras_ar.models.FVSBN(input_shape=(4,))
    >>> a = model.sample(2, seed=0, sampler=GreedySampler())
    >>> b = model.sample(2, seed=1, sampler="greedy")
    >>> bool(np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)))
    True
    """

    def sample(self, head, params, seed):
        return ops.cast(ops.argmax(level_log_probs(head, params, self), axis=-1), "float32")
