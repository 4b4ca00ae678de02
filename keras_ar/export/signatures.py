"""The serving signatures of a keras_ar model.

A model says what it serves through its public `serving_functions(use_cache)`: signature
name -> `(fn, inputs)`, `fn` a `keras.ops` function of the named inputs. This module wraps
each in a TensorFlow function with the inputs' specs and checks, lowers `fn` into the graph
(`_lowering.Lowering`: traced on TensorFlow, converted by jax2tf on JAX) and adds it to a
`keras.export.ExportArchive`; sequence models with a cached step also get the streaming
`generate_init` / `generate_step`, built from the model's public generation API.

Every endpoint checks its inputs inside the graph (`tf.debugging.Assert`, run before
anything else), so a served call with a value outside the support, a non-finite value,
`num_samples < 1`, `temperature <= 0`, mismatched `known` / `known_mask` or a bad condition
fails with an `InvalidArgumentError` whose message names the input and what was expected,
instead of returning NaN. Wrong ranks, shapes and dtypes are refused by the signatures.
"""

import inspect

import keras
import tensorflow as tf
from keras import ops

from keras_ar import generation
from keras_ar.utils import compile as compile_utils
from keras_ar.utils import validation
from keras_ar.export._lowering import Lowering

# model.sample maps an int seed s to s % (2**31 - 1); served seeds are mapped the same way.
SEED_MODULUS = 2**31 - 1
# The inputs `serving_functions` may name (besides a model's own, given as `keras.InputSpec`s).
STANDARD_INPUTS = ("x", "known", "known_mask", "num_samples", "seed", "temperature", "condition")
# The streamed state's tensors besides the cache's (`cache_0`, `cache_1`, ...).
STATE_TENSORS = ("x_prev", "index", "seed")
CACHE_PREFIX = "cache_"


def build_archive(model, use_cache=True):
    """A `keras.export.ExportArchive` holding `model` and its serving endpoints.

    Endpoints, in order: those of `model.serving_functions(use_cache)` (the first, `log_prob`
    for every model, is also `serving_default`), `serve` (Keras' conventional name, the same
    function as the first), and for sequence models with a cached step `generate_init` and
    `generate_step`. Runs on the TensorFlow and JAX backends.

    Args:
        model: a built `keras_ar.models.AutoregressiveModel`.
        use_cache: bool. Trace the model's faster exact sampler where it has one.

    Returns:
        A `keras.export.ExportArchive`, ready for `write_out(path)`.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    lower = Lowering(archive, model)
    inputs = _Inputs(model)
    functions = _checked_functions(model, use_cache)
    first = None
    for name, (fn, names) in functions.items():
        endpoint = archive.add_endpoint(name, _endpoint(inputs, lower, fn, names))
        first = first or endpoint
    # `serve` is the traced first function itself: no second trace, one function in the SavedModel.
    archive.add_endpoint("serve", first)
    if streams(model, use_cache):
        stream = _Stream(model, inputs, lower)
        archive.add_endpoint("generate_init", stream.init_endpoint())
        archive.add_endpoint("generate_step", stream.step_endpoint())
    return archive


def streams(model, use_cache=True):
    """Whether the export of `model` has the streaming `generate_init` / `generate_step` signatures:
    a sequence model (`variable_length`) with a cached step."""
    return bool(use_cache and model.variable_length and model.has_cached_step)


def _checked_functions(model, use_cache):
    functions = model.serving_functions(use_cache=use_cache)
    if not isinstance(functions, dict) or not functions:
        raise ValueError(
            f"{type(model).__name__}.serving_functions() must return a non-empty dict of signature name -> "
            f"(fn, inputs). Received: {functions!r}"
        )
    reserved = {"serve", "serving_default", "generate_init", "generate_step"}
    for name, entry in functions.items():
        ok = isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0]) and isinstance(entry[1], (list, tuple))
        if not ok or name in reserved or not str(name).isidentifier():
            raise ValueError(
                f"{type(model).__name__}.serving_functions() maps signature names (identifiers, not "
                f"{sorted(reserved)}) to (fn, input names). Received: {name!r}: {entry!r}"
            )
        for spec in entry[1]:
            if not (spec in STANDARD_INPUTS or (isinstance(spec, keras.InputSpec) and spec.name and spec.shape)):
                raise ValueError(
                    f"The inputs of the serving function {name!r} must be among {STANDARD_INPUTS} or "
                    f"`keras.InputSpec`s with a name and a shape. Received: {spec!r}"
                )
    return functions


def _with_parameters(fn, names):
    """`fn(*args)` with the parameter names `names`: tf.function, and so the SavedModel, names
    a signature's inputs after the traced function's parameters."""
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    return fn


def _traced(fn, names, specs):
    function = tf.function(_with_parameters(fn, names), input_signature=specs, autograph=False)
    function.get_concrete_function()
    return function


def _endpoint(inputs, lower, fn, names):
    """The traced signature of one serving function: its inputs' checks, then `fn`, lowered."""
    arg_names = [n if isinstance(n, str) else n.name for n in names]
    specs = [inputs.spec(n) for n in names]
    sizes = [i for i, n in enumerate(arg_names) if n == "num_samples"]
    lowered = lower(fn, [inputs.spec(n) for n in names], sizes=sizes)

    def served(*args):
        values = inputs.prepare(dict(zip(arg_names, args)), [n for n in names if not isinstance(n, str)])
        return lowered(*[values[n] for n in arg_names])

    return _traced(served, arg_names, specs)


