"""Compile a model's tensor-only functions once per model and argument shapes, on every backend.

- TensorFlow: `tf.function(jit_compile=True)` (XLA). The model's variables are captured by reference, so weights
  assigned later are read by the next call without a new trace.
- JAX: `jax.jit` of a stateless function that takes the values of the model's variables as
  arguments and runs the model inside a `keras.StatelessScope` (keras-hub's pattern for
  `CausalLM.generate`): one compilation per argument shapes, and new weights are new
  argument values, not a new trace.
- torch: eager, under `torch.no_grad()` (a `keras.ops.fori_loop` is a Python loop there).

The compiled functions are kept per model in a `weakref.WeakKeyDictionary` (off Keras'
attribute tracking; they hold only a weak reference to the model) and keyed by the
identities of the model's variables, so a rebuilt model compiles again;
`clear_compiled(model)` drops them (the model calls it from `compile()` and `build()`).
"""

import weakref

import keras

_COMPILED = weakref.WeakKeyDictionary()  # model -> {(name, variable ids): compiled function}


def _state_variables(model):
    return list(model.trainable_variables) + list(model.non_trainable_variables)


def compiled_method(model, name, fn):
    """`fn(model, *tensors)` compiled for `model` under the key `name`; returns `f(*tensors)`.

    `fn` must be a plain function of tensors (nested structures and None allowed) that
    reads the model's weights only through its layers and variables.
    """
    variables = _state_variables(model)
    key = (name, tuple(id(v) for v in variables))
    fns = _COMPILED.setdefault(model, {})
    if key not in fns:
        for old in [k for k in fns if k[0] == name]:
            del fns[old]  # the model was rebuilt: its old variables are gone
        fns[key] = _compile(model, fn, variables)
    return fns[key]


def clear_compiled(model):
    """Forget every compiled function of `model` (after `compile()` or a rebuild)."""
    _COMPILED.pop(model, None)


def trace_count(model, name):
    """How many times the function `name` of `model` has been traced (JAX and TF; 0 on torch)."""
    return sum(getattr(f, "traces", 0) for (n, _), f in _COMPILED.get(model, {}).items() if n == name)


class _Compiled:
    """A callable with a count of its traces (the Python body runs once per trace)."""

    def __init__(self, call):
        self.call = call
        self.traces = 0

    def __call__(self, *args):
        return self.call(*args)


def tf_xla_function(fn):
    """`tf.function(fn, jit_compile=True)`: the whole sampling loop compiled by XLA on TensorFlow,
    as `jax.jit` compiles it on JAX (op-by-op graph execution costs ~20x more per step here).

    Export uses it too: TensorFlow's stateless random ops may pick another generator under XLA
    than outside it, so a served `sample` equals `model.sample` only if both are XLA-compiled.
    """
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True, jit_compile=True)


def _compile(model, fn, variables):
    ref = weakref.ref(model)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def traced(*args):
            holder.traces += 1
            return fn(ref(), *args)

        holder = _Compiled(None)
        holder.call = tf_xla_function(traced)
        return holder
    if backend == "jax":
        import jax

        var_refs = [weakref.ref(v) for v in variables]

        def stateless(values, *args):
            holder.traces += 1
            mapping = zip([r() for r in var_refs], values)
            with keras.StatelessScope(state_mapping=mapping):
                return fn(ref(), *args)

        jitted = jax.jit(stateless)

        def call(*args):
            return jitted([r().value for r in var_refs], *args)

        holder = _Compiled(call)
        return holder
    if backend == "torch":
        import torch

        def eager(*args):
            with torch.no_grad():
                return fn(ref(), *args)

        return _Compiled(eager)
    return _Compiled(lambda *args: fn(ref(), *args))

