"""NADE: one hidden layer shared by every conditional, run as a running sum over the order."""

import keras
import numpy as np
from keras import ops

from keras_ar.distributions import Categorical
from keras_ar.layers import degrees
from keras_ar.layers.masked_dense import MaskedDense
from keras_ar.models.autoregressive_model import AutoregressiveModel


@keras.saving.register_keras_serializable(package="keras_ar")
class NADE(AutoregressiveModel):
    """Neural autoregressive distribution estimator.

    With `o` the order, dimension `o_i` gets
    `h_i = act(c + sum_{j < i} W_{o_j} x_{o_j})` and `params_i = b_{o_i} + V_{o_i} h_i`:
    the input weights `W` and hidden bias `c` are shared by all the conditionals, so the
    teacher-forced pass is one exclusive cumulative sum over the order (O(D H)), and the
    cached sampler updates the running sum after each dimension. A dimension enters the
    network as its value for Bernoulli and real-valued heads, as a one-hot vector of its
    `num_levels` for a categorical head (`W` then has `D * num_levels` rows), and as its
    value scaled to [0, 1] for a logistic-mixture head. A condition (class one-hot or
    vector) is projected onto the hidden pre-activations, i.e. added to `c`.

    With `order_agnostic=True` (DeepNADE, one hidden layer) the input is `(x * m, m)`,
    the observed values and the mask of observed dimensions, so one network gives
    p(x_i | x_observed) for any observed set. `fit` minimises the order-agnostic
    estimator: per example, draw d ~ U{0..D-1} and a random permutation, observe its
    first d dimensions, and score `D / (D - d) * sum_{unobserved i} -log p(x_i | x_obs)`
    (an unbiased estimate of the NLL averaged over orders). `log_prob`, `evaluate` and
    `sample` use the fixed `ordering`: the conditional of the i-th dimension is the
    network at the mask of the i dimensions before it (the mask's weights then add to
    the running sum, so it stays O(D H)).

    Args:
        input_shape: tuple of ints. The event shape.
        distribution: `"bernoulli"` (default), `"categorical"`, or any head with
            `event_size` 1 (`"gaussian_mixture"`: see `RNADE`).
        hidden_units: int. The number of hidden units H. Defaults to 500.
        ordering: `"left_to_right"`, `"random"` or a permutation of the flattened dimensions.
        seed: int. Seed of a random ordering and of the order-agnostic training draws.
        order_agnostic: bool. Train over random orders with mask inputs (DeepNADE).
        activation: str or callable. The hidden activation. Defaults to `"sigmoid"`.
        direct_connection: bool. Add a linear term from the earlier dimensions to each
            conditional's parameters (`params_i += sum_{j < i} A_ij x_j`, an FVSBN beside the
            hidden layer, zero at init). It lets the conditionals follow linear dependencies
            (e.g. strongly correlated real features) without spending hidden units on them.
            Defaults to False.
        dropout: float in [0, 1). Dropout on the hidden units while training (a regulariser
            for small data sets; inference is unchanged). Defaults to 0.
        **kwargs: `num_levels`, `num_components`, `num_classes`, `condition_shape`, `name`,
            as in `AutoregressiveModel`.

    Call arguments:
        inputs: `x`, `(x, condition)` or `{"x": ..., "condition": ...}`.
        condition: optional condition, when `inputs` is `x`.
        training: bool.

    Example:

    >>> model = NADE(input_shape=(4,), hidden_units=8)
    >>> tuple(model.log_prob(np.zeros((2, 4), "int32")).shape)
    (2,)

    Reference:
        [Larochelle & Murray, 2011. The Neural Autoregressive Distribution Estimator](
        https://proceedings.mlr.press/v15/larochelle11a.html);
        [Uria et al., 2016. Neural Autoregressive Distribution Estimation](https://arxiv.org/abs/1605.02226).
    """

    def __init__(
        self,
        input_shape,
        distribution="bernoulli",
        hidden_units=500,
        ordering="left_to_right",
        seed=0,
        order_agnostic=False,
        activation="sigmoid",
        direct_connection=False,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(input_shape, distribution=distribution, **kwargs)
        if self.head.event_size != 1:
            raise ValueError(f"{type(self).__name__} needs a head with event_size 1. Received: {self.head!r}")
        if isinstance(hidden_units, bool) or not isinstance(hidden_units, (int, np.integer)) or hidden_units < 1:
            raise ValueError(f"`hidden_units` must be a positive int. Received: hidden_units={hidden_units!r}")
        if not isinstance(order_agnostic, bool):
            raise ValueError(f"`order_agnostic` must be a bool. Received: order_agnostic={order_agnostic!r}")
        # === Layers ===
        self.order = degrees.resolve_ordering(ordering, self.num_dims, seed)
        self.inverse_order = np.argsort(self.order)
        self.activation_fn = keras.activations.get(activation)
        self.num_features = self.head.num_levels if isinstance(self.head, Categorical) else 1
        self.seed_generator = keras.random.SeedGenerator(seed) if order_agnostic else None
        if not isinstance(direct_connection, bool):
            raise ValueError(f"`direct_connection` must be a bool. Received: direct_connection={direct_connection!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout!r}")
        self.dropout_layer = keras.layers.Dropout(dropout, seed=seed) if dropout > 0 else None
        if direct_connection and order_agnostic:
            raise ValueError(
                "`direct_connection` follows the fixed `ordering` and cannot be combined with "
                "`order_agnostic=True`. Received: direct_connection=True, order_agnostic=True"
            )
        in_deg = degrees.input_degrees(self.order)
        self.direct = (
            MaskedDense.direct_connection(
                np.repeat(in_deg, self.num_features), degrees.output_degrees(in_deg, self.head.num_params)
            )
            if direct_connection
            else None
        )
        # === Config ===
        self.hidden_units = int(hidden_units)
        self.ordering_arg = ordering if isinstance(ordering, str) else [int(i) for i in np.asarray(ordering)]
        self.seed = seed
        self.order_agnostic = order_agnostic
        self.direct_connection = direct_connection
        self.dropout = dropout
        self.build()

    def build(self, input_shape=None):
        d, f, h, p = self.num_dims, self.num_features, self.hidden_units, self.head.num_params
        self.input_kernel = self.add_weight(name="input_kernel", shape=(d * f, h), initializer="glorot_uniform")
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(h,), initializer="zeros")
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(d, h, p), initializer=keras.initializers.RandomNormal(stddev=h**-0.5)
        )
        self.output_bias = self.add_weight(name="output_bias", shape=(d, p), initializer="zeros")
        self.mask_kernel = (
            self.add_weight(name="mask_kernel", shape=(d, h), initializer="glorot_uniform")
            if self.order_agnostic
            else None
        )
        self.condition_kernel = (
            self.add_weight(name="condition_kernel", shape=(self.condition_size, h), initializer="glorot_uniform")
            if self.condition_size
            else None
        )
        super().build(input_shape)

    # ------------------------------------------------------------------ the network
    def _features(self, x):
        """Network input of each dimension: `[...]` values -> `[..., num_features]`."""
        if self.num_features > 1:
            return ops.one_hot(ops.cast(x, "int32"), self.num_features)
        return ops.expand_dims(self.head.scale_inputs(x), -1)

    def _contributions(self, f, dims):
        """What each observed dimension adds to the hidden pre-activation: `[b, k, F] -> [b, k, H]`."""
        kernel = ops.take(ops.reshape(self.input_kernel, (self.num_dims, self.num_features, -1)), dims, axis=0)
        g = ops.einsum("bkf,kfh->bkh", f, kernel)
        if self.order_agnostic:  # the mask input: 1 for every observed dimension
            g = g + ops.take(self.mask_kernel, dims, axis=0)
        return g

    def _hidden_bias(self, condition):
        """`c`, plus the projected condition: `[1 or b, H]`."""
        c = ops.expand_dims(self.hidden_bias, 0)
        if self.condition_kernel is None:
            return c
        if condition is None:
            raise ValueError(f"{self.name} is conditional: pass `condition`.")
        return c + ops.matmul(condition, self.condition_kernel)

    def _hidden(self, a, dims):
        """Hidden units of dimensions `dims` ([k]) from their pre-activations `a` ([..., k, H])."""
        return self.activation_fn(a)

    def _dropped(self, h, training):
        return h if self.dropout_layer is None else self.dropout_layer(h, training=training)

    def _outputs(self, h, dims):
        """Head parameters of dimensions `dims` ([k]) from their hidden units `h` ([b, k, H])."""
        v = ops.take(self.output_kernel, dims, axis=0)
        return ops.einsum("bkh,khp->bkp", h, v) + ops.take(self.output_bias, dims, axis=0)

    def compute_params(self, x, condition=None, training=False):
        order = ops.convert_to_tensor(self.order.astype("int32"))
        f = ops.take(self._features(ops.reshape(x, (-1, self.num_dims))), order, axis=1)
        g = self._contributions(f, order)  # [b, D, H], in the order
        # a_i = c + sum_{j < i} g_j: an exclusive cumulative sum along the order.
        before = ops.pad(ops.cumsum(g, axis=1)[:, :-1], ((0, 0), (1, 0), (0, 0)))
        a = before + ops.expand_dims(self._hidden_bias(condition), 1)
        params = self._outputs(self._dropped(self._hidden(a, order), training), order)
        params = ops.take(params, ops.convert_to_tensor(self.inverse_order.astype("int32")), axis=1)
        if self.direct is not None:
            params = params + self._direct(x)
        return ops.reshape(params, (-1,) + self.event_shape + (self.head.num_params,))

    def _direct(self, x):
        """The direct linear term `[b, D, P]`."""
        f = ops.reshape(self._features(ops.reshape(x, (-1, self.num_dims))), (-1, self.num_dims * self.num_features))
        return ops.reshape(self.direct(f), (-1, self.num_dims, self.head.num_params))

    def group_ordering(self):
        return self.order

    # ------------------------------------------------------------------ order-agnostic training
    def log_prob_from_params(self, params, x, condition=None, training=False):
        """With `order_agnostic`, training scores the DeepNADE estimate (see the base class)."""
        if not (self.order_agnostic and training):
            return super().log_prob_from_params(params, x, condition, training)
        return self._order_agnostic_log_prob(ops.reshape(x, (-1, self.num_dims)), condition)

    def _order_agnostic_log_prob(self, x, condition):
        """The DeepNADE estimate of E_order[log p(x)] under a random order and split, `[batch]`.

        d ~ U{0..D-1}; the first d dimensions of a uniform random permutation are observed;
        the estimate is D / (D - d) * sum over the unobserved i of log p(x_i | x_observed).
        """
        n, dims = ops.shape(x)[0], ops.arange(self.num_dims, dtype="int32")
        condition = self.condition_vector(condition)
        d = keras.random.randint((n, 1), 0, self.num_dims, seed=self.seed_generator)
        noise = keras.random.uniform((n, self.num_dims), seed=self.seed_generator)
        rank = ops.argsort(ops.argsort(noise, axis=-1), axis=-1)  # a uniform random permutation
        observed = ops.cast(rank < d, "float32")
        g = self._contributions(self._features(x), dims) * ops.expand_dims(observed, -1)
        a = ops.sum(g, axis=1) + self._hidden_bias(condition)  # one pre-activation per example
        a = ops.broadcast_to(ops.expand_dims(a, 1), (n, self.num_dims, self.hidden_units))
        params = self._outputs(self._dropped(self._hidden(a, dims), True), dims)
        log_probs = self.head.log_prob(params, x)
        weight = self.num_dims / (self.num_dims - ops.cast(d[:, 0], "float32"))
        return weight * ops.sum(log_probs * (1.0 - observed), axis=-1)

    # ------------------------------------------------------------------ cached sampling
    def init_cache(self, batch_size, condition=None, seed=None):
        """The running sum of the `g_j` (zero), the hidden bias and, with a direct
        connection, the running direct term of every dimension."""
        cache = {"total": ops.zeros((batch_size, self.hidden_units)), "bias": self._hidden_bias(condition)}
        if self.direct is not None:
            cache["direct"] = ops.zeros((batch_size, self.num_dims, self.head.num_params))
        return cache

    def step(self, cache, x_prev, index):
        """Add the previous dimension's term to the running sum, then one conditional: O(H P)."""
        order = ops.convert_to_tensor(self.order.astype("int32"))
        seen = ops.cast(index > 0, "float32")  # nothing to absorb before the first dimension
        prev = ops.reshape(ops.take(order, ops.maximum(index - 1, 0)), (1,))
        f = self._features(x_prev)  # [b, 1, F]: the value kept, known or drawn
        total = cache["total"] + seen * self._contributions(f, prev)[:, 0]
        cache = {**cache, "total": total}
        dim = ops.reshape(ops.take(order, index), (1,))
        params = self._outputs(self._hidden(ops.expand_dims(total + cache["bias"], 1), dim), dim)[:, 0]
        if self.direct is not None:
            kernel = ops.reshape(
                self.direct.kernel * self.direct.mask(), (self.num_dims, self.num_features, self.num_dims, -1)
            )
            direct = cache["direct"] + seen * ops.einsum("bf,fkp->bkp", f[:, 0], ops.take(kernel, prev, axis=0)[0])
            cache["direct"] = direct
            params = params + ops.take(direct, dim, axis=1)[:, 0]
        return params, cache

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": self.hidden_units,
                "ordering": self.ordering_arg,
                "seed": self.seed,
                "order_agnostic": self.order_agnostic,
                "activation": keras.activations.serialize(self.activation_fn),
                "direct_connection": self.direct_connection,
                "dropout": self.dropout,
            }
        )
        return config
