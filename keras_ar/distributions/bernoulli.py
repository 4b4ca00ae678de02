"""Bernoulli head: one logit per dimension."""

import keras
from keras import ops

from keras_ar.distributions.distribution_head import DistributionHead
from keras_ar.distributions.distribution_head import check_temperature
from keras_ar.utils.tfp import tfp_distributions


@keras.saving.register_keras_serializable(package="keras_ar")
class Bernoulli(DistributionHead):
    """Binary values {0, 1} with p(x = 1) = sigmoid(logit).

    Example:

    >>> head = Bernoulli()
    >>> tuple(head.log_prob(keras.ops.zeros((2, 1)), keras.ops.ones((2,))).shape)
    (2,)
    """

    num_levels = 2

    @property
    def num_params(self):
        return 1

    def log_prob(self, params, x):
        logits = params[..., 0]
        x = ops.cast(x, logits.dtype)
        # log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l): exact for |l| large.
        return self.guard_support(-x * ops.softplus(-logits) - (1.0 - x) * ops.softplus(logits), x)

    def sample(self, params, seed, temperature=1.0):
        check_temperature(temperature)
        logits = ops.convert_to_tensor(params)[..., 0] / temperature
        u = keras.random.uniform(ops.shape(logits), minval=1e-7, maxval=1.0 - 1e-7, seed=seed)
        # x = 1 iff u < sigmoid(l)  <=>  logit(u) < l
        return ops.cast(ops.less(ops.log(u) - ops.log1p(-u), logits), "float32")

    def to_tfp(self, params, x=None):
        tfd = tfp_distributions()
        return tfd.Bernoulli(logits=params[..., 0], dtype="float32")
