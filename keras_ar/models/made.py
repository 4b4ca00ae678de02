"""MADE: a masked autoencoder whose outputs are the conditionals of an autoregressive model."""

import math

import keras
import numpy as np
from keras import ops

from keras_ar.layers import degrees
from keras_ar.layers.masked_dense import MaskedDense
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.random import fold_seed
from keras_ar.utils.tfp import tfp_distributions


@keras.saving.register_keras_serializable(package="keras_ar")
class MADE(AutoregressiveModel):
    """Masked Autoencoder for Distribution Estimation.

    A multilayer perceptron whose weights are masked (in every forward pass) so that the
    parameters of dimension i see only the dimensions before i in the model's order: input
    d has degree `order.index(d) + 1`, every hidden unit a degree in 1..D-1 and sees the
    units of degree <= its own, and the output layer is strict (`>`), with
    `head.num_params` outputs per dimension. The network input is `head.scale_inputs(x)`
    flattened (levels scaled to [0, 1]; real values as they are). A condition (class
    one-hot or vector) feeds every hidden layer and the output layer through unmasked
    kernels. With `direct_connection=True` a strict masked input -> output kernel (an
    FVSBN inside the MADE, initialised at zero) is added to the output.

    With `num_masks > 1` the network is trained connectivity-agnostically: all
    `num_masks` degree sets are fixed at construction from `seed`, and each training
    batch uses one of them, drawn with a `keras.random.SeedGenerator` held by the model
    (with `order_agnostic=True` each mask has its own ordering too). Mask 0 uses
    `ordering` and evenly cycled hidden degrees; masks 1.. draw their hidden degrees
    (uniformly in [min degree of the layer below, D-1], as in the paper) and, if order
    agnostic, their orderings at random. Outside training the model is the uniform
    mixture of the `num_masks` autoregressive models it defines,
    log p(x) = logsumexp_m log p_m(x) - log(num_masks), exactly normalised: `log_prob`,
    `evaluate`, `distribution` (a TFP `MixtureSameFamily`) and `sample` (one mask drawn
    per sample, then ancestral sampling in that mask's order) all use it; the training loss
    is the NLL under each batch's mask, the paper's objective. `call`,
    `conditional_log_probs` and `group_ordering()` are those of mask 0, the model's
    `ordering`. Completion (`sample(known=..., known_mask=...)`) with several masks keeps the
    known values in every mask's order but draws the mask uniformly, not from its posterior
    given the known values: it is an approximation of the mixture's conditional (exact for
    `num_masks=1` when the known values precede the rest in the order).

    For a head that couples the channels of a pixel (`event_size` 3) degrees are given to
    pixels, and `ordering` is a permutation of the pixels.

    Args:
        input_shape: tuple of ints. The event shape.
        distribution: `"bernoulli"` (default), `"categorical"`, `"gaussian_mixture"` or
            `"logistic_mixture"`.
        hidden_units: tuple of ints. Sizes of the masked hidden layers (at least one).
        num_masks: int. Number of connectivities (and orderings) trained and averaged.
        ordering: `"left_to_right"`, `"random"` or a permutation of the flattened
            dimensions (of the pixels for coupled heads). The order of mask 0.
        order_agnostic: bool. Give masks 1.. their own random orderings (needs
            `num_masks > 1` to have an effect).
        seed: int. Seeds the random ordering, the masks and the per-batch mask draws.
        activation: str. Activation of the hidden layers.
        direct_connection: bool. Add a strict masked input -> output kernel.
        **kwargs: `num_levels`, `num_components`, `num_classes`, `condition_shape`, `name`,
            as in `AutoregressiveModel`.

    Example:

    >>> model = MADE(input_shape=(4,), hidden_units=(16,), num_masks=2, order_agnostic=True)
    >>> tuple(model.log_prob(np.zeros((2, 4), "int32")).shape)
    (2,)

    Reference:
        Germain, Gregor, Murray, Larochelle, "MADE: Masked Autoencoder for Distribution
        Estimation", ICML 2015.
    """

    def __init__(
        self,
        input_shape,
        distribution="bernoulli",
        hidden_units=(500,),
        num_masks=1,
        ordering="left_to_right",
        order_agnostic=False,
        seed=0,
        activation="relu",
        direct_connection=True,
        **kwargs,
    ):
        super().__init__(input_shape, distribution=distribution, **kwargs)
        units = _int_tuple(hidden_units)
        if units is None or not units or min(units) < 1:
            raise ValueError(
                f"`hidden_units` must be a non-empty tuple of positive ints. Received: hidden_units={hidden_units}"
            )
        if isinstance(num_masks, bool) or not isinstance(num_masks, (int, np.integer)) or num_masks < 1:
            raise ValueError(f"`num_masks` must be a positive int. Received: num_masks={num_masks!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
        keras.activations.get(activation)  # raises ValueError for an unknown name
        # === Masks (fixed by the config) ===
        self.orders, layer_degrees = _made_degrees(
            ordering, self.num_groups, units, int(num_masks), bool(order_agnostic), seed
        )
        e, p = self.head.event_size, self.head.num_params
        in_deg = np.repeat(layer_degrees[0], e, axis=1)  # [masks, D]: a pixel's channels share its degree
        out_deg = np.repeat(layer_degrees[0], p, axis=1)  # [masks, groups * num_params]
        # === Layers ===
        self.hidden_layers = [
            MaskedDense(
                n,
                input_degrees=in_deg if i == 0 else layer_degrees[i],
                output_degrees=layer_degrees[i + 1],
                condition_size=self.condition_size,
                activation=activation,
                name=f"hidden_{i}",
            )
            for i, n in enumerate(units)
        ]
        self.output_layer = MaskedDense(
            out_deg.shape[1],
            input_degrees=layer_degrees[-1],
            output_degrees=out_deg,
            strict=True,
            condition_size=self.condition_size,
            name="output",
        )
        self.direct = MaskedDense.direct_connection(in_deg, out_deg) if direct_connection else None
        self.mask_seed_generator = keras.random.SeedGenerator(int(seed), name="mask_seed_generator")
        # === Config ===
        self.hidden_units = units
        self.num_masks = int(num_masks)
        self.ordering_arg = ordering if isinstance(ordering, str) else [int(i) for i in np.asarray(ordering)]
        self.order_agnostic = bool(order_agnostic)
        self.seed = int(seed)
        self.activation = activation
        self.direct_connection = bool(direct_connection)
        self.build()

    # ------------------------------------------------------------------ teacher-forced pass
    def compute_params(self, x, condition=None, training=False):
        """Parameters under mask 0, or (training with several masks) under a random mask."""
        mask_index = 0
        if training and self.num_masks > 1:
            mask_index = keras.random.randint((), 0, self.num_masks, seed=self.mask_seed_generator)
        return self.forward_mask(x, condition, mask_index)

    def forward_mask(self, x, condition=None, mask_index=0):
        """Head parameters `[batch, *group_shape, num_params]` under mask `mask_index`."""
        inputs = ops.reshape(self.head.scale_inputs(x), (-1, self.num_dims))
        h = inputs
        for layer in self.hidden_layers:
            h = layer(h, condition=condition, mask_index=mask_index)
        params = self.output_layer(h, condition=condition, mask_index=mask_index)
        if self.direct is not None:
            params = params + self.direct(inputs, mask_index=mask_index)
        return ops.reshape(params, (-1,) + self.group_shape + (self.head.num_params,))

    def group_ordering(self):
        return self.orders[0]

    # ------------------------------------------------------------------ the mixture of masks
    def log_prob_from_params(self, params, x, condition=None, training=False):
        """With several masks, the uniform mixture over them (see the base class); when training, the
        likelihood under the batch's random mask (`compute_params`)."""
        base = super().log_prob_from_params
        if training or self.num_masks == 1:
            return base(params, x, condition, training)
        # `params` come from mask 0 (forward with training=False); add the other masks.
        c = self.condition_vector(condition)
        lps = [base(params, x, condition, training)]
        lps += [base(self.forward_mask(x, c, m), x, condition, training) for m in range(1, self.num_masks)]
        return ops.logsumexp(ops.stack(lps, axis=-1), axis=-1) - math.log(self.num_masks)

    def distribution(self, x, condition=None):
        """The model as a TFP distribution given the prefixes of `x` (see the base class).

        With several masks: a `MixtureSameFamily` with uniform weights over the masks of
        the teacher-forced conditionals of each mask; its `log_prob(x)` equals `log_prob(x)`.
        """
        if self.num_masks == 1:
            return super().distribution(x, condition)
        x, condition = self._checked(x, condition)
        x = ops.cast(x, "float32")
        c = self.condition_vector(condition)
        params = ops.stack([self.forward_mask(x, c, m) for m in range(self.num_masks)], axis=1)
        xs = ops.repeat(ops.expand_dims(x, 1), self.num_masks, axis=1)
        tfd = tfp_distributions()
        components = tfd.Independent(
            self.head.to_tfp(params, xs), reinterpreted_batch_ndims=len(self.group_shape)
        )
        weights = tfd.Categorical(logits=ops.zeros((ops.shape(x)[0], self.num_masks)))
        return tfd.MixtureSameFamily(weights, components)

    # ------------------------------------------------------------------ sampling: one mask per sample
    def _naive_init_cache(self, batch_size, condition=None, seed=None):
        """With several masks, each sample draws its mask (with `fold_seed(seed, 0)`) and then
        follows that mask's order: the cache holds the per-sample order `[n, groups]`."""
        cache = super()._naive_init_cache(batch_size, condition, seed)
        if self.num_masks > 1:
            mask_ids = keras.random.randint((batch_size,), 0, self.num_masks, seed=fold_seed(seed, 0))
            cache["mask"] = ops.one_hot(mask_ids, self.num_masks)  # [n, masks]
            cache["order"] = ops.take(ops.convert_to_tensor(self.orders.astype("int32")), mask_ids, axis=0)
        return cache

    def _order_tensor(self, cache):
        return cache["order"] if "order" in cache else super()._order_tensor(cache)

    def _naive_step(self, cache, x_prev, index):
        if self.num_masks == 1:
            return super()._naive_step(cache, x_prev, index)
        n, g_count, e, p = ops.shape(x_prev)[0], self.num_groups, self.head.event_size, self.head.num_params
        order = cache["order"]
        prev = ops.one_hot(ops.take(order, ops.maximum(index - 1, 0), axis=1), g_count) > 0  # [n, groups]
        x = ops.reshape(cache["x"], (n, g_count, e))
        x = ops.reshape(ops.where(ops.expand_dims(prev, -1), ops.expand_dims(x_prev, 1), x), (n,) + self.event_shape)
        params = ops.stack(
            [ops.reshape(self.forward_mask(x, cache.get("condition"), m), (n, g_count, p)) for m in range(self.num_masks)],
            axis=1,
        )
        params = ops.sum(params * ops.reshape(cache["mask"], (n, self.num_masks, 1, 1)), axis=1)  # each sample's mask
        g = ops.reshape(ops.take(order, index, axis=1), (n, 1, 1))  # each sample's group at this step
        return ops.take_along_axis(params, g, axis=1)[:, 0], {**cache, "x": x}

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": list(self.hidden_units),
                "num_masks": self.num_masks,
                "ordering": self.ordering_arg,
                "order_agnostic": self.order_agnostic,
                "seed": self.seed,
                "activation": self.activation,
                "direct_connection": self.direct_connection,
            }
        )
        return config


