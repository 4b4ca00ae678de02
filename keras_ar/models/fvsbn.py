"""FVSBN: one logistic (or softmax) regression per dimension on the dimensions before it."""

import keras
import numpy as np
from keras import ops

from keras_ar.layers import degrees
from keras_ar.layers.masked_dense import MaskedDense
from keras_ar.models.autoregressive_model import AutoregressiveModel


@keras.saving.register_keras_serializable(package="keras_ar")
class FVSBN(AutoregressiveModel):
    """Fully visible sigmoid belief network: p(x_i | x_<i) = head(b_i + W_i x_<i).

    A single strictly lower-triangular `MaskedDense` layer from the (scaled) inputs to the
    head parameters. With a categorical head each dimension gets a softmax regression.

    Args:
        input_shape: tuple of ints. The event shape.
        distribution: `"bernoulli"` (default), `"categorical"`, `"gaussian_mixture"` or
            `"logistic_mixture"` (uncoupled).
        ordering: `"left_to_right"`, `"random"` or a permutation of the flattened dimensions.
        seed: int. Seed of a random ordering.
        **kwargs: `num_levels`, `num_components`, `num_classes`, `condition_shape`, `name`,
            as in `AutoregressiveModel`.

    Example:

    >>> model = FVSBN(input_shape=(4,))
    >>> tuple(model.log_prob(np.zeros((2, 4), "int32")).shape)
    (2,)

    Reference:
        Frey, "Graphical Models for Machine Learning and Digital Communication", 1998;
        Neal, "Connectionist learning of belief networks", 1992.
    """

    def __init__(self, input_shape, distribution="bernoulli", ordering="left_to_right", seed=0, **kwargs):
        super().__init__(input_shape, distribution=distribution, **kwargs)
        if self.head.event_size != 1:
            raise ValueError(f"FVSBN needs a head with event_size 1. Received: {self.head!r}")
        # === Layers ===
        self.order = degrees.resolve_ordering(ordering, self.num_dims, seed)
        in_deg = degrees.input_degrees(self.order)
        self.regression = MaskedDense(
            self.num_dims * self.head.num_params,
            input_degrees=in_deg,
            output_degrees=degrees.output_degrees(in_deg, self.head.num_params),
            strict=True,
            condition_size=self.condition_size,
            kernel_initializer="zeros",
            name="regression",
        )
        # === Config ===
        self.ordering_arg = ordering if isinstance(ordering, str) else [int(i) for i in np.asarray(ordering)]
        self.seed = seed
        self.build()

    def compute_params(self, x, condition=None, training=False):
        h = ops.reshape(self.head.scale_inputs(x), (-1, self.num_dims))
        params = self.regression(h, condition=condition)
        return ops.reshape(params, (-1,) + self.event_shape + (self.head.num_params,))

    def group_ordering(self):
        return self.order

    def get_config(self):
        config = super().get_config()
        config.update({"ordering": self.ordering_arg, "seed": self.seed})
        return config
