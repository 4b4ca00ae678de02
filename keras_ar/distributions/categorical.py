"""Categorical head: `num_levels` logits per dimension."""

import keras
from keras import ops

from keras_ar.distributions.distribution_head import DistributionHead
from keras_ar.distributions.distribution_head import check_temperature
from keras_ar.utils.tfp import tfp_distributions


@keras.saving.register_keras_serializable(package="keras_ar")
class Categorical(DistributionHead):
    """Values 0..num_levels-1 with p(x = k) = softmax(logits)_k.

    Args:
        num_levels: int. The number of values a dimension takes (>= 2).

    Example:

    >>> head = Categorical(num_levels=4)
    >>> tuple(head.log_prob(keras.ops.zeros((2, 4)), keras.ops.ones((2,))).shape)
    (2,)
    """

    def __init__(self, num_levels):
        if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(f"`num_levels` must be an int >= 2. Received: num_levels={num_levels}")
        self.num_levels = num_levels

    @property
    def num_params(self):
        return self.num_levels

    def log_prob(self, params, x):
        log_probs = ops.log_softmax(params, axis=-1)  # log-sum-exp form, stable for any logits
        # clipped: a value outside the support scores NaN (the guard), never an index error (torch)
        index = ops.clip(ops.cast(x, "int32"), 0, self.num_levels - 1)
        onehot = ops.one_hot(index, self.num_levels, dtype=log_probs.dtype)
        return self.guard_support(ops.sum(onehot * log_probs, axis=-1), x)

    def sample(self, params, seed, temperature=1.0):
        check_temperature(temperature)
        return gumbel_argmax(ops.convert_to_tensor(params) / temperature, seed)

    def to_tfp(self, params, x=None):
        tfd = tfp_distributions()
        return tfd.Categorical(logits=params, dtype="float32")

    def get_config(self):
        return {"num_levels": self.num_levels}


def gumbel_argmax(logits, seed):
    """Index drawn from softmax(logits) over the last axis (Gumbel-max), as float32."""
    u = keras.random.uniform(ops.shape(logits), minval=1e-7, maxval=1.0 - 1e-7, seed=seed)
    return ops.cast(ops.argmax(logits - ops.log(-ops.log(u)), axis=-1), "float32")
