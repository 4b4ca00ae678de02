"""`ServingMixin`: the tensor functions of an `AutoregressiveModel` that `keras_ar.export` serves.

Export takes a model and calls `serving_functions()`; it imports no model module. Everything here
is written with `keras.ops` and the public `keras_ar.generation` loop, so export traces it on
TensorFlow and lowers it with jax2tf on JAX.
"""

import math

from keras import ops

from keras_ar import generation
from keras_ar.utils import compile as compile_utils


class ServingMixin:
    """`serving_functions`: the signatures `keras_ar.export` writes, by name.

    Expects the attributes an `AutoregressiveModel` sets (`head`, `event_shape`, `num_dims`,
    `condition_size`) and its methods `condition_vector` and `log_prob_from_params`.
    """

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
