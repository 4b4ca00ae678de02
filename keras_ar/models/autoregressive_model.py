"""The base of every keras_ar model: loss, metrics, log-likelihoods, samplers, TFP views."""

import contextlib
import itertools
import math
import numbers
import types
import warnings

import keras
import numpy as np
from keras import ops

from keras_ar import distributions
from keras_ar.utils.checks import BatchChecker
from keras_ar.utils.checks import batch_where
from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import check_event
from keras_ar.utils.checks import check_int
from keras_ar.utils.checks import concrete
from keras_ar.utils.checks import input_error
from keras_ar.utils.checks import tf_batch_check
from keras_ar.utils.checks import unpack_inputs
from keras_ar.utils.compile import clear_compiled
from keras_ar.utils.compile import compiled_method
from keras_ar.utils.random import resolve_seed
from keras_ar.utils.random import step_seed
from keras_ar.utils.tfp import tfp_distributions


@keras.saving.register_keras_serializable(package="keras_ar")
class AutoregressiveModel(keras.Model):
    """An exact-likelihood model p(x) = prod_i p(x_i | x_<i) with ancestral sampling.

    Subclasses build their layers in `__init__`, call `self.build()` at its end, and
    implement the teacher-forced pass `compute_params(x, condition, training)`: `x` holds the
    data values as float32 `[batch, *input_shape]` (levels for discrete heads),
    `condition` is None or a float32 `[batch, condition_size]` vector (one-hot class labels
    or flattened condition vectors), and the result is the head parameters
    `[batch, *group_shape, head.num_params]`, where the parameters of dimension i may only
    depend on dimensions before i in `ordering()`. Everything else is here: the loss (mean
    negative log-likelihood in nats per example), the `bits_per_dim` metric, a default
    `compile()`, `log_prob`, `conditional_log_probs`, the TFP view, input checks and the
    generation engine (`sample`: one compiled loop over the order that owns seeds,
    temperature, completion and writes). A subclass with a faster exact sampler overrides
    the cache contract `init_cache` / `step` / `fill_cache`; the default step is one full
    teacher-forced pass, which is also what `sample(use_cache=False)` runs.

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
        if num_classes is not None and condition_shape is not None:
            raise ValueError(
                "Pass at most one of `num_classes` and `condition_shape`. "
                f"Received: num_classes={num_classes}, condition_shape={condition_shape}"
            )
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1
        ):
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if condition_shape is not None and (
            not isinstance(condition_shape, (tuple, list))
            or not condition_shape
            or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in condition_shape)
        ):
            raise ValueError(
                f"`condition_shape` must be a non-empty tuple of positive ints. Received: condition_shape={condition_shape!r}"
            )
        if condition_scale is not None:
            if condition_shape is None:
                raise ValueError(
                    "`condition_scale` divides condition vectors or images: pass it with `condition_shape` "
                    f"(class labels are not scaled). Received: condition_scale={condition_scale!r}, "
                    f"num_classes={num_classes}, condition_shape=None"
                )
            if (
                isinstance(condition_scale, bool)
                or not isinstance(condition_scale, numbers.Real)
                or not math.isfinite(condition_scale)
                or condition_scale <= 0
            ):
                raise ValueError(
                    "`condition_scale` must be a finite number > 0, e.g. 255.0 for uint8 condition images. "
                    f"Received: condition_scale={condition_scale!r}"
                )
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
        x, condition = self._unpack(inputs, condition)
        return self.compute_params(ops.cast(x, "float32"), self._condition_vector(condition), training=training)

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
        data, condition = self._unpack(x, None)
        log_prob = self._log_prob_from_params(y_pred, ops.cast(data, "float32"), condition, training)
        nll = -log_prob
        if sample_weight is not None:
            w = ops.cast(ops.reshape(sample_weight, (-1,)), nll.dtype)
            loss = ops.sum(nll * w) / ops.maximum(ops.sum(w), 1e-12)
        else:
            loss = ops.mean(nll)
        self.bits_per_dim_tracker.update_state(nll / (self.num_dims * math.log(2.0)), sample_weight)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

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
        if _is_dataset(x) or isinstance(x, types.GeneratorType):
            kwargs.setdefault("shuffle", False)  # a dataset or generator shuffles itself; Keras would only warn
        batch_size = kwargs.get("batch_size")
        x, y = self._prepare_data(x, y, "x", kwargs, warn_condition=True)
        if validation_data is not None:
            data = self._prepare_data(validation_data, None, "validation_data", {"batch_size": batch_size})[0]
            validation_data = data if _is_streamed(data) else (data,)  # a 1-tuple: Keras sees no `y`
        if not self.optimizer.built:
            # built here, not inside the first traced train step: on TensorFlow a tf.function that creates
            # variables is traced twice (the first fit took ~1.7x as long); on JAX `_input_errors` keeps them
            self.optimizer.build(self.trainable_variables)
        with _input_errors(self):
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`: loss (nats per example) and `bits_per_dim`; data as in `fit`."""
        if not self.compiled:
            self.compile()
        if not kwargs.get("_use_cached_eval_dataset"):  # else: `fit`'s validation, prepared there
            x, y = self._prepare_data(x, y, "x", kwargs)
        with _input_errors(self):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`: the head parameters of every example (teacher-forced); data as in `fit`."""
        x, _ = self._prepare_data(x, None, "x", kwargs)
        with _input_errors(self):
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
        return self._log_prob_from_params(params, ops.cast(x, "float32"), condition, training=False)

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

    def _log_prob_from_params(self, params, x, condition, training):
        lp = self.head.log_prob(params, x)
        return ops.sum(ops.reshape(lp, (ops.shape(lp)[0], -1)), axis=-1)

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        num_samples,
        condition=None,
        seed=None,
        temperature=1.0,
        known=None,
        known_mask=None,
        use_cache=True,
        num_steps=None,
    ):
        """Draw `num_samples` events by ancestral sampling in the model's order.

        Args:
            num_samples: int. How many samples.
            condition: class labels `[num_samples]` or vectors `[num_samples, *condition_shape]`
                (one label or vector is repeated) for a conditional model.
            seed: int or None. The same seed gives the same samples, cached or not; None draws
                a fresh seed.
            temperature: float > 0. Divides logits (and multiplies scales) of every conditional.
            known: array `[num_samples, *input_shape]` (or `input_shape`, repeated) of values to
                keep where `known_mask` is true: completion and inpainting. Every other dimension
                is drawn from p(x_i | x_<i) given the values before it in the model's order.
            known_mask: bool array of the shape of `known`.
            use_cache: bool. Step with the model's cache (`init_cache` / `step`); False runs one
                full teacher-forced pass per step. Both draw the same samples for the same seed.
            num_steps: int or None. Sequence models only (`variable_length`): generate this many
                time steps instead of `input_shape[0]` (more or fewer); `known` then has
                `num_steps` steps. None: `input_shape[0]`.

        Returns:
            A tensor `[num_samples, *input_shape]` (`[num_samples, num_steps, *input_shape[1:]]`
            with `num_steps`): int32 levels for discrete heads, float32 otherwise.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"`num_samples` must be a positive int. Received: num_samples={num_samples!r}")
        n = int(num_samples)
        if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool) or not temperature > 0:
            raise ValueError(f"`temperature` must be a float > 0. Received: temperature={temperature!r}")
        if not isinstance(use_cache, bool):
            raise ValueError(f"`use_cache` must be a bool. Received: use_cache={use_cache!r}")
        shape = self.event_shape
        if num_steps is not None:
            if not self.variable_length:
                raise ValueError(
                    f"{type(self).__name__} generates events of its `input_shape` {self.event_shape} only: pass no "
                    f"`num_steps`. Received: num_steps={num_steps!r}"
                )
            if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
                raise ValueError(f"`num_steps` must be a positive int. Received: num_steps={num_steps!r}")
            shape = (int(num_steps),) + self.event_shape[1:]
        seed = resolve_seed(seed)
        cond_vec = self._sample_condition(condition, n, num_steps=shape[0] if num_steps is not None else None)
        known_values, mask = self._sample_known(known, known_mask, n, shape)
        name = "sample_cached" if use_cache else "sample_naive"
        if shape != self.event_shape:  # compiled per length: the loop's bounds and buffers are static
            name += f"_steps{shape[0]}"
        fn = compiled_method(self, name, _sample_and_cast(use_cache))
        return fn(
            cond_vec,
            known_values,
            mask,
            ops.convert_to_tensor(seed, "int32"),
            ops.convert_to_tensor(float(temperature), "float32"),
        )

    def generate(self, num_steps, num_samples=None, condition=None, seed=None, temperature=1.0, state=None):
        """Generate the next `num_steps` time steps of a sequence model, resumably (streaming).

        The first call starts `num_samples` sequences; it returns the steps drawn and a `state`
        (the model's cache, the last values, the position and the seed) that the next call
        takes to go on where this one stopped. Steps are drawn with `step_seed(seed, i)` for
        the global position i, so calls of N1, N2, ... steps give exactly the samples of one
        call of N1 + N2 + ... steps, and `generate(N, n, seed=s)` equals
        `sample(n, num_steps=N, seed=s)`. Each distinct `num_steps` is compiled once.

        Args:
            num_steps: int >= 1. Time steps to draw in this call.
            num_samples: int. Sequences to start (first call only; defaults to 1).
            condition: a global condition (class labels `[num_samples]` or vectors), first call
                only (the state keeps it); or, for a model with a local condition (a feature
                sequence, e.g. WaveNet's `local_conditioning`), the frames of this call's steps,
                `[num_samples, >= ceil(num_steps / hop), features]`, on every call, as they
                arrive (calls must then start on a frame boundary).
            seed: int or None, first call only. None draws a fresh seed.
            temperature: float > 0, for this call.
            state: None to start, or the `state` a previous call returned.

        Returns:
            `(samples, state)`: `[num_samples, num_steps, *input_shape[1:]]` (int32 levels for
            discrete heads, float32 otherwise) and the state to pass on.

        Example:

        >>> model = keras_ar.models.WaveNet(input_shape=(8,), num_levels=4, residual_channels=4,
        ...     dilation_channels=4, skip_channels=4, num_layers_per_stack=2, num_stacks=1)
        >>> a, state = model.generate(5, num_samples=2, seed=1)
        >>> b, state = model.generate(7, state=state)
        >>> whole = model.sample(2, num_steps=12, seed=1)
        >>> to_np = keras.ops.convert_to_numpy
        >>> bool(np.array_equal(np.concatenate([to_np(a), to_np(b)], 1), to_np(whole)))
        True
        """
        if not self.variable_length:
            raise ValueError(
                f"`generate` streams sequence models; {type(self).__name__} draws whole events of shape "
                f"{self.event_shape}: use `sample(num_samples)`. Received: num_steps={num_steps!r}"
            )
        if not self.has_cached_step:
            raise ValueError(
                f"{type(self).__name__} has no cached `step` to stream with: use `sample(n, num_steps=...)`."
            )
        check_int(num_steps, "num_steps", 1)
        if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool) or not temperature > 0:
            raise ValueError(f"`temperature` must be a float > 0. Received: temperature={temperature!r}")
        local = self._stream_condition_keys()
        if state is None:
            n = 1 if num_samples is None else check_int(num_samples, "num_samples", 1)
            seed = resolve_seed(seed)
            vector = None if local else self._sample_condition(condition, n)
            state = {
                "cache": self.init_cache(n, vector, ops.convert_to_tensor(seed, "int32")),
                "x_prev": ops.zeros((n, self.head.event_size), "float32"),
                "index": ops.zeros((), "int32"),
                "seed": ops.convert_to_tensor(seed, "int32"),
            }
        else:
            if not isinstance(state, dict) or set(state) != {"cache", "x_prev", "index", "seed"}:
                raise ValueError(
                    "`state` must be the state a previous `generate` call returned (a dict with keys 'cache', "
                    f"'x_prev', 'index', 'seed'). Received: {type(state).__name__}"
                )
            n = int(ops.shape(state["x_prev"])[0])
            for value, name in ((num_samples, "num_samples"), (seed, "seed")):
                if value is not None and not (name == "num_samples" and value == n):
                    raise ValueError(
                        f"`{name}` is kept in `state` when a generation goes on: pass `{name}=None`. "
                        f"Received: {name}={value!r}"
                    )
            if condition is not None and not local:
                raise ValueError(
                    "The global condition is kept in `state` when a generation goes on: pass `condition=None`. "
                    "Received: a condition"
                )
        cache = state["cache"]
        done = int(ops.convert_to_numpy(state["index"])) // self._steps_per_group()
        capacity = self._stream_capacity()
        if capacity is not None and done + num_steps > capacity:
            raise ValueError(
                f"{type(self).__name__}'s generation cache holds {capacity} time steps; {done} are drawn, so "
                f"`num_steps` can be at most {capacity - done} ({self._stream_capacity_fix()}). "
                f"Received: num_steps={num_steps}"
            )
        if local:
            start = int(ops.convert_to_numpy(state["index"])) // self._steps_per_group()
            cache = self._add_stream_condition(cache, condition, n, num_steps, start)
        fn = compiled_method(self, f"generate_steps{num_steps}", _generate_chunk(num_steps))
        samples, cache, x_prev = fn(
            cache, state["x_prev"], state["index"], state["seed"], ops.convert_to_tensor(float(temperature), "float32")
        )
        cache = {k: v for k, v in cache.items() if k not in local}
        groups = num_steps * self._steps_per_group()
        state = {"cache": cache, "x_prev": x_prev, "index": state["index"] + groups, "seed": state["seed"]}
        return samples, state

    def _steps_per_group(self):
        """Groups drawn per time step of a sequence model (its channels, one at a time, or 1)."""
        return int(np.prod(self.event_shape[1:])) // self.head.event_size

    def _stream_capacity(self):
        """The most time steps one `generate` stream can hold (a fixed-size cache), or None."""
        return None

    def _stream_capacity_fix(self):
        return "a larger cache"

    def _stream_condition_keys(self):
        """The cache keys that hold a local condition, replaced on every `generate` call (none here)."""
        return ()

    def _add_stream_condition(self, cache, condition, n, num_steps, start):
        """The cache with the local condition of `generate`'s next `num_steps` steps from time
        `start` (a model with `_stream_condition_keys` defines it)."""
        raise NotImplementedError(f"{type(self).__name__} takes no local condition")

    def _generate_tensors(self, cache, x_prev, index, seed, temperature, num_steps):
        """The loop of `generate`, tensor-only: `num_steps` time steps from position `index`.

        Returns `(samples [n, num_steps, *input_shape[1:]] float32, cache, x_prev)`.
        """
        e = self.head.event_size
        n = ops.shape(x_prev)[0]
        groups = num_steps * self._steps_per_group()

        def body(i, state):
            out, cache, x_prev = state
            params, cache = self.step(cache, x_prev, index + i)
            value = ops.reshape(self.head.sample(params, step_seed(seed, index + i), temperature), (-1, e))
            value = ops.cast(value, "float32")
            zero = ops.zeros((), "int32")
            out = ops.slice_update(out, ops.stack([zero, ops.cast(i, "int32"), zero]), ops.expand_dims(value, 1))
            return out, cache, value

        out = ops.zeros((n, groups, e), "float32")
        out, cache, x_prev = ops.fori_loop(0, groups, body, (out, cache, x_prev))
        return ops.reshape(out, (n, num_steps) + tuple(self.event_shape[1:])), cache, x_prev

    @property
    def has_cached_step(self):
        """True when the model's `step` is faster than one teacher-forced pass per step."""
        return type(self).step is not AutoregressiveModel.step

    def _sample_tensors(self, condition, known, known_mask, seed, temperature, use_cache=True):
        """The generation engine, tensor-only (what `sample` compiles and export traces).

        Args:
            condition: None or the condition vector `[n, condition_size]` (see `compute_params`).
            known: float32 `[n, *input_shape]`, values kept where `known_mask` is 1.
            known_mask: float32 0/1 of the shape of `known`.
            seed: int32 scalar. Step i draws with `step_seed(seed, i)`.
            temperature: float32 scalar > 0.
            use_cache: python bool. The model's `init_cache` / `step` / `fill_cache`, or the naive
                ones (one teacher-forced pass per step); both draw the same values.

        The event shape generated is the static shape of `known`: `input_shape`, or for a
        `variable_length` model `(num_steps, *input_shape[1:])` (time order).

        Returns:
            float32 `[n, *known.shape[1:]]`.

        The known prefix (the leading positions of the order known in every sample) is
        absorbed by `fill_cache` and the loop starts after it; later known values are written
        instead of drawn. Writes into the sample are `slice_update`s of one group.
        """
        if use_cache:
            init, step, fill = self.init_cache, self.step, self.fill_cache
        else:
            init, step, fill = self._naive_init_cache, self._naive_step, self._naive_fill_cache
        n = ops.shape(known)[0]
        shape = tuple(known.shape[1:])
        e = self.head.event_size
        g_count = int(np.prod(shape)) // e
        known = ops.reshape(ops.cast(known, "float32"), (n, g_count, e))
        keep = ops.reshape(ops.cast(known_mask, "float32"), (n, g_count, e))
        cache = init(n, condition, seed)
        if not use_cache and shape != self.event_shape:
            cache = {**cache, "x": ops.zeros((n,) + shape, "float32")}
        order = self._generation_order(cache, g_count)  # [groups], or [n, groups] for a per-sample order
        per_sample = len(order.shape) == 2
        kept = ops.min(ops.min(keep, axis=-1), axis=0) if not per_sample else ops.min(keep, axis=-1)
        if per_sample:
            in_order = ops.min(ops.take_along_axis(kept, order, axis=1), axis=0)
        else:
            in_order = ops.take(kept, order)
        start = ops.cast(ops.sum(ops.cumprod(in_order)), "int32")  # length of the known prefix
        x = known * keep
        # no known prefix (plain sampling): no teacher-forced pass
        cache = ops.cond(start > 0, lambda: fill(cache, ops.reshape(x, (n,) + shape), start), lambda: cache)

        def group_at(i):
            return ops.take(order, i, axis=-1)  # scalar, or [n]

        def read(values, g):
            if per_sample:
                return ops.take_along_axis(values, ops.reshape(g, (-1, 1, 1)), axis=1)[:, 0]
            return ops.take(values, g, axis=1)

        def body(i, state):
            x, cache = state
            params, cache = step(cache, read(x, group_at(ops.maximum(i - 1, 0))), i)
            g = group_at(i)
            value = ops.reshape(self.head.sample(params, step_seed(seed, i), temperature), (-1, e))
            value = ops.where(read(keep, g) > 0, read(known, g), ops.cast(value, "float32"))
            if per_sample:
                x = ops.where(ops.expand_dims(ops.one_hot(g, g_count) > 0, -1), ops.expand_dims(value, 1), x)
            else:
                zero = ops.zeros((), "int32")
                x = ops.slice_update(x, ops.stack([zero, ops.cast(g, "int32"), zero]), ops.expand_dims(value, 1))
            return x, cache

        x, _ = ops.fori_loop(start, g_count, body, (x, cache))
        return ops.reshape(x, (n,) + shape)

    def _order_tensor(self, cache):
        """The sampling order of the groups as an int32 tensor `[groups]` (or `[n, groups]`)."""
        return ops.convert_to_tensor(np.asarray(self.group_ordering()).astype("int32"))

    def _generation_order(self, cache, num_groups):
        """`_order_tensor`, or time order for `num_groups` groups of a `variable_length` model
        run to another length."""
        if num_groups == self.num_groups:
            return self._order_tensor(cache)
        return ops.arange(num_groups, dtype="int32")

    # -- the cache contract (DESIGN.md, "Generation engine"); the defaults are the naive step
    def init_cache(self, batch_size, condition=None, seed=None):
        """The state before the first step: a nested structure of tensors.

        Args:
            batch_size: int or int32 scalar tensor.
            condition: None or the condition vector `[batch, condition_size]`.
            seed: int32 scalar tensor, for models that draw something once per sample.
        """
        return self._naive_init_cache(batch_size, condition, seed)

    def step(self, cache, x_prev, index):
        """Absorb the previous group's value and give the next group's parameters.

        Args:
            cache: the state, as `init_cache` or the last `step` returned it; it has absorbed
                every group at order positions before `index - 1`.
            x_prev: float32 `[batch, event_size]`: the value of the group at order position
                `index - 1` (zeros, to be ignored, when `index` is 0).
            index: int32 scalar tensor: a position in the sampling order.

        Returns:
            `(params, cache)`: float32 `[batch, num_params]` of the group at position `index`,
            and the new state.
        """
        return self._naive_step(cache, x_prev, index)

    def fill_cache(self, cache, x, num_known):
        """Absorb a known prefix: the state before the step at position `num_known`.

        Args:
            cache: the state from `init_cache`.
            x: float32 `[batch, *input_shape]`, right at every order position before `num_known`.
            num_known: int32 scalar tensor.

        A model whose step keeps a cache overrides this with one teacher-forced pass where it
        can; the default runs `step` over the prefix.
        """
        if not self.has_cached_step:
            return self._naive_fill_cache(cache, x, num_known)
        n = ops.shape(x)[0]
        g_count = int(np.prod(tuple(x.shape[1:]))) // self.head.event_size
        flat = ops.reshape(x, (n, g_count, self.head.event_size))
        order = self._generation_order(cache, g_count)

        def body(i, cache):
            prev = ops.take(order, ops.maximum(i - 1, 0))
            return self.step(cache, ops.take(flat, prev, axis=1), i)[1]

        return ops.fori_loop(0, num_known, body, cache)

    def _naive_init_cache(self, batch_size, condition=None, seed=None):
        cache = {"x": ops.zeros((batch_size,) + self.event_shape, "float32")}
        if condition is not None:
            cache["condition"] = condition
        return cache

    def _naive_fill_cache(self, cache, x, num_known):
        return {**cache, "x": x}  # positions from `num_known` on are rewritten before they are read

    def _naive_step(self, cache, x_prev, index):
        """One full teacher-forced pass on the event so far; the parameters at `index`."""
        n, e = ops.shape(x_prev)[0], self.head.event_size
        shape = tuple(cache["x"].shape[1:])  # the event shape, or another length of a sequence model
        g_count = int(np.prod(shape)) // e
        order = self._generation_order(cache, g_count)
        x = ops.reshape(cache["x"], (n, g_count, e))
        zero = ops.zeros((), "int32")
        prev = ops.take(order, ops.maximum(index - 1, 0))
        x = ops.slice_update(x, ops.stack([zero, prev, zero]), ops.expand_dims(x_prev, 1))
        x = ops.reshape(x, (n,) + shape)
        params = self.compute_params(x, cache.get("condition"), training=False)
        params = ops.reshape(params, (n, g_count, self.head.num_params))
        return ops.take(params, ops.take(order, index), axis=1), {**cache, "x": x}

    # ------------------------------------------------------------------ input handling
    @staticmethod
    def _unpack(inputs, condition):
        return unpack_inputs(inputs, condition)

    def _condition_vector(self, condition):
        if condition is None or not self.condition_size:
            check_condition(condition, self.num_classes, self.condition_shape)  # raises if one is missing/extra
            return None
        if self.num_classes is not None:
            return ops.one_hot(ops.cast(ops.reshape(condition, (-1,)), "int32"), self.num_classes)
        return self._scaled_condition(ops.reshape(ops.cast(condition, "float32"), (-1, self.condition_size)))

    def _scaled_condition(self, vector):
        """A float32 condition divided by `condition_scale` (when set)."""
        return vector if self.condition_scale is None else vector / self.condition_scale

    def _warn_unscaled_condition(self, condition):
        """Warn when condition IMAGES look mis-scaled for training: raw pixel levels (above 10)
        with no `condition_scale`, or values already within [-1, 1] that `condition_scale > 1`
        divides again. Networks fed values up to 255 train badly, and nothing else would say why."""
        if condition is None or len(self.condition_shape or ()) != 3:
            return
        values = concrete(condition)
        if values is None or not values.size or values.dtype.kind not in "biuf":
            return
        wide = values.astype(np.float64) if values.dtype.kind != "f" else values
        peak = float(max(np.nanmax(wide), -np.nanmin(wide)))
        name = type(self).__name__
        if self.condition_scale is None and peak > 10:
            levels = self.head.num_levels  # condition images of the data's kind share its levels
            if values.dtype == np.uint8:
                suggest = 255.0
            elif levels and peak <= levels - 1:
                suggest = float(levels - 1)
            else:
                suggest = float(math.ceil(peak))
            warnings.warn(
                f"The condition images reach {peak:g}: {name} feeds them to its layers as they are, and raw pixel "
                f"levels train badly. Pass `condition_scale={suggest:g}` (their largest level, e.g. 255 for 8-bit "
                "images) to the constructor, or scale them to about [0, 1] yourself (`condition_scale=1` "
                "silences this).",
                stacklevel=4,
            )
        elif self.condition_scale is not None and self.condition_scale > 1 and 0 < peak <= 1:
            warnings.warn(
                f"The condition images are already within [-1, 1] and {name} divides them by "
                f"condition_scale={self.condition_scale:g}: pass the raw levels, or drop `condition_scale`.",
                stacklevel=4,
            )

    def _checked(self, x, condition, name="x", where=""):
        """Unpack and check `x` and `condition` at the door; tensors ready for `self(...)`."""
        x, condition = self._unpack(x, condition)
        values = check_event(x, self.event_shape, self.head, name=name, where=where)
        batch = None if values is None else values.shape[0]
        cvalues = check_condition(condition, self.num_classes, self.condition_shape, batch, where=where)
        if values is not None:
            x = values if values.dtype.kind == "f" else values.astype("float32")
        if cvalues is not None:
            condition = cvalues
        return ops.convert_to_tensor(x, "float32"), (
            None if condition is None else ops.convert_to_tensor(condition)
        )

    def _sample_condition(self, condition, n, num_steps=None):
        """The condition vector for `sample`; `num_steps` (a sequence model's other length) is for
        models whose condition is a time-aligned sequence."""
        if condition is not None and self.condition_size:
            c = np.asarray(concrete(condition))
            single = c.ndim == 0 if self.num_classes is not None else c.shape == self.condition_shape
            if single:
                c = np.broadcast_to(c, (n,) + c.shape)
            condition = c
        c = check_condition(condition, self.num_classes, self.condition_shape, n)
        return None if c is None else self._condition_vector(ops.convert_to_tensor(c))

    def _sample_known(self, known, known_mask, n, event_shape=None):
        event_shape = self.event_shape if event_shape is None else tuple(event_shape)
        shape = (n,) + event_shape
        if (known is None) != (known_mask is None):
            raise ValueError(
                "Pass both `known` and `known_mask` or neither. "
                f"Received: known={'None' if known is None else 'an array'}, "
                f"known_mask={'None' if known_mask is None else 'an array'}"
            )
        if known is None:
            zeros = ops.zeros(shape, "float32")
            return zeros, zeros
        known = np.asarray(concrete(known))
        mask = np.asarray(concrete(known_mask))
        if mask.dtype.kind not in "biu" or (mask.size and not np.isin(mask, (0, 1)).all()):
            raise ValueError(f"`known_mask` must be boolean. Received: dtype={mask.dtype}")
        try:
            known = np.broadcast_to(known, shape)
            mask = np.broadcast_to(mask.astype(bool), shape)
        except ValueError:
            raise ValueError(
                f"`known` and `known_mask` must have shape {shape} or {event_shape}. "
                f"Received: known.shape={known.shape}, known_mask.shape={mask.shape}"
            ) from None
        if self.head.event_size > 1:
            pixels = mask.reshape(mask.shape[:-1] + (-1, self.head.event_size))
            if np.any(pixels.any(-1) != pixels.all(-1)):
                raise ValueError(
                    f"{type(self.head).__name__} draws the {self.head.event_size} channels of a pixel together: "
                    "`known_mask` must keep or drop whole pixels. Received a mask that keeps part of a pixel."
                )
        if mask.any():
            self.head.check_values(known[mask], name="known")
        values = np.where(mask, known, 0).astype("float32")
        return ops.convert_to_tensor(values), ops.convert_to_tensor(mask.astype("float32"))

    def _prepare_data(self, x, y, name, kwargs, warn_condition=False):
        """Check data for fit/evaluate/predict and pack conditions so Keras passes them to `call`.

        Arrays are checked whole. Streams are checked on every batch: a `tf.data` dataset
        gets graph assertions in its pipeline (`tf_batch_check`), a generator or `PyDataset`
        is wrapped to check each batch in Python (`BatchChecker`); the first batch is checked
        here, so an empty stream or a wrong shape or dtype fails before training starts.
        Every element is packed as a 1-tuple `(x,)` or `((x, condition),)`, so Keras sees no `y`.
        `kwargs` are the Keras keyword arguments: `batch_size` batches an unbatched dataset.
        `warn_condition` (training data): warn about raw condition images (`_warn_unscaled_condition`).
        """

        def warn(element):  # the first batch (or the arrays) of the training data
            if warn_condition:
                self._warn_unscaled_condition(self._unpack(_as_tuple_or_dict(element), None)[1])

        checker = BatchChecker(self.head, self.event_shape, self.num_classes, self.condition_shape)
        if _is_dataset(x) or isinstance(x, (types.GeneratorType, keras.utils.PyDataset)):
            if y is not None:
                raise ValueError(
                    f"With a {_kind(x)}, pass no `y`: yield `(x, condition)` instead. Received: y of type {type(y).__name__}"
                )
        if _is_dataset(x):
            x = self._batched(x, name, kwargs)
            card = int(x.cardinality())
            first = next(iter(x.take(1)), None) if card != 0 else None
            if first is None:
                raise ValueError(f"`{name}` is an empty dataset: it yields no batch.")
            fx, fc = self._unpack(_as_tuple_or_dict(first), None)
            self._checked(fx, fc, name=name, where=batch_where(name, 0))
            warn(first)
            check = tf_batch_check(self.head, self.event_shape, self.num_classes, self.condition_shape, name)
            return x.enumerate().map(lambda index, element: _pack_element(check(index, element))), None
        if isinstance(x, types.GeneratorType):
            first = next(x, _EMPTY)
            if first is _EMPTY:
                raise ValueError(f"`{name}` is an empty generator: it yields no batch.")
            checker(first, batch_where(name, 0), marked=False)
            warn(first)
            return _checked_generator(itertools.chain([first], x), checker, name), None
        if isinstance(x, keras.utils.PyDataset):
            if _num_batches(x) == 0:
                raise ValueError(f"`{name}` is an empty PyDataset: it holds no batch.")
            checker(x[0], f" in `{name}[0]`", marked=False)
            warn(x[0])
            return _CheckedPyDataset(x, checker, name), None
        if x is None:
            raise ValueError(f"`{name}` must be given. Received: {name}=None")
        if y is not None:
            x = (x, y)
        fx, fc = self._unpack(x, None)
        if len(fx) == 0:
            raise ValueError(f"`{name}` is empty: it holds no example. Received: shape={np.shape(fx)}")
        self._checked(fx, fc, name=name)
        warn(x)
        return ((fx, fc) if fc is not None else fx), None

    def _batched(self, ds, name, kwargs):
        """`ds`, or `ds.batch(batch_size)` with a warning when its elements are single examples."""
        spec = ds.element_spec
        spec = spec.get("x") if isinstance(spec, dict) else (spec[0] if isinstance(spec, tuple) and spec else spec)
        shape = getattr(spec, "shape", None)
        if shape is None or shape.rank != len(self.event_shape) or not shape.is_compatible_with(self.event_shape):
            return ds  # batched (or of another shape: the first batch's check says so)
        batch_size = kwargs.pop("batch_size", None) or 32
        warnings.warn(
            f"`{name}` is a dataset of single examples (each of shape {tuple(spec.shape)}, the shape of one "
            f"example): batching it for you with `{name}.batch({batch_size})` (`batch_size={batch_size}`). "
            "Batch it yourself to choose, e.g. `ds.batch(64).prefetch(tf.data.AUTOTUNE)`.",
            stacklevel=4,
        )
        return ds.batch(batch_size)


def _sample_and_cast(use_cache):
    """The function `sample` compiles: the engine, then int32 levels for discrete heads."""

    def run(model, condition, known, known_mask, seed, temperature):
        out = model._sample_tensors(condition, known, known_mask, seed, temperature, use_cache=use_cache)
        return ops.cast(out, "int32") if model.head.is_discrete else out

    return run


def _generate_chunk(num_steps):
    """The function `generate` compiles for `num_steps` steps."""

    def run(model, cache, x_prev, index, seed, temperature):
        out, cache, x_prev = model._generate_tensors(cache, x_prev, index, seed, temperature, num_steps)
        return (ops.cast(out, "int32") if model.head.is_discrete else out), cache, x_prev

    return run


def _is_dataset(x):
    return hasattr(x, "element_spec") and hasattr(x, "map") and hasattr(x, "cardinality")


def _is_streamed(x):
    return _is_dataset(x) or isinstance(x, (types.GeneratorType, keras.utils.PyDataset))


def _kind(x):
    if _is_dataset(x):
        return "dataset"
    return "generator" if isinstance(x, types.GeneratorType) else "PyDataset"


def _as_tuple_or_dict(element):
    return element if isinstance(element, (tuple, dict)) else (element,)


def _pack_element(*element):
    """Element `x`, `(x, condition)` or a dict -> a 1-tuple, so Keras sees no `y`."""
    if len(element) == 1:
        element = element[0]
        if isinstance(element, list):
            element = tuple(element)
        if not isinstance(element, tuple):
            return (element,)
        if len(element) == 1:
            return (element[0],)
    return (tuple(element),)


_EMPTY = object()


def _num_batches(dataset):
    try:
        return dataset.num_batches
    except NotImplementedError:  # an infinite PyDataset without `num_batches`
        return None


def _checked_generator(batches, checker, name):
    """Yield every batch of `batches`, checked and packed for Keras (which takes tuples only)."""
    for index, element in enumerate(batches):
        yield _pack_element(checker(element, batch_where(name, index)))


class _CheckedPyDataset(keras.utils.PyDataset):
    """A `PyDataset` whose batches are checked and packed; the wrapped one's workers, queue,
    length and epoch hooks are kept."""

    def __init__(self, dataset, checker, name):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset, self.checker, self.name = dataset, checker, name

    def __getitem__(self, index):
        return _pack_element(self.checker(self.dataset[index], f" in `{self.name}[{index}]`"))

    @property
    def num_batches(self):
        return _num_batches(self.dataset)

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


@contextlib.contextmanager
def _input_errors(model):
    """Raise a per-batch input check's error as the `ValueError` it carries (unwrapped from TF's).

    On JAX, Keras detaches the variables' values while `fit` / `evaluate` / `predict` run
    (the state goes through a stateless function) and attaches them again when they end
    normally; an error raised by a batch in between would leave the model without weights.
    Here the state of the last step is attached again (or, if no step ran, the values from
    before the call), so the model stays usable after the error.
    """
    saved = _jax_values(model)
    try:
        yield
    except BaseException as e:
        if saved:
            model.jax_state_sync()  # the state after the last step that ran, if one did
            for variable, value in saved:  # else the values from before (not donated: no step ran)
                if variable._value is None:
                    variable._value = value
        error = input_error(e) if isinstance(e, Exception) else None
        if error is None:
            raise
        raise error from None


def _jax_values(model):
    """(variable, value) of every model, optimizer and metric variable, on the JAX backend."""
    if keras.backend.backend() != "jax":
        return []
    variables = list(model.variables) + list(model.metrics_variables)
    if getattr(model, "optimizer", None) is not None and model.optimizer.built:
        variables += list(model.optimizer.variables)
    unique = {id(v): v for v in variables}
    return [(v, v._value) for v in unique.values() if v._value is not None]
