"""RNADE: NADE over real values, a mixture of Gaussians per conditional."""

import keras
from keras import ops

from keras_ar.models.nade import NADE


@keras.saving.register_keras_serializable(package="keras_ar")
class RNADE(NADE):
    """Real-valued NADE: p(x_i | x_<i) is a mixture of `num_components` Gaussians.

    The NADE running sum `a_i = c + sum_{j < i} W_{o_j} x_{o_j}` feeds, for each dimension,
    the mixture logits, means and log scales (`GaussianMixture` head) through
    `h_i = act(rho_i * a_i)`. The per-dimension scale `rho_i` (initialised to 1, learned)
    is the paper's rescaling of the activations, which keeps the hidden units of late
    dimensions (whose `a_i` sums many terms) out of saturation; `rescale_activations=False`
    drops it (`h_i = act(a_i)`, plain NADE). With `order_agnostic=True` the rescaling
    applies to the masked pre-activation of every output in the same way.

    Args:
        input_shape: tuple of ints. The event shape.
        num_components: int. Gaussian components per dimension. Defaults to 10.
        hidden_units: int. The number of hidden units. Defaults to 500.
        ordering: `"left_to_right"`, `"random"` or a permutation of the flattened dimensions.
        seed: int. Seed of a random ordering and of the order-agnostic training draws.
        order_agnostic: bool. Train over random orders with mask inputs (see `NADE`).
        activation: str or callable. The hidden activation. Defaults to `"sigmoid"`.
        rescale_activations: bool. Learn the per-dimension scales `rho`. Defaults to True.
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Call arguments:
        inputs: float `x`, `(x, condition)` or `{"x": ..., "condition": ...}`.
        condition: optional condition, when `inputs` is `x`.
        training: bool.

    Example:

    >>> model = RNADE(input_shape=(3,), num_components=2, hidden_units=8)
    >>> tuple(model.log_prob(np.zeros((2, 3), "float32")).shape)
    (2,)

    Reference:
        [Uria, Murray & Larochelle, 2013. RNADE: The real-valued neural autoregressive
        density-estimator](https://arxiv.org/abs/1306.0186)
    """

    def __init__(
        self,
        input_shape,
        num_components=10,
        hidden_units=500,
        ordering="left_to_right",
        seed=0,
        order_agnostic=False,
        activation="sigmoid",
        rescale_activations=True,
        **kwargs,
    ):
        if "distribution" in kwargs:
            raise ValueError(
                "RNADE always uses the 'gaussian_mixture' head; do not pass `distribution`. "
                f"Received: distribution={kwargs['distribution']!r}"
            )
        if not isinstance(rescale_activations, bool):
            raise ValueError(
                f"`rescale_activations` must be a bool. Received: rescale_activations={rescale_activations!r}"
            )
        if isinstance(num_components, bool) or not isinstance(num_components, int) or num_components < 1:
            raise ValueError(f"`num_components` must be a positive int. Received: num_components={num_components!r}")
        self._rescale = rescale_activations  # read by `build`, which `NADE.__init__` calls
        super().__init__(
            input_shape,
            distribution="gaussian_mixture",
            hidden_units=hidden_units,
            ordering=ordering,
            seed=seed,
            order_agnostic=order_agnostic,
            activation=activation,
            num_components=num_components,
            **kwargs,
        )
        # === Config ===
        self.rescale_activations = rescale_activations

    def build(self, input_shape=None):
        self.activation_scale = (
            self.add_weight(name="activation_scale", shape=(self.num_dims,), initializer="ones")
            if self._rescale
            else None
        )
        super().build(input_shape)

    def _hidden(self, a, dims):
        if self.activation_scale is not None:
            a = a * ops.expand_dims(ops.take(self.activation_scale, dims, axis=0), -1)
        return self.activation_fn(a)

    def get_config(self):
        config = super().get_config()
        del config["distribution"], config["num_levels"]
        config["rescale_activations"] = self.rescale_activations
        return config
