"""Gaussian mixture head: real values, K weighted Normal components per dimension."""

import math

import keras
from keras import ops

from keras_ar.distributions.distribution_head import DistributionHead
from keras_ar.distributions.distribution_head import check_temperature


@keras.saving.register_keras_serializable(package="keras_ar")
class GaussianMixture(DistributionHead):
    """Real values with p(x) = sum_k softmax(logits)_k N(x; mean_k, scale_k^2).

    The `3 * num_components` parameters of a dimension are laid out
    `[logits (K) | means (K) | raw log scales (K)]`, and
    `scale = exp(maximum(raw, min_log_scale))`.

    Args:
        num_components: int. The number of mixture components K (>= 1).
        min_log_scale: float. The lower bound of the log scales; keeps the
            density bounded. Defaults to -7.0.

    Example:

    >>> head = GaussianMixture(num_components=2)
    >>> tuple(head.log_prob(keras.ops.zeros((4, 6)), keras.ops.zeros((4,))).shape)
    (4,)

    Reference:
        [Uria et al., 2013. RNADE: The real-valued neural autoregressive
        density-estimator](https://arxiv.org/abs/1306.0186)
    """

    def __init__(self, num_components, min_log_scale=-7.0):
        if isinstance(num_components, bool) or not isinstance(num_components, int) or num_components < 1:
            raise ValueError(
                f"`num_components` must be an int >= 1. Received: num_components={num_components}"
            )
        if isinstance(min_log_scale, bool) or not isinstance(min_log_scale, (int, float)):
            raise ValueError(f"`min_log_scale` must be a float. Received: min_log_scale={min_log_scale!r}")
        self.num_components = num_components
        self.min_log_scale = float(min_log_scale)

    @property
    def num_params(self):
        return 3 * self.num_components

    def _split(self, params):
        k = self.num_components
        logits, means, raw = params[..., :k], params[..., k : 2 * k], params[..., 2 * k :]
        return logits, means, ops.maximum(raw, self.min_log_scale)

    def log_prob(self, params, x):
        params = ops.convert_to_tensor(params)
        logits, means, log_scales = self._split(params)
        # (x - mean) / scale, not x / scale - mean / scale: no cancellation when the scale is tiny.
        z = (ops.expand_dims(ops.cast(x, params.dtype), -1) - means) * ops.exp(-log_scales)
        log_normal = -0.5 * ops.square(z) - log_scales - 0.5 * math.log(2.0 * math.pi)
        return ops.logsumexp(ops.log_softmax(logits, axis=-1) + log_normal, axis=-1)

    def sample(self, params, seed, temperature=1.0):
        check_temperature(temperature)
        params = ops.convert_to_tensor(params)
        logits, means, log_scales = self._split(params)
        k = self.num_components
        # One draw for everything: an int seed or a `TensorSeed` gives the same numbers on every
        # call, so two calls would correlate the component choice with the noise.
        u = keras.random.uniform(
            ops.shape(params)[:-1] + (k + 2,), minval=1e-7, maxval=1.0 - 1e-7, seed=seed, dtype=params.dtype
        )
        component = ops.argmax(logits / temperature - ops.log(-ops.log(u[..., :k])), axis=-1)  # Gumbel-max
        onehot = ops.one_hot(component, k, dtype=params.dtype)
        mean = ops.sum(onehot * means, axis=-1)
        scale = ops.exp(ops.sum(onehot * log_scales, axis=-1))
        # Box-Muller: a standard normal from two uniforms.
        normal = ops.sqrt(-2.0 * ops.log(u[..., k])) * ops.cos(2.0 * math.pi * u[..., k + 1])
        return ops.cast(mean + temperature * scale * normal, "float32")

    def to_tfp(self, params, x=None):
        from keras_ar.utils.tfp import tfp_distributions

        tfd = tfp_distributions()
        params = ops.convert_to_tensor(params)
        logits, means, log_scales = self._split(params)
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=logits), tfd.Normal(loc=means, scale=ops.exp(log_scales))
        )

    def get_config(self):
        return {"num_components": self.num_components, "min_log_scale": self.min_log_scale}
