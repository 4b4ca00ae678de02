"""Moved to `keras_ar.generation.compile`; this re-export stays while code elsewhere still imports it."""

from keras_ar.generation.compile import clear_compiled, compiled_method, tf_xla_function, trace_count  # noqa: F401