def _int_tuple(values):
    try:
        out = tuple(values)
    except TypeError:
        return None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in out):
        return None
    return tuple(int(v) for v in out)


def _made_degrees(ordering, num_groups, hidden_units, num_masks, order_agnostic, seed):
    """Orders `[masks, groups]` and per-mask degrees of the input groups and each hidden layer.

    Mask 0: `ordering` and evenly cycled hidden degrees. Masks 1..: hidden degrees drawn
    uniformly in [min of the layer below, D-1] (Germain et al.), orders random if
    `order_agnostic`, all from one NumPy generator seeded by `seed`.
    """
    order0 = degrees.resolve_ordering(ordering, num_groups, seed)
    rng = np.random.default_rng([int(seed) % (2**32), 1])
    high = max(num_groups - 1, 1)
    orders, layers = [], [[] for _ in range(len(hidden_units) + 1)]
    for m in range(num_masks):
        order = order0 if m == 0 or not order_agnostic else rng.permutation(num_groups)
        orders.append(order)
        layers[0].append(degrees.input_degrees(order))
        for i, n in enumerate(hidden_units):
            if m == 0:
                layers[i + 1].append(degrees.hidden_degrees(n, num_groups))
            else:
                low = min(int(layers[i][m].min()), high)
                layers[i + 1].append(rng.integers(low, high + 1, size=n))
    return np.stack(orders), [np.stack(d) for d in layers]
