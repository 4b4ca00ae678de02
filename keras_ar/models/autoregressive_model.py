"""The base of every keras_ar model: the contract, loss, metrics, log-likelihoods, TFP views.

Generation lives in `keras_ar.generation` (the loop, samplers, the step API); this class keeps
the cache contract its subclasses implement and the hooks the engine reads.
"""

import math
import types

import keras
import numpy as np
from keras import ops

from keras_ar import distributions
from keras_ar import generation
from keras_ar.utils import compile as compile_utils
from keras_ar.generation import naive
from keras_ar.utils.compile import clear_compiled
from keras_ar.models import _conditions
from keras_ar.models import _data_adapter
from keras_ar.utils.checks import unpack_inputs
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
        x, condition = self._unpack(inputs, condition)
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

    def serving_functions(self, use_cache=True):
        """The tensor functions that `keras_ar.export` serves, by signature name.

        Each entry is `name: (fn, inputs)`. `fn` takes tensors and returns a dict of output
        tensors (the signature's outputs); it is written with `keras.ops` only, so export traces
        it on TensorFlow and converts it with jax2tf on JAX. `inputs` names `fn`'s arguments in
        order; they are the signature's inputs, and export checks each in the graph before
        `fn` runs:

        - `"x"`: float32 `[batch, *input_shape]`, values in the head's support.
        - `"known"`, `"known_mask"`: as `x`, and 0.0 / 1.0 of its shape; `fn` gets `known`
          zero where the mask is 0 (only kept values are checked).
        - `"num_samples"`: int32 scalar >= 1; `fn` gets it as a size for shapes
          (`ops.zeros((num_samples, ...))`; a symbolic dimension on JAX).
        - `"seed"`: int32 scalar; `fn` gets `seed % (2**31 - 1)`, or a fresh seed for a
          negative one. To serve `sample`'s numbers for a seed, compile the sampling loop as
          `sample` does (`keras_ar.utils.compile.compiled_method`), canvas as argument.
        - `"temperature"`: float32 scalar, finite and > 0.
        - `"condition"`: the model's condition (int32 labels `[batch]` or float32
          `[batch, *condition_shape]`), one condition repeated to the batch.
        - a `keras.InputSpec` with a `name` and a `shape` (batch `None`): an input of the
          model's own; float values must be finite.

        Every unknown dimension of the inputs is the batch size. This base class serves
        `log_prob` (first, so also `serving_default` and `serve`; outputs `log_prob` and
        `bits_per_dim`), `conditional_log_probs`, `sample` and `complete` (outputs `samples`),
        each with a last input `condition` for a conditional model. A subclass overrides this
        to serve other signatures (`PixelCNNAutoEncoder`: `encode` and `decode`, no `sample`).

        Args:
            use_cache: bool. Sample with the model's cached step (the samples are the same).

        Returns:
            dict: signature name -> `(fn, inputs)`, in signature order.

        Example:

        >>> model = keras_ar.models.FVSBN(input_shape=(4,))
        >>> list(model.serving_functions())
        ['log_prob', 'conditional_log_probs', 'sample', 'complete']
        """
        c = ["condition"] if self.condition_size else []

        def scored(x, condition=None):
            return self(x, condition=condition, training=False)

        def log_prob(x, condition=None):
            lp = self.log_prob_from_params(scored(x, condition), x, condition)
            return {"log_prob": lp, "bits_per_dim": -lp / (self.num_dims * math.log(2.0))}

        def conditional_log_probs(x, condition=None):
            return {"conditional_log_probs": self.head.log_prob(scored(x, condition), x)}

        def run(model, condition, known, known_mask, seed, temperature):
            return generation.sample_tensors(model, condition, known, known_mask, seed, temperature, use_cache=use_cache)

        # the engine compiled as `sample` compiles it (XLA on TensorFlow, where a seed draws other
        # numbers than outside XLA; jax.jit on JAX), with its canvas an argument as in `sample`
        engine = compile_utils.compiled_method(self, f"serve_sample_{'cached' if use_cache else 'naive'}", run)

        def complete(known, known_mask, seed, temperature, condition=None):
            out = engine(self.condition_vector(condition), known, known_mask, seed, temperature)
            return {"samples": ops.cast(out, "int32" if self.head.is_discrete else "float32")}

        def sample(num_samples, seed, temperature, condition=None):
            zeros = ops.zeros((num_samples,) + tuple(self.event_shape), "float32")
            return complete(zeros, zeros, seed, temperature, condition)

        return {
            "log_prob": (log_prob, ["x"] + c),
            "conditional_log_probs": (conditional_log_probs, ["x"] + c),
            "sample": (sample, ["num_samples", "seed", "temperature"] + c),
            "complete": (complete, ["known", "known_mask", "seed", "temperature"] + c),
        }

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
        """
        return self._log_prob_from_params(params, x, condition, training)

    def _log_prob_from_params(self, params, x, condition, training):  # the hook MADE and NADE override
        lp = self.head.log_prob(params, x)
        return ops.sum(ops.reshape(lp, (ops.shape(lp)[0], -1)), axis=-1)

    # ------------------------------------------------------------------ sampling (keras_ar.generation)
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
        sampler=None,
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
                `num_steps` steps. None: `input_shape[0]`. One compilation serves every
                `num_steps` up to a capacity (the input length, or the next power of two).
            sampler: None, a `keras_ar.generation.samplers.Sampler` or its name (`"greedy"`,
                `"top_k"`, `"top_p"`, `"temperature"`): how each value is drawn. None: the
                temperature sampler at `temperature` (pass a temperature to one or the other).

        Returns:
            A tensor `[num_samples, *input_shape]` (`[num_samples, num_steps, *input_shape[1:]]`
            with `num_steps`): int32 levels for discrete heads, float32 otherwise.
        """
        return generation.sample(
            self, num_samples, condition=condition, seed=seed, temperature=temperature, known=known,
            known_mask=known_mask, use_cache=use_cache, num_steps=num_steps, sampler=sampler,
        )

    def generate(self, num_steps, num_samples=None, condition=None, seed=None, temperature=1.0, state=None,
                 sampler=None):
        """Generate the next `num_steps` time steps of a sequence model, resumably (streaming).

        The first call starts `num_samples` sequences; it returns the steps drawn and a `state`
        (the model's cache, the last values, the position and the seed) that the next call
        takes to go on where this one stopped. Steps are drawn with `step_seed(seed, i)` for
        the global position i, so calls of N1, N2, ... steps give exactly the samples of one
        call of N1 + N2 + ... steps, and `generate(N, n, seed=s)` equals
        `sample(n, num_steps=N, seed=s)`. One compilation serves every `num_steps` up to a
        capacity (the input length, or the next power of two).

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
            sampler: None, a `keras_ar.generation.samplers.Sampler` or its name, for this call
                (as in `sample`).

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
        return generation.generate(
            self, num_steps, num_samples=num_samples, condition=condition, seed=seed, temperature=temperature,
            state=state, sampler=sampler,
        )

    # -- hooks of sequence models (`variable_length`) for `generate` and export's streaming
    @property
    def steps_per_group(self):
        """Groups drawn per time step of a sequence model (its channels, one at a time, or 1)."""
        return int(np.prod(self.event_shape[1:])) // self.head.event_size

    @property
    def stream_capacity(self):
        """The most time steps one `generate` stream can hold (a fixed-size cache), or None."""
        return None

    @property
    def stream_capacity_hint(self):
        """What to do when a stream needs more than `stream_capacity` steps (for error messages)."""
        return "a larger cache"

    @property
    def local_condition_keys(self):
        """The cache keys that hold a local condition, replaced on every `generate` call (none
        here). Their tensors of rank >= 2 are time-aligned on axis 1 from the call's first step."""
        return ()

    def add_local_condition(self, cache, condition, num_samples, num_steps, start):
        """The cache with the local condition of `generate`'s next `num_steps` steps from time
        `start` (a model with `local_condition_keys` defines it)."""
        raise NotImplementedError(f"{type(self).__name__} takes no local condition")

    @property
    def has_cached_step(self):
        """True when the model's `step` is faster than one teacher-forced pass per step."""
        return type(self).step is not AutoregressiveModel.step

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
        order = naive.generation_order(self, cache, g_count)

        def body(i, cache):
            prev = ops.take(order, ops.maximum(i - 1, 0))
            return self.step(cache, ops.take(flat, prev, axis=1), i)[1]

        return ops.fori_loop(0, num_known, body, cache)

    # the naive step (`keras_ar.generation.naive`), overridable (MADE draws a mask per sample)
    def _naive_init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        return naive.naive_init_cache(self, batch_size, condition, seed, num_steps)

    def _naive_fill_cache(self, cache, x, num_known):
        return naive.naive_fill_cache(self, cache, x, num_known)

    def _naive_step(self, cache, x_prev, index):
        return naive.naive_step(self, cache, x_prev, index)

    def _order_tensor(self, cache):
        """The sampling order of the groups as an int32 tensor `[groups]` (or `[n, groups]`)."""
        return naive.order_tensor(self)

    # ------------------------------------------------------------------ conditions and inputs
    def condition_vector(self, condition):
        """A condition (labels `[batch]`, vectors `[batch, *condition_shape]`, tensors) as the
        float32 `[batch, condition_size]` that `compute_params` and `init_cache` take: labels
        one-hot, vectors flattened and divided by `condition_scale`. None without a condition."""
        return _conditions.condition_vector(self, condition)

    def scale_condition(self, vector):
        """A float32 condition vector `[batch, condition_size]` divided by `condition_scale` (when set)."""
        return _conditions.scale_condition(self, vector)

    def generation_condition(self, condition, num_samples, num_steps=None, capacity=None):
        """The checked condition vector for generating `num_samples` samples (one label or
        vector is repeated). `num_steps` and `capacity` (time steps generated, and those the
        compiled loop holds) are for a sequence model whose condition is time-aligned."""
        return _conditions.generation_condition(self, condition, num_samples)

    @staticmethod
    def _unpack(inputs, condition):
        return unpack_inputs(inputs, condition)

    def _checked(self, x, condition, name="x", where=""):
        """Unpack and check `x` and `condition` at the door; tensors ready for `self(...)`."""
        return _data_adapter.checked(self, x, condition, name=name, where=where)

    def _warn_unscaled_condition(self, condition):
        _conditions.warn_unscaled_condition(self, condition)

    # ------------------------------------------------------------------ old private names (export uses them)
    def _condition_vector(self, condition):
        return self.condition_vector(condition)

    def _scaled_condition(self, vector):
        return self.scale_condition(vector)

    def _sample_condition(self, condition, n, num_steps=None):
        return self.generation_condition(condition, n, num_steps=num_steps)

    def _steps_per_group(self):
        return self.steps_per_group

    def _stream_capacity(self):
        return self.stream_capacity

    def _stream_capacity_fix(self):
        return self.stream_capacity_hint

    def _stream_condition_keys(self):
        return self.local_condition_keys

    def _add_stream_condition(self, cache, condition, n, num_steps, start):
        return self.add_local_condition(cache, condition, n, num_steps, start)

    def _sample_tensors(self, condition, known, known_mask, seed, temperature, use_cache=True):
        return generation.sample_tensors(self, condition, known, known_mask, seed, temperature, use_cache=use_cache)

    def _generate_tensors(self, cache, x_prev, index, seed, temperature, num_steps):
        return generation.generate_tensors(self, cache, x_prev, index, seed, temperature, num_steps)