class _Inputs:
    """The standard inputs of the signatures of one model: their specs and in-graph checks."""

    def __init__(self, model):
        self.model = model
        self.head = model.head
        self.event_shape = tuple(model.event_shape)
        self.conditional = bool(model.condition_size)
        self.tnp = validation.tf_namespace()

    def spec(self, name):
        """The `tf.TensorSpec` of an input (`keras.InputSpec` for a model's own)."""
        if isinstance(name, keras.InputSpec):
            return tf.TensorSpec(name.shape, tf.as_dtype(name.dtype or "float32"), name=name.name)
        event = (None,) + self.event_shape
        if name in ("x", "known", "known_mask"):
            return tf.TensorSpec(event, tf.float32, name=name)
        if name in ("num_samples", "seed"):
            return tf.TensorSpec([], tf.int32, name=name)
        if name == "temperature":
            return tf.TensorSpec([], tf.float32, name=name)
        if name == "condition":
            return self.condition_spec()
        raise ValueError(f"Unknown serving input. Received: {name!r}")

    def condition_spec(self, shape=None):
        if self.model.num_classes is not None:
            return tf.TensorSpec([None], tf.int32, name="condition")
        return tf.TensorSpec((None,) + tuple(shape or self.model.condition_shape), tf.float32, name="condition")

    # ------------------------------------------------------------------ checks and preparation
    def prepare(self, values, own=()):
        """The inputs after their checks, as the serving function takes them: the condition
        repeated to the batch, the served seed, `known` zero where it is not kept."""
        checks = []
        n = None
        for name in ("x", "known", "num_samples"):
            if name in values:
                n = values[name] if name == "num_samples" else tf.shape(values[name])[0]
                break
        for spec in own:
            if n is None:
                n = tf.shape(values[spec.name])[0]
            checks += validation.graph_checks(
                [], values[spec.name], validation.condition_problems(values[spec.name], None, self.tnp),
                lambda problem, name=spec.name: validation.condition_message(problem, None, name),
            )
        for name in ("x", "known", "known_mask"):
            if name in values:
                checks.append(self.shape_check(values[name], name))
        if "x" in values:
            with tf.control_dependencies(checks[-1:]):
                checks += self.value_checks(values["x"], "x")
        if "num_samples" in values:
            checks.append(_assert_formatted(values["num_samples"] >= 1, validation.num_samples_message(),
                                            values["num_samples"]))
        if "temperature" in values:
            checks.append(self.temperature_check(values["temperature"]))
        out = dict(values)
        if "known" in values:
            known_checks, out["known"], out["known_mask"] = self.known(values["known"], values["known_mask"])
            checks += known_checks
        if "condition" in values:
            checks += self.condition_checks(values["condition"], n)
        with tf.control_dependencies(checks):
            out = {k: tf.identity(v) for k, v in out.items()}
            if "condition" in out:
                out["condition"] = repeat(out["condition"], n)
            if "seed" in out:
                out["seed"] = served_seed(out["seed"])
        return out

    def known(self, known, known_mask):
        keep = known_mask > 0.5
        checks = [
            _assert(
                tf.reduce_all(tf.equal(tf.shape(known), tf.shape(known_mask))),
                "`known` and `known_mask` must have the same shape. Received shapes:",
                tf.shape(known),
                tf.shape(known_mask),
            ),
            _assert(
                tf.reduce_all(tf.logical_or(tf.equal(known_mask, 0.0), tf.equal(known_mask, 1.0))),
                "`known_mask` must hold 0.0 (sample) or 1.0 (keep) only. Received values from",
                tf.reduce_min(known_mask),
                "to",
                tf.reduce_max(known_mask),
            ),
        ]
        with tf.control_dependencies(checks[:1]):  # the rest compares known and known_mask elementwise
            values = tf.where(keep, known, tf.zeros_like(known))  # only kept values are checked and used
            checks += self.value_checks(values, "known", where="where `known_mask` is 1")
            if self.head.event_size > 1:
                pixels = tf.reshape(known_mask, [-1, self.head.event_size])
                checks.append(
                    _assert(
                        tf.reduce_all(tf.equal(tf.reduce_min(pixels, -1), tf.reduce_max(pixels, -1))),
                        f"`known_mask` must keep or drop whole pixels: {type(self.head).__name__} draws the "
                        f"{self.head.event_size} channels of a pixel together. Received a mask that keeps part "
                        "of a pixel.",
                    )
                )
            mask = tf.cast(keep, tf.float32)
        return checks, values, mask

    def shape_check(self, x, name):
        """`x` is `[batch, *input_shape]`: a served graph takes any shape, so say which is expected
        before an op deep in the model fails on it (the message of the eager check)."""
        return validation.graph_shape_check([], x, self.event_shape, name, static=False)[0]

    def value_checks(self, x, name, where=""):
        """The head's support, as every path checks it: the same masks, the head's messages."""
        where = f" {where}" if where else ""
        return validation.graph_checks(
            [], x, validation.support_problems(x, self.head.num_levels, self.tnp),
            lambda problem: self.head.value_message(problem, name, "{}", where),
        )

    def temperature_check(self, temperature):
        return _assert_formatted(
            tf.logical_not(validation.temperature_bad(temperature, self.tnp)), validation.temperature_message(),
            temperature,
        )

    def condition_checks(self, condition, n):
        size = tf.shape(condition)[0]
        checks = [
            _assert(
                tf.logical_or(tf.equal(size, n), tf.equal(size, 1)),
                "`condition` must hold one condition per example (or a single one, repeated). "
                "Received: condition batch size, expected batch size =",
                size,
                n,
            )
        ]
        num_classes = self.model.num_classes
        return validation.graph_checks(
            checks, condition, validation.condition_problems(condition, num_classes, self.tnp),
            lambda problem: validation.condition_message(problem, num_classes),
        )


