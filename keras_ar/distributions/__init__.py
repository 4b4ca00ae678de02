"""keras_ar.distributions: output heads, the maths of one conditional each."""

from keras_ar.distributions.bernoulli import Bernoulli
from keras_ar.distributions.categorical import Categorical
from keras_ar.distributions.discretized_logistic_mixture import DiscretizedLogisticMixture
from keras_ar.distributions.distribution_head import DistributionHead
from keras_ar.distributions.gaussian_mixture import GaussianMixture

_NAMES = ("bernoulli", "categorical", "gaussian_mixture", "logistic_mixture")


def get(identifier, num_levels=None, num_components=None, color_channels=1):
    """A head from a name (`"bernoulli"`, `"categorical"`, `"gaussian_mixture"`, `"logistic_mixture"`).

    Args:
        identifier: str or `DistributionHead`. A head is returned as it is.
        num_levels: int. Levels of a discrete head (`categorical`, `logistic_mixture`).
        num_components: int. Mixture components (`gaussian_mixture`, `logistic_mixture`).
        color_channels: int. With 3, `logistic_mixture` couples R -> G -> B inside a pixel
            as in PixelCNN++ (one head per pixel, `event_size` 3).
    """
    if isinstance(identifier, DistributionHead):
        return identifier
    if identifier == "bernoulli":
        if num_levels not in (None, 2):
            raise ValueError(f"`bernoulli` has 2 levels. Received: num_levels={num_levels}")
        return Bernoulli()
    if identifier == "categorical":
        if num_levels is None:
            raise ValueError("`distribution='categorical'` needs `num_levels`. Received: num_levels=None")
        return Categorical(num_levels)
    if identifier == "gaussian_mixture":
        return GaussianMixture(1 if num_components is None else num_components)
    if identifier == "logistic_mixture":
        if num_levels is None:
            raise ValueError("`distribution='logistic_mixture'` needs `num_levels`. Received: num_levels=None")
        return DiscretizedLogisticMixture(
            5 if num_components is None else num_components, num_levels, coupled=color_channels == 3
        )
    raise ValueError(f"`distribution` must be one of {_NAMES} or a DistributionHead. Received: {identifier!r}")


__all__ = [
    "Bernoulli",
    "Categorical",
    "DiscretizedLogisticMixture",
    "DistributionHead",
    "GaussianMixture",
    "get",
]
