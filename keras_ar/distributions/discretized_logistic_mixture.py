"""Discretized logistic mixture head (PixelCNN++), optionally coupling R -> G -> B in a pixel."""

import math

import keras
from keras import ops

from keras_ar.distributions.distribution_head import DistributionHead
from keras_ar.distributions.distribution_head import check_temperature


@keras.saving.register_keras_serializable(package="keras_ar")
class DiscretizedLogisticMixture(DistributionHead):
    """Levels 0..L-1 from a mixture of K logistics binned on [-1, 1], as in PixelCNN++.

    A level x is rescaled to v = 2x/(L-1) - 1 and gets the mass of its bin
    v ± 1/(L-1); the lowest level takes all the mass below its upper edge and the
    highest all the mass above its lower edge.

    Uncoupled (`event_size` 1), a dimension has `3K` parameters
    `[logits (K) | means (K) | raw log scales (K)]`. Coupled (`event_size` 3, one
    RGB pixel), a pixel has `10K` parameters `[logits (K) | means (3, K) |
    raw log scales (3, K) | raw coeffs (3, K)]`, shared component, and with
    c = tanh(raw coeffs) the G mean is `mu_g + c0 v_r` and the B mean is
    `mu_b + c1 v_r + c2 v_g` (v: the rescaled data). `log_prob` then returns the
    per-channel conditionals log p(r), log p(g | r), log p(b | r, g).
    Scales are `exp(maximum(raw, min_log_scale))`.

    Args:
        num_components: int. The number of mixture components K (>= 1).
        num_levels: int. The number of levels L (>= 2).
        coupled: bool. Couple the 3 channels of a pixel. Defaults to False.
        min_log_scale: float. Lower bound of the log scales. Defaults to -7.0.

    Example:

    >>> head = DiscretizedLogisticMixture(num_components=5, num_levels=256, coupled=True)
    >>> tuple(head.log_prob(keras.ops.zeros((2, 50)), keras.ops.ones((2, 3))).shape)
    (2, 3)

    Reference:
        [Salimans et al., 2017. PixelCNN++: Improving the PixelCNN with discretized
        logistic mixture likelihood and other modifications](https://arxiv.org/abs/1701.05517)
    """

    def __init__(self, num_components, num_levels, coupled=False, min_log_scale=-7.0):
        if isinstance(num_components, bool) or not isinstance(num_components, int) or num_components < 1:
            raise ValueError(
                f"`num_components` must be an int >= 1. Received: num_components={num_components}"
            )
        if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(f"`num_levels` must be an int >= 2. Received: num_levels={num_levels}")
        if not isinstance(coupled, bool):
            raise ValueError(f"`coupled` must be a bool. Received: coupled={coupled!r}")
        if isinstance(min_log_scale, bool) or not isinstance(min_log_scale, (int, float)):
            raise ValueError(f"`min_log_scale` must be a float. Received: min_log_scale={min_log_scale!r}")
        self.num_components = num_components
        self.num_levels = num_levels
        self.coupled = coupled
        self.min_log_scale = float(min_log_scale)
        self.event_size = 3 if coupled else 1

    @property
    def num_params(self):
        return (10 if self.coupled else 3) * self.num_components

    def _split(self, params):
        """logits [..., K]; means, log scales, coeffs [..., C, K] (C = 3 coupled, else 1; coeffs None)."""
        k, c = self.num_components, self.event_size
        shape = ops.shape(params)[:-1] + (c, k)
        means = ops.reshape(params[..., k : k + c * k], shape)
        raw_log_scales = ops.reshape(params[..., k + c * k : k + 2 * c * k], shape)
        log_scales = ops.maximum(raw_log_scales, self.min_log_scale)
        coeffs = ops.tanh(ops.reshape(params[..., k + 2 * c * k :], shape)) if self.coupled else None
        return params[..., :k], means, log_scales, coeffs

    def _rescale(self, x):
        return 2.0 * x / (self.num_levels - 1) - 1.0

    def _coupled_means(self, means, coeffs, v):
        """Means [..., 3, K] with G and B shifted by the rescaled values `v` [..., 3] of R and G."""
        v_r, v_g = v[..., 0:1], v[..., 1:2]
        mu_g = means[..., 1, :] + coeffs[..., 0, :] * v_r
        mu_b = means[..., 2, :] + coeffs[..., 1, :] * v_r + coeffs[..., 2, :] * v_g
        return ops.stack([means[..., 0, :], mu_g, mu_b], axis=-2)

    def _log_bin_prob(self, x, means, log_scales):
        """log P(level x) of each logistic component, all of shape [..., C, K]."""
        inv_s = ops.exp(-log_scales)
        half = 1.0 / (self.num_levels - 1)
        centered = self._rescale(x) - means
        a, b = (centered - half) * inv_s, (centered + half) * inv_s  # the bin's edges, standardized
        # log(sigmoid(b) - sigmoid(a)) = log sigmoid(b) + log(1 - sigmoid(a)) + log(1 - e^-(b - a)),
        # exact in the tails; the width w = b - a = 2 half / s is formed directly, not by cancellation,
        # and below 1e-2 log(1 - e^-w) is its series log w - w/2 + w^2/24 (error < 1e-11), which keeps
        # a finite gradient where w underflows (huge scales).
        log_w = math.log(2.0 * half) - log_scales
        w = ops.exp(log_w)
        log1mexp = ops.where(
            w < 1e-2, log_w - w / 2.0 + ops.square(w) / 24.0, ops.log(-ops.expm1(-ops.maximum(w, 1e-2)))
        )
        middle = -ops.softplus(-b) - ops.softplus(a) + log1mexp
        lowest, highest = -ops.softplus(-b), -ops.softplus(a)  # log F(b), log(1 - F(a))
        return ops.where(x < 0.5, lowest, ops.where(x > self.num_levels - 1.5, highest, middle))

    def log_prob(self, params, x):
        params = ops.convert_to_tensor(params)
        logits, means, log_scales, coeffs = self._split(params)
        x = ops.cast(x, params.dtype)
        log_weights = ops.log_softmax(logits, axis=-1)
        if not self.coupled:
            bins = self._log_bin_prob(ops.expand_dims(ops.expand_dims(x, -1), -1), means, log_scales)
            return self.guard_support(ops.logsumexp(log_weights + bins[..., 0, :], axis=-1), x)
        means = self._coupled_means(means, coeffs, self._rescale(x))
        bins = self._log_bin_prob(ops.expand_dims(x, -1), means, log_scales)  # [..., 3, K]
        # log p(x_c | x_<c) = LSE_k(log p(k | x_<c) + l_c,k): the component posteriors given the
        # earlier channels, rather than differences of joint log-probabilities (which cancel).
        l_r, l_g = bins[..., 0, :], bins[..., 1, :]
        before = ops.stack([ops.zeros_like(l_r), l_r, l_r + l_g], axis=-2)
        posterior = ops.log_softmax(ops.expand_dims(log_weights, -2) + before, axis=-1)
        return self.guard_support(ops.logsumexp(posterior + bins, axis=-1), x)

    def sample(self, params, seed, temperature=1.0):
        check_temperature(temperature)
        params = ops.convert_to_tensor(params)
        logits, means, log_scales, coeffs = self._split(params)
        k, c = self.num_components, self.event_size
        # One draw (an int seed or a `TensorSeed` repeats its numbers on every call).
        u = keras.random.uniform(
            ops.shape(params)[:-1] + (k + c,), minval=1e-7, maxval=1.0 - 1e-7, seed=seed, dtype=params.dtype
        )
        component = ops.argmax(logits / temperature - ops.log(-ops.log(u[..., :k])), axis=-1)  # Gumbel-max
        onehot = ops.expand_dims(ops.one_hot(component, k, dtype=params.dtype), -2)
        mean, log_scale = ops.sum(onehot * means, axis=-1), ops.sum(onehot * log_scales, axis=-1)
        noise = temperature * ops.exp(log_scale) * (ops.log(u[..., k:]) - ops.log1p(-u[..., k:]))
        top = self.num_levels - 1

        def level(y):  # the level whose bin holds y: exactly the discretized distribution
            return ops.clip(ops.round((y + 1.0) * top / 2.0), 0.0, float(top))

        if not self.coupled:
            return ops.cast(level(mean + noise)[..., 0], "float32")
        coeff = ops.sum(onehot * coeffs, axis=-1)
        # R first, then G and B with means coupled on the sampled levels, as `log_prob` scores them.
        r = level(mean[..., 0] + noise[..., 0])
        v_r = self._rescale(r)
        g = level(mean[..., 1] + coeff[..., 0] * v_r + noise[..., 1])
        b = level(mean[..., 2] + coeff[..., 1] * v_r + coeff[..., 2] * self._rescale(g) + noise[..., 2])
        return ops.cast(ops.stack([r, g, b], axis=-1), "float32")

    def to_tfp(self, params, x=None):
        """A `MixtureSameFamily` of quantized logistics in level units (teacher-forced on `x` if coupled)."""
        from keras_ar.utils.tfp import tfp_distributions

        if self.coupled and x is None:  # checked before TFP loads
            raise ValueError("A coupled `DiscretizedLogisticMixture` needs `x` in `to_tfp`. Received: x=None")
        tfd = tfp_distributions()
        params = ops.convert_to_tensor(params)
        logits, means, log_scales, coeffs = self._split(params)
        if self.coupled:
            means = self._coupled_means(means, coeffs, self._rescale(ops.cast(x, params.dtype)))
        top = self.num_levels - 1
        # v = 2y/(L-1) - 1 in level units y; QuantizedDistribution gives P(Y = y) = F(y) - F(y - 1),
        # so the logistic is shifted by -1/2 to put the bin of y at [y - 1/2, y + 1/2].
        loc = ops.swapaxes((means + 1.0) * (top / 2.0) - 0.5, -1, -2)  # [..., K, C]
        scale = ops.swapaxes(ops.exp(log_scales) * (top / 2.0), -1, -2)
        if not self.coupled:
            loc, scale = loc[..., 0], scale[..., 0]
        component = tfd.QuantizedDistribution(tfd.Logistic(loc, scale), low=0.0, high=float(top))
        if self.coupled:
            component = tfd.Independent(component, reinterpreted_batch_ndims=1)
        return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), component)

    def get_config(self):
        return {
            "num_components": self.num_components,
            "num_levels": self.num_levels,
            "coupled": self.coupled,
            "min_log_scale": self.min_log_scale,
        }
