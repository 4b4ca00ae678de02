"""Base class of the output heads: the maths of one conditional p(x_i | x_<i)."""

import keras
import numpy as np
from keras import ops


class DistributionHead:
    """The distribution of one dimension (or one coupled group of dimensions) given its parameters.

    A model's teacher-forced pass produces `num_params` numbers for every group of
    `event_size` dimensions (`event_size` is 1 except for heads that couple the
    channels of a pixel); a head turns them into log-probabilities and samples,
    written once with `keras.ops` in numerically stable forms, and into the equal
    TFP distribution.

    Subclasses set `num_params`, `event_size`, `num_levels` (None when the head is
    real-valued) and implement `log_prob`, `sample` and `to_tfp`.
    """

    event_size = 1
    num_levels = None

    @property
    def is_discrete(self):
        return self.num_levels is not None

    @property
    def num_params(self):
        raise NotImplementedError

    def log_prob(self, params, x):
        """log p(x | params). `params`: [..., num_params]; `x`: [...] (or [..., event_size]).

        Returns a tensor of the shape of `x`: one log-probability per dimension.
        """
        raise NotImplementedError

    def sample(self, params, seed, temperature=1.0):
        """Draw `x` from `params` ([..., num_params]); returns float32 of shape [...] or [..., event_size]."""
        raise NotImplementedError

    def to_tfp(self, params, x=None):
        """The equal TFP distribution, batch shape `params.shape[:-1]`.

        `x` is only needed by heads whose parameters depend on the value being scored
        (channel coupling); the result is then the teacher-forced conditional.
        """
        raise NotImplementedError

    def guard_support(self, log_prob, x):
        """NaN wherever `x` is not a level 0..num_levels-1 (discrete heads), `log_prob` elsewhere.

        Eager inputs are checked at the door with a `ValueError`; inside compiled training
        steps (batches after the first of a dataset) a value outside the support must not
        score a silently wrong, finite log-probability: it makes the loss NaN instead.
        """
        if self.num_levels is None:
            return log_prob
        x = ops.cast(x, log_prob.dtype)
        bad = ops.logical_or(ops.logical_or(x < 0.0, x > self.num_levels - 1.0), ops.not_equal(x, ops.round(x)))
        return ops.where(bad, float("nan"), log_prob)

    def scale_inputs(self, x):
        """Float network input from data: discrete levels -> [0, 1], real values unchanged."""
        x = ops.cast(x, "float32")
        if self.num_levels is None:
            return x
        return x / float(self.num_levels - 1)

    def check_values(self, x, name="x"):
        """Raise `ValueError` unless the NumPy array `x` lies in the support of this head.

        Discrete heads take integer, boolean or integer-valued float arrays with values
        in `0..num_levels-1`; real-valued heads take finite float arrays. Nothing is cast.
        """
        x = np.asarray(x)
        kind = x.dtype.kind
        if self.num_levels is None:
            if kind != "f":
                raise ValueError(
                    f"`{name}` must be a float array for a real-valued `{type(self).__name__}` head "
                    f"(dequantize integer data first). Received: dtype={x.dtype}"
                )
            if not np.all(np.isfinite(x)):
                raise ValueError(f"`{name}` contains NaN or inf values.")
            return
        if kind not in "biuf":
            raise ValueError(
                f"`{name}` must hold integer levels 0..{self.num_levels - 1}. Received: dtype={x.dtype}"
            )
        if kind == "f":
            if not np.all(np.isfinite(x)):
                raise ValueError(f"`{name}` contains NaN or inf values.")
            if not np.all(x == np.round(x)):
                bad = x[x != np.round(x)].ravel()[0]
                raise ValueError(
                    f"`{name}` must hold integer levels 0..{self.num_levels - 1}; "
                    f"it holds non-integer values. Received a value of {bad}"
                )
        if x.size and (x.min() < 0 or x.max() > self.num_levels - 1):
            bad = x.min() if x.min() < 0 else x.max()
            raise ValueError(
                f"`{name}` values must lie in 0..{self.num_levels - 1} for `{type(self).__name__}` "
                f"with {self.num_levels} levels. Received a value of {bad}"
            )

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def check_temperature(temperature):
    if isinstance(temperature, (int, float)) and not temperature > 0:
        raise ValueError(f"`temperature` must be > 0. Received: temperature={temperature}")