class _Stream:
    """`generate_init` and `generate_step`: streaming `model.generate` as two signatures.

    The state is a flat dict of tensors with stable names: `cache_0` ... `cache_{k-1}`, the
    leaves of the model's generation cache in the order of its structure (dicts in their
    insertion order, lists in order: never named after layers), then `x_prev`, `index` and
    `seed`. A server feeds the state that one call returns to the next.

    Each `generate_step` call draws `stream_steps = input_shape[0]` time steps (a fixed number:
    the loop is compiled like `model.generate`'s, so that a seed gives the model's samples).
    """

    def __init__(self, model, inputs, lower):
        self.model, self.inputs, self.lower = model, inputs, lower
        self.stream_steps = int(model.event_shape[0])
        # A local condition (time-aligned features) lives in the cache under two keys: the features
        # of the call's steps (`local_condition_features`) and the time step they start at.
        self.local = tuple(model.local_condition_keys)
        if self.local and len(self.local) != 2:
            raise ValueError(
                "A model with a local condition names two cache keys in `local_condition_keys`: its features and "
                f"the time step they start at. Received: local_condition_keys={self.local!r}"
            )
        self.global_condition = inputs.conditional and not self.local
        # the cache's structure and its leaves' specs: batch dimensions from two probe batch sizes
        probes = [self._initial_state(n, self._probe(n), ops.convert_to_tensor(0, "int32")) for n in (1, 2)]
        self.template = probes[0]["cache"]
        self.cache_paths = list(_paths(self.template))
        self.state_specs = []
        for (name, one), (_, two) in zip(self._leaves(probes[0]), self._leaves(probes[1])):
            shape = [None if a != b else a for a, b in zip(one.shape, two.shape)]
            dtype = tf.as_dtype(keras.backend.standardize_dtype(one.dtype))
            self.state_specs.append(tf.TensorSpec(shape, dtype, name=name))
        self.names = [spec.name for spec in self.state_specs]

    def _probe(self, n):
        if not self.global_condition:
            return None
        if self.model.num_classes is not None:
            return ops.zeros((n,), "int32")
        return ops.zeros((n,) + tuple(self.model.condition_shape), "float32")

    def _initial_state(self, n, condition, seed):
        model = self.model
        vector = None if condition is None else model.condition_vector(condition)
        return {
            "cache": model.init_cache(n, vector, seed),
            "x_prev": ops.zeros((n, model.head.event_size), "float32"),
            "index": ops.zeros((), "int32"),
            "seed": seed,
        }

    # ------------------------------------------------------------------ the flat state
    def _leaves(self, state):
        """`(name, tensor)` of the state's tensors: the cache's leaves read by their paths in the
        template (a compiled loop may hand dicts back in another key order), then the rest."""
        cache = [(f"{CACHE_PREFIX}{i}", _get(state["cache"], path)) for i, path in enumerate(self.cache_paths)]
        return cache + [(key, state[key]) for key in STATE_TENSORS]

    def _flat(self, state):
        return dict(self._leaves(state))

    def _nested(self, flat):
        cache = _pack(self.template, iter(flat[f"{CACHE_PREFIX}{i}"] for i in range(len(self.cache_paths))))
        return {"cache": cache, **{key: flat[key] for key in STATE_TENSORS}}

    # ------------------------------------------------------------------ generate_init
    def init_endpoint(self):
        """`generate_init(num_samples, seed[, condition])` -> the state: `cache_0` ... `cache_{k-1}`
        (the cache's tensors, named by position), `x_prev`, `index`, `seed`."""
        inputs = self.inputs
        names = ["num_samples", "seed"] + (["condition"] if self.global_condition else [])

        def init(num_samples, seed, condition=None):
            return self._flat(self._initial_state(num_samples, condition, seed))

        lowered = self.lower(init, [inputs.spec(n) for n in names], sizes=[0])

        def served(*args):
            values = inputs.prepare(dict(zip(names, args)))
            return lowered(*[values[n] for n in names])

        return _traced(served, names, [inputs.spec(n) for n in names])

    # ------------------------------------------------------------------ generate_step
    def step_endpoint(self):
        """`generate_step(cache_0, ..., cache_{k-1}, x_prev, index, seed, temperature[, condition])`
        -> `samples` (the next `input_shape[0]` time steps) and the next state, same names."""
        model, inputs, steps = self.model, self.inputs, self.stream_steps
        names = self.names + ["temperature"] + (["condition"] if self.local else [])
        specs = self.state_specs + [inputs.spec("temperature")]
        if self.local:  # the frames of this call's `input_shape[0]` steps: `condition_shape` itself
            specs.append(inputs.condition_spec())
        per_step = model.steps_per_group
        capacity = model.stream_capacity

        def run(model, cache, x_prev, index, seed, temperature):
            return generation.generate_tensors(model, cache, x_prev, index, seed, temperature, steps)

        # compiled as `model.generate` compiles its loop (XLA on TensorFlow: the same numbers for a seed)
        loop = compile_utils.compiled_method(model, f"serve_generate_steps{steps}", run)

        def step(*args):
            flat = dict(zip(names, args))
            state = self._nested(flat)
            cache = state["cache"]
            if self.local:  # what `model.add_local_condition` puts in the cache, from tensors
                features_key, start_key = self.local
                features = model.local_condition_features(model.condition_vector(flat["condition"]))
                cache = {**cache, features_key: features, start_key: state["index"] // per_step}
            out, cache, x_prev = loop(cache, state["x_prev"], state["index"], state["seed"], flat["temperature"])
            cache = {k: v for k, v in cache.items() if k not in self.local}
            out = ops.cast(out, "int32") if model.head.is_discrete else ops.cast(out, "float32")
            new = {"cache": cache, "x_prev": x_prev, "index": state["index"] + steps * per_step,
                   "seed": state["seed"]}
            return {"samples": out, **self._flat(new)}

        lowered = self.lower(step, specs)

        def served(*args):
            flat = dict(zip(names, args))
            checks = [inputs.temperature_check(flat["temperature"])]
            if capacity is not None:
                drawn = flat["index"] // per_step
                checks.append(_assert(
                    drawn + steps <= capacity,
                    f"The generation cache holds {capacity} time steps and each `generate_step` draws "
                    f"{steps}: the stream is full. Start another with `generate_init`. Steps drawn:",
                    drawn,
                ))
            if self.local:
                n = tf.shape(flat["x_prev"])[0]
                checks += inputs.condition_checks(flat["condition"], n)
            with tf.control_dependencies(checks):
                args = [tf.identity(a) for a in args]
                if self.local:
                    args[-1] = repeat(args[-1], tf.shape(flat["x_prev"])[0])
            return lowered(*args)

        return _traced(served, names, specs)


def _paths(tree, path=()):
    """The paths of the leaves of a nested structure: dicts in their insertion order, lists in order."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, path + (key,))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from _paths(value, path + (i,))
    else:
        yield path


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _pack(template, values):
    """`template`'s structure with its leaves taken from `values` in the order of `_paths`."""
    if isinstance(template, dict):
        return {key: _pack(value, values) for key, value in template.items()}
    if isinstance(template, (list, tuple)):
        return type(template)(_pack(value, values) for value in template)
    return next(values)


def repeat(condition, n):
    """One condition (a batch of 1) repeated to `n`; `n` conditions unchanged."""
    shape = tf.concat([tf.reshape(n, [1]), tf.shape(condition)[1:]], 0)
    return tf.broadcast_to(condition, shape)


def served_seed(seed):
    """The sampling seed of a served call: `seed % (2**31 - 1)`, or a fresh one when `seed < 0`.

    A non-negative seed gives exactly the samples of `model.sample(n, seed=seed)`. A negative
    seed draws a new seed inside the graph on every call, from a stateful op seeded by the
    operating system's entropy (seed attributes 0, 0), so repeated calls, and processes that
    load the same SavedModel, differ.
    """

    def fresh():  # only run for a negative seed: a server with op determinism on can still serve s >= 0
        return tf.raw_ops.RandomUniformInt(
            shape=tf.constant([], tf.int32),
            minval=tf.constant(0, tf.int32),
            maxval=tf.constant(SEED_MODULUS, tf.int32),
            seed=0,
            seed2=0,
        )

    return tf.cond(seed < 0, fresh, lambda: tf.math.floormod(seed, SEED_MODULUS))


def _assert(condition, message, *data):
    """A `tf.debugging.Assert` whose error starts with `message` (then the values of `data`)."""
    return tf.debugging.Assert(condition, [message, *data], summarize=8)


def _assert_formatted(condition, message, *data):
    """A `tf.debugging.Assert` whose error is `message` with its `{}` filled by `data`."""
    return tf.debugging.Assert(condition, [tf.strings.format(message, list(data))], summarize=8)
