"""The base of every keras_ar model: the contract, loss, metrics, log-likelihoods, TFP views.

Like `keras.Model`, which takes training from its `Trainer` mixin, `AutoregressiveModel` takes
generation from `GenerationMixin` (`_generation_api.py`: `sample`, `generate`, the cache contract
and the hooks of `keras_ar.generation`) and serving from `ServingMixin` (`_serving.py`: the
functions `keras_ar.export` serves). This file keeps the contract, the likelihoods and the Keras
plumbing.
"""

import math
import types

import keras
import numpy as np
from keras import ops

from keras_ar import distributions
from keras_ar.models import _conditions
from keras_ar.models import _data_adapter
from keras_ar.models._generation_api import GenerationMixin
from keras_ar.models._serving import ServingMixin
from keras_ar.utils.checks import unpack_inputs
from keras_ar.utils.compile import clear_compiled
from keras_ar.utils.distribute import per_replica_seeds
from keras_ar.utils.tfp import tfp_distributions


@keras.saving.register_keras_serializable(package="keras_ar")
class AutoregressiveModel(GenerationMixin, ServingMixin, keras.Model):
    """An exact-likelihood model p(x) = prod_i p(x_i | x_<i) with ancestral sampling.

    Subclasses build their layers in `__init__`, call `self.build()` at its end, and
    implement the teacher-forced pass `compute_params(x, condition, training)`: `x` holds the
    data values as float32 `[batch, *input_shape]` (levels for discrete heads),
    `condition` is None or a float32 `[batch, condition_size]` vector (one-hot class labels
    or flattened condition vectors), and the result is the head parameters
    `[batch, *group_shape, head.num_params]`, where the parameters of dimension i may only
    depend on dimensions before i in `ordering()`. Everything else is here: the loss (mean
    negative log-likelihood in nats per example), the `bits_per_dim` metric, a default
    `compile()`, `log_prob`, `conditional_log_probs`, the TFP view and input checks;
    generation comes from `GenerationMixin` (`sample`, `generate`: one compiled loop over the
    order, in `keras_ar.generation`, that owns seeds, samplers, completion and writes) and
    export's signatures from `ServingMixin` (`serving_functions`). A subclass with a faster
    exact sampler overrides the cache contract `init_cache` / `step` / `fill_cache`; the
    default step is one full teacher-forced pass, which is also what
    `sample(use_cache=False)` runs. A subclass that scores otherwise than by summing its
    conditionals (MADE's mixture of masks, NADE's order-agnostic training) overrides
    `log_prob_from_params`, which `log_prob`, `compute_loss` and export call.

    Args:
        input_shape: tuple of ints. The event shape, e.g. `(64,)` or `(8, 8, 1)`.
        distribution: str or `keras_ar.distributions.DistributionHead`. One of
            `"bernoulli"`, `"categorical"`, `"gaussian_mixture"`, `"logistic_mixture"`.
        num_levels: int. Levels of a discrete head (categorical, logistic mixture).
        num_components: int. Components of a mixture head.
        num_classes: int. If set, the model is conditioned on integer class labels.
        condition_shape: tuple of ints. If set, the model is conditioned on float vectors
            of this shape. At most one of `num_classes` and `condition_shape`.
        condition_scale: float > 0 or None. With `condition_shape`: conditions are divided
            by it inside the model (so a saved or exported model takes the raw values), e.g.
            255.0 for uint8 condition images (it divides, as `Rescaling(1 / scale)` would). `fit`
            warns when condition images reach values above 10 and it is unset, or are already
            within [-1, 1] and it is above 1.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Call arguments:
        inputs: the data `x`, a tuple `(x, condition)` or a dict with keys `"x"` and
            `"condition"`.
        condition: optional condition, when `inputs` is `x`.
        training: bool.
    """

    # True for sequence models (`input_shape=(length, ...)`, time first, groups in time order)
    # whose `compute_params` and cache contract work for any length: `sample(num_steps=...)`.
    variable_length = False
    # False for a model with no distribution over its inputs alone (an autoencoder): no `sample`
    has_prior = True

    def __init__(
        self,
        input_shape,
        distribution="bernoulli",
        num_levels=None,
        num_components=None,
        num_classes=None,
        condition_shape=None,
        condition_scale=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        try:
            event_shape = tuple(int(d) for d in input_shape)
        except (TypeError, ValueError):
            event_shape = ()
        if not event_shape or any(d < 1 for d in event_shape):
            raise ValueError(
                f"`input_shape` must be a non-empty tuple of positive ints. Received: input_shape={input_shape}"
            )
        _conditions.check_arguments(num_classes, condition_shape, condition_scale)
        if isinstance(distribution, dict):
            distribution = keras.saving.deserialize_keras_object(distribution)
        color_channels = event_shape[-1] if len(event_shape) == 3 else 1
        self.head = distributions.get(distribution, num_levels, num_components, color_channels)
        if self.head.event_size > 1 and (len(event_shape) < 2 or event_shape[-1] != self.head.event_size):
            raise ValueError(
                f"{type(self.head).__name__} couples {self.head.event_size} channels: `input_shape` must end "
                f"with {self.head.event_size}. Received: input_shape={event_shape}"
            )
        self.event_shape = event_shape
        self.distribution_id = distribution
        self.num_levels = num_levels
        self.num_components = num_components
        self.num_classes = None if num_classes is None else int(num_classes)
        self.condition_shape = None if condition_shape is None else tuple(int(d) for d in condition_shape)
        self.condition_scale = None if condition_scale is None else float(condition_scale)

        self.group_shape = event_shape if self.head.event_size == 1 else event_shape[:-1]
        self.num_dims = int(np.prod(event_shape))
        self.num_groups = int(np.prod(self.group_shape))
        if self.num_classes is not None:
            self.condition_size = self.num_classes
        elif self.condition_shape is not None:
            self.condition_size = int(np.prod(self.condition_shape))
        else:
            self.condition_size = 0
        self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim")

    # ------------------------------------------------------------------ contract for subclasses
    def compute_params(self, x, condition=None, training=False):
        """Teacher-forced pass: data `[batch, *input_shape]` -> head parameters.

        (Not named `forward`: on the torch backend a Keras layer is a `torch.nn.Module`, whose
        `forward` is how `__call__` reaches `call`.)
        """
        raise NotImplementedError

    def ordering(self):
        """The flat indices of the event's dimensions, in the model's autoregressive order."""
        groups = self.group_ordering()
        e = self.head.event_size
        return (groups[:, None] * e + np.arange(e)[None, :]).reshape(-1)

    def group_ordering(self):
        """The order in which groups (dimensions, or pixels for coupled heads) are sampled."""
        return np.arange(self.num_groups)

    # ------------------------------------------------------------------ Keras plumbing
    def build(self, input_shape=None):
        """Create every weight by running the teacher-forced pass once on zeros."""
        x = ops.zeros((1,) + self.event_shape)
        c = ops.zeros((1, self.condition_size)) if self.condition_size else None
        self.compute_params(x, c, training=False)
        self.built = True
        clear_compiled(self)

    def call(self, inputs, condition=None, training=False):
        x, condition = unpack_inputs(inputs, condition)
        per_replica_seeds(self)  # tf.distribute: each replica draws its own dropout masks
        return self.compute_params(ops.cast(x, "float32"), self.condition_vector(condition), training=training)

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Like `keras.Model.compile`; Adam by default. The loss is always the NLL (and bits/dim)."""
        for name, value in (("loss", loss), ("metrics", metrics)):
            if value is not None:
                raise ValueError(
                    f"{type(self).__name__} trains on its own negative log-likelihood and reports "
                    f"bits_per_dim; do not pass `{name}`. Received: {name}={value!r}"
                )
        super().compile(optimizer=optimizer, **kwargs)
        clear_compiled(self)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' `export`: a SavedModel serving `log_prob` (as `serve` and `serving_default`),
        `conditional_log_probs`, `sample` and `complete` (see `keras_ar.export.export_archive`).

        Other formats go to `keras.Model.export`. For servable versions
        (`saved_models/<name>/<version>/`) use `keras_ar.export.export_saved_model`.
        """
        if format != "tf_saved_model" or input_signature is not None or kwargs:
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
        from keras_ar.export import export_archive  # the export layer sits above the models

        path = export_archive(self, filepath)
        if verbose or verbose is None:
            print(f"Saved a SavedModel with the signatures log_prob (serve, serving_default), "
                  f"conditional_log_probs, sample, complete at: {path}")
        return path

    def get_compile_config(self):
        if not self.compiled:
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The mean negative log-likelihood of the batch (nats per example), plus `self.losses`.

        Replaces Keras' compiled loss (the model trains on its own likelihood) and updates the
        `bits_per_dim` metric. `sample_weight` gives a weighted mean. Scaled for the
        distribution like Keras' own losses, so training under `tf.distribute.MirroredStrategy`
        or `keras.distribution.DataParallel` reports and follows the loss of one device.
        """
        data, condition = unpack_inputs(x, None)
        log_prob = self.log_prob_from_params(y_pred, ops.cast(data, "float32"), condition, training)
        nll = -log_prob
        if sample_weight is not None:
            w = ops.cast(ops.reshape(sample_weight, (-1,)), nll.dtype)
            loss = ops.sum(nll * w) / ops.maximum(ops.sum(w), 1e-12)
        else:
            loss = ops.mean(nll)
        self.bits_per_dim_tracker.update_state(nll / (self.num_dims * math.log(2.0)), sample_weight)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        # What Keras' own losses do (`Loss.__call__` and the trainer's additional losses): under a
        # `tf.distribute` strategy each replica's mean is divided by the number of replicas, so the
        # gradients summed across replicas are those of the global mean and the reported loss (which
        # Keras unscales) is one device's. A no-op on one device and on JAX / torch, whose
        # `keras.distribution` computes the global mean directly. Keras has no public path to it.
        from keras.src.losses.loss import scale_loss_for_distribution

        return scale_loss_for_distribution(loss)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit` on `x`, `(x, condition)` or `{"x", "condition"}` data; compiles if needed.

        `x` is what Keras takes: arrays (then `y`, if given, is the condition), a
        `tf.data.Dataset`, a Python generator or a `keras.utils.PyDataset`, each yielding
        batches of `x`, `(x, condition)` or dicts. Every batch is checked (values in the
        head's support, finite, shapes, labels): a bad value in any batch raises a
        `ValueError` that names it, its batch and the fix, instead of training to a NaN
        loss. A dataset of single examples (not batched) is batched for you, with
        `batch_size` (default 32) and a warning.
        """
        if not self.compiled:
            self.compile()
        if _data_adapter.is_dataset(x) or isinstance(x, types.GeneratorType):
            kwargs.setdefault("shuffle", False)  # a dataset or generator shuffles itself; Keras would only warn
        batch_size = kwargs.get("batch_size")
        x, y = _data_adapter.prepare_data(self, x, y, "x", kwargs, warn_condition=True)
        if validation_data is not None:
            data = _data_adapter.prepare_data(self, validation_data, None, "validation_data", {"batch_size": batch_size})[0]
            validation_data = data if _data_adapter.is_streamed(data) else (data,)  # a 1-tuple: Keras sees no `y`
        if not self.optimizer.built:
            # built here, not inside the first traced train step: on TensorFlow a tf.function that creates
            # variables is traced twice (the first fit took ~1.7x as long); on JAX `_input_errors` keeps them
            self.optimizer.build(self.trainable_variables)
        with _data_adapter.input_errors(self):
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`: loss (nats per example) and `bits_per_dim`; data as in `fit`."""
        if not self.compiled:
            self.compile()
        if not kwargs.get("_use_cached_eval_dataset"):  # else: `fit`'s validation, prepared there
            x, y = _data_adapter.prepare_data(self, x, y, "x", kwargs)
        with _data_adapter.input_errors(self):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`: the head parameters of every example (teacher-forced); data as in `fit`."""
        x, _ = _data_adapter.prepare_data(self, x, None, "x", kwargs)
        with _data_adapter.input_errors(self):
            return super().predict(x, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        distribution = self.distribution_id
        if not isinstance(distribution, str):
            distribution = keras.saving.serialize_keras_object(distribution)
        config.update(
            {
                "input_shape": self.event_shape,
                "distribution": distribution,
                "num_levels": self.num_levels,
                "num_components": self.num_components,
                "num_classes": self.num_classes,
                "condition_shape": self.condition_shape,
                "condition_scale": self.condition_scale,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ------------------------------------------------------------------ likelihoods
    def log_prob(self, x, condition=None):
        """Exact log-likelihood in nats, shape `[batch]`."""
        x, condition = self._checked(x, condition)
        params = self(x, condition=condition)
        return self.log_prob_from_params(params, ops.cast(x, "float32"), condition, training=False)

    def conditional_log_probs(self, x, condition=None):
        """log p(x_i | x_<i) for every dimension, shape `[batch, *input_shape]`."""
        x, condition = self._checked(x, condition)
        params = self(x, condition=condition)
        return self.head.log_prob(params, ops.cast(x, "float32"))

    def distribution(self, x, condition=None):
        """The teacher-forced conditionals of `x` as a TFP distribution over the whole event.

        `distribution(x).log_prob(x)` equals `log_prob(x)`; the conditionals are those given
        the prefix of this `x`, so it scores `x` and nothing else exactly.
        """
        x, condition = self._checked(x, condition)
        params = self(x, condition=condition)
        tfd = tfp_distributions()
        return tfd.Independent(
            self.head.to_tfp(params, ops.cast(x, "float32")), reinterpreted_batch_ndims=len(self.group_shape)
        )

    def log_prob_from_params(self, params, x, condition=None, training=False):
        """log p(x) `[batch]` from the head parameters `params` of `x` (teacher-forced, e.g. `self(x)`).

        Args:
            params: float32 `[batch, *group_shape, num_params]`.
            x: float32 `[batch, *input_shape]`.
            condition: the condition as `call` takes it (models that score with it: MADE's masks).
            training: bool. Order-agnostic models (NADE) train on an estimate.

        A subclass overrides this hook to score otherwise than by summing the head's
        conditionals (MADE: a mixture over its masks; NADE: an order-agnostic estimate when
        training), keeping this signature.
        """
        lp = self.head.log_prob(params, x)
        return ops.sum(ops.reshape(lp, (ops.shape(lp)[0], -1)), axis=-1)

    # ------------------------------------------------------------------ conditions and inputs
    def condition_vector(self, condition):
        """A condition (labels `[batch]`, vectors `[batch, *condition_shape]`, tensors) as the
        float32 `[batch, condition_size]` that `compute_params` and `init_cache` take: labels
        one-hot, vectors flattened and divided by `condition_scale`. None without a condition."""
        return _conditions.condition_vector(self, condition)

    def scale_condition(self, vector):
        """A float32 condition vector `[batch, condition_size]` divided by `condition_scale` (when set)."""
        return _conditions.scale_condition(self, vector)

    def _checked(self, x, condition, name="x", where=""):
        """Unpack and check `x` and `condition` at the door; tensors ready for `self(...)`."""
        return _data_adapter.checked(self, x, condition, name=name, where=where)
