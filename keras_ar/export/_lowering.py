"""A model's `keras.ops` functions as functions of TensorFlow tensors, for the serving graph.

The serving signatures are TensorFlow functions (their input checks are TensorFlow ops);
what they compute is the model's, written with `keras.ops`. `Lowering(archive, model)`
turns such a function into one a TensorFlow graph can call:

- TensorFlow backend: the function itself, traced into the graph. (Functions that sample
  compile their loop as `model.sample` does, with `keras_ar.utils.compile`: XLA on
  TensorFlow, where a seed draws other numbers than outside XLA.)
- JAX backend: `jax.experimental.jax2tf.convert` of a stateless version of the function
  (the model's variables are arguments, bound to the archive's TensorFlow copies of them),
  serialized as StableHLO (an `XlaCallModule` op) for CPU and CUDA. The JAX computation,
  random number generator included (threefry), is what the SavedModel runs, so a seed
  draws the numbers `model.sample` draws on JAX. Every unknown dimension of the inputs is
  the batch size, one symbolic dimension.

An input that the function takes as a size (`num_samples`) travels as a `[size, 0]`
float32 tensor, so that the size is a dimension (symbolic on JAX, static for each XLA
compilation on TensorFlow), and the function receives `ops.shape(...)[0]`.
"""

import keras
import tensorflow as tf

# The platforms a JAX model's serialized computation is lowered for: a TensorFlow server on CPU or CUDA.
_PLATFORMS = ("cpu", "cuda")


class Lowering:
    """Functions of the model, callable from a TensorFlow graph (see the module docstring).

    Args:
        archive: the `keras.export.ExportArchive` that tracks `model` (on JAX it holds the
            TensorFlow copies of the model's variables that the SavedModel saves).
        model: a built Keras model.
    """

    def __init__(self, archive, model):
        self.backend = keras.backend.backend()
        if self.backend not in ("tensorflow", "jax"):
            raise RuntimeError(
                "Serving functions are lowered to TensorFlow graphs on the TensorFlow and JAX backends only "
                f"(`export_saved_model` exports other backends' models in a TensorFlow twin process). "
                f"Received: backend={self.backend!r}"
            )
        self.model = model
        if self.backend == "jax":
            self.variables = list(model.trainable_variables) + list(model.non_trainable_variables)
            self.tf_variables = list(archive.trainable_variables) + list(archive.non_trainable_variables)
            if [tuple(v.shape) for v in self.variables] != [tuple(v.shape) for v in self.tf_variables]:
                raise RuntimeError("The export archive must track exactly the model's variables.")

    def __call__(self, fn, specs, sizes=()):
        """`fn` as a function of TensorFlow tensors.

        Args:
            fn: a function of tensors written with `keras.ops`, returning a nested structure of
                tensors.
            specs: `tf.TensorSpec`s of the arguments the graph passes (a size: int32 scalar).
            sizes: indices of the arguments that `fn` takes as sizes.

        Returns:
            A function of TensorFlow tensors (as `specs`) with `fn`'s results.
        """
        sizes = frozenset(sizes)

        def to_sizes(args):
            return [ops_size(a) if i in sizes else a for i, a in enumerate(args)]

        if self.backend == "tensorflow":

            def inner(*args):
                return fn(*to_sizes(args))

        else:
            inner = self._jax(fn, specs, sizes, to_sizes)

        def call(*args):
            return inner(*[_carrier(a) if i in sizes else a for i, a in enumerate(args)])

        return call

    def _jax(self, fn, specs, sizes, to_sizes):
        from jax.experimental import jax2tf

        variables = self.variables

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*to_sizes(args))

        shapes = [[_poly(v.shape) for v in variables]]
        shapes += ["(b, 0)" if i in sizes else _poly(s.shape) for i, s in enumerate(specs)]
        converted = jax2tf.convert(
            stateless, polymorphic_shapes=shapes, with_gradient=False, native_serialization_platforms=_PLATFORMS
        )
        tf_variables = self.tf_variables

        def call(*args):
            return converted(list(tf_variables), *args)

        return call


def ops_size(carrier):
    """The size a `[size, 0]` carrier stands for (a dimension: symbolic on JAX)."""
    return keras.ops.shape(carrier)[0]


def _carrier(size):
    return tf.zeros(tf.stack([size, 0]), tf.float32)


def _poly(shape):
    """jax2tf's polymorphic shape of a `TensorShape`: every unknown dimension is the batch `b`."""
    dims = list(shape) if not isinstance(shape, tf.TensorShape) else shape.as_list()
    return "(" + ", ".join("b" if d is None else str(int(d)) for d in dims) + ("," if len(dims) == 1 else "") + ")"
