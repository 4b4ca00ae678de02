"""Compile a pure function for the active backend (used by samplers and the export layer)."""

import keras


def compile_function(fn):
    """`tf.function` on TensorFlow; as it is elsewhere.

    On JAX the sampler's `keras.ops.fori_loop` is `jax.lax.fori_loop`, which traces and
    compiles its body on every call already; wrapping it in `jax.jit` would freeze the
    model's weights into the compiled function.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    return fn
