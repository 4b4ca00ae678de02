"""The serving signatures of a keras_ar model, traced on the TensorFlow backend.

Every endpoint checks its inputs inside the graph (`tf.debugging.Assert`, run before
anything else), so a served call with a value outside the support, a non-finite value,
`num_samples < 1`, `temperature <= 0`, mismatched `known` / `known_mask` or a bad condition
fails with an `InvalidArgumentError` whose message names the input and what was expected,
instead of returning NaN. Wrong ranks, shapes and dtypes are refused by the signatures.
"""

import math

import keras
import tensorflow as tf

from keras_ar.utils.compile import tf_xla_function

# model.sample maps an int seed s to s % (2**31 - 1); served seeds are mapped the same way.
SEED_MODULUS = 2**31 - 1


def build_archive(model, use_cache=True):
    """A `keras.export.ExportArchive` holding `model` and its serving endpoints.

    Endpoints, in order (the first, `log_prob`, is also `serving_default`): `log_prob`,
    `conditional_log_probs`, `sample`, `complete`, and `serve` (Keras' conventional name,
    the same function as `log_prob`). Needs the TensorFlow backend.

    Args:
        model: a built `keras_ar.models.AutoregressiveModel`.
        use_cache: bool. Trace the model's faster exact sampler where it has one.

    Returns:
        A `keras.export.ExportArchive`, ready for `write_out(path)`.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "`build_archive` traces the model with TensorFlow and needs the TensorFlow backend. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    ep = _Endpoints(model, use_cache)
    archive = keras.export.ExportArchive()
    archive.track(model)
    fns = _conditional_functions(ep) if ep.conditional else _unconditional_functions(ep)
    if not model.has_prior:  # an autoencoder: images come from codes (`decode`), not from `sample`
        fns = {k: v for k, v in fns.items() if k not in ("sample", "complete")}
        fns.update(_autoencoder_functions(model, use_cache))
    endpoints = {}
    for name, (fn, inputs) in fns.items():
        endpoints[name] = archive.add_endpoint(name, fn, ep.specs(inputs))
    # `serve` is the traced `log_prob` itself: no second trace, one function in the SavedModel.
    endpoints["log_prob"].get_concrete_function()
    archive.add_endpoint("serve", endpoints["log_prob"])
    if streams(model, use_cache):
        stream = _Stream(ep)
        archive.add_endpoint("generate_init", stream.init_function(), stream.init_specs())
        archive.add_endpoint("generate_step", stream.step_function(), stream.step_specs())
    return archive


def streams(model, use_cache=True):
    """Whether the export of `model` has the streaming `generate_init` / `generate_step` signatures:
    a sequence model (`variable_length`) with a cached step."""
    return bool(use_cache and model.variable_length and model.has_cached_step)


class _Stream:
    """`generate_init` and `generate_step`: `model.generate` as two signatures whose state is a
    flat dict of tensors named by their path in the state (`cache__layers__input_conv__buffer`,
    ..., `x_prev`, `index`, `seed`): a server feeds the state that one call returns to the next.

    Each `generate_step` call draws `stream_steps = input_shape[0]` time steps (a fixed number:
    the loop is XLA-compiled like `model.sample`, so that a seed gives the model's samples).
    """

    def __init__(self, ep):
        self.ep, self.model = ep, ep.model
        model = self.model
        self.stream_steps = int(model.event_shape[0])
        self.local = tuple(model._stream_condition_keys())
        self.global_condition = ep.conditional and not self.local
        probe = {n: self._flat(self._initial_state(n, self._probe(n) if self.global_condition else None)) for n in (1, 2)}
        self.state_specs = {}
        for name, value in probe[1].items():
            other = probe[2][name]
            shape = [None if a != b else a for a, b in zip(value.shape, other.shape)]  # the batch dims
            self.state_specs[name] = tf.TensorSpec(shape, value.dtype, name=name)
        self._loop = tf_xla_function(
            lambda cache, x_prev, index, seed, temperature: model._generate_tensors(
                cache, x_prev, index, seed, temperature, self.stream_steps
            )
        )

    def _probe(self, n):
        if self.model.num_classes is not None:
            return tf.zeros([n], tf.int32)
        return tf.zeros([n, *self.model.condition_shape], tf.float32)

    def _initial_state(self, n, condition, seed=None):
        model = self.model
        vector = None if condition is None else model._condition_vector(condition)
        seed = tf.zeros([], tf.int32) if seed is None else seed
        return {
            "cache": model.init_cache(n, vector, seed),
            "x_prev": tf.zeros([n, model.head.event_size], tf.float32),
            "index": tf.zeros([], tf.int32),
            "seed": seed,
        }

    @staticmethod
    def _flat(state):
        return {"__".join(str(p) for p in path): tf.convert_to_tensor(v) for path, v in keras.tree.flatten_with_path(state)}

    def _nested(self, flat):
        template = self._initial_state(1, self._probe(1) if self.global_condition else None)
        paths = ["__".join(str(p) for p in path) for path, _ in keras.tree.flatten_with_path(template)]
        return keras.tree.pack_sequence_as(template, [flat[p] for p in paths])

    # ------------------------------------------------------------------ generate_init
    def init_specs(self):
        specs = [tf.TensorSpec([], tf.int32, name="num_samples"), tf.TensorSpec([], tf.int32, name="seed")]
        if self.global_condition:
            specs.append(self.ep.specs([])[0])
        return specs

    def init_function(self):
        ep = self.ep

        def init(num_samples, seed, condition=None):
            checks = [_assert(num_samples >= 1, "`num_samples` must be an int >= 1. Received:", num_samples)]
            checks += ep._condition_checks(condition, num_samples)
            with tf.control_dependencies(checks):
                seed = served_seed(seed)
                condition = None if condition is None else ep._repeat(condition, num_samples)
                return self._flat(self._initial_state(num_samples, condition, seed))

        if self.global_condition:
            return lambda num_samples, seed, condition: init(num_samples, seed, condition)
        return lambda num_samples, seed: init(num_samples, seed)

    # ------------------------------------------------------------------ generate_step
    def step_specs(self):
        specs = list(self.state_specs.values()) + [tf.TensorSpec([], tf.float32, name="temperature")]
        if self.local:
            frames = -(-self.stream_steps // self.model.hop)
            features = self.model.condition_shape[1]
            specs.append(tf.TensorSpec([None, frames, features], tf.float32, name="condition"))
        return specs

    def step_function(self):
        model, ep, names = self.model, self.ep, list(self.state_specs)
        groups = self.stream_steps * model._steps_per_group()

        def step(*args):
            flat = dict(zip(names, args[: len(names)]))
            temperature = args[len(names)]
            state = self._nested(flat)
            cache = state["cache"]
            checks = [ep._temperature_check(temperature)]
            capacity = model._stream_capacity()
            if capacity is not None:
                checks.append(_assert(
                    state["index"] // model._steps_per_group() + self.stream_steps <= capacity,
                    f"The generation cache holds {capacity} time steps and each `generate_step` draws "
                    f"{self.stream_steps}: the stream is full. Start another with `generate_init`. Steps drawn:",
                    state["index"] // model._steps_per_group(),
                ))
            if self.local:
                condition = args[len(names) + 1]
                n = tf.shape(state["x_prev"])[0]
                checks += ep._condition_checks(condition, n)
                with tf.control_dependencies(checks):
                    vector = model._scaled_condition(tf.reshape(ep._repeat(condition, n), [n, -1]))
                    start = state["index"] // model._steps_per_group()
                    features = model._condition_cache(vector)["features"]
                    cache = {**cache, "features": features, "feature_start": start}
            with tf.control_dependencies(checks):
                out, cache, x_prev = self._loop(cache, state["x_prev"], state["index"], state["seed"], temperature)
            cache = {k: v for k, v in cache.items() if k not in self.local}
            out = tf.cast(out, tf.int32) if model.head.is_discrete else tf.cast(out, tf.float32)
            new = {"cache": cache, "x_prev": x_prev, "index": state["index"] + groups, "seed": state["seed"]}
            return {"samples": out, **self._flat(new)}

        return _with_arguments(step, names + ["temperature"] + (["condition"] if self.local else []))


def _unconditional_functions(ep):
    """Endpoint name -> (function, its inputs): the parameter names are the signature's input names."""

    def log_prob(x):
        return ep.log_prob(x)

    def conditional_log_probs(x):
        return ep.conditional_log_probs(x)

    def sample(num_samples, seed, temperature):
        return ep.sample(num_samples, seed, temperature)

    def complete(known, known_mask, seed, temperature):
        return ep.complete(known, known_mask, seed, temperature)

    return _table(log_prob, conditional_log_probs, sample, complete)


def _conditional_functions(ep):
    """As `_unconditional_functions`, each with a last input `condition`."""

    def log_prob(x, condition):
        return ep.log_prob(x, condition)

    def conditional_log_probs(x, condition):
        return ep.conditional_log_probs(x, condition)

    def sample(num_samples, seed, temperature, condition):
        return ep.sample(num_samples, seed, temperature, condition)

    def complete(known, known_mask, seed, temperature, condition):
        return ep.complete(known, known_mask, seed, temperature, condition)

    return _table(log_prob, conditional_log_probs, sample, complete)


def _autoencoder_functions(model, use_cache):
    """`encode` (x -> code) and `decode` (code, seed, temperature -> samples, the decoder's engine)
    of a `PixelCNNAutoEncoder`."""
    ep = _Endpoints(model, use_cache)
    decoder = _Endpoints(model.decoder, use_cache)

    def encode(x):
        x, _ = ep._scored(x, None)
        return {"code": model._encode(x)}

    def decode(code, seed, temperature):
        return decoder.sample(tf.shape(code)[0], seed, temperature, code)

    return {"encode": (encode, ["x"]), "decode": (decode, ["code", "seed", "temperature"])}


def _table(log_prob, conditional_log_probs, sample, complete):
    # `log_prob` first: ExportArchive makes the first endpoint `serving_default`.
    return {
        "log_prob": (log_prob, ["x"]),
        "conditional_log_probs": (conditional_log_probs, ["x"]),
        "sample": (sample, ["num_samples", "seed", "temperature"]),
        "complete": (complete, ["known", "known_mask", "seed", "temperature"]),
    }


class _Endpoints:
    """The tensor-only functions behind the signatures of one model."""

    def __init__(self, model, use_cache):
        self.model = model
        self.head = model.head
        self.use_cache = bool(use_cache)
        self.event_shape = tuple(model.event_shape)
        self.conditional = bool(model.condition_size)
        # XLA-compiled like `model.sample`, so that a seed draws the same numbers (see tf_xla_function)
        self._engine = tf_xla_function(
            lambda vector, known, mask, seed, temperature: model._sample_tensors(
                vector, known, mask, seed, temperature, use_cache=self.use_cache
            )
        )

    # ------------------------------------------------------------------ signatures
    def specs(self, names):
        """`tf.TensorSpec`s of the named inputs, plus `condition` for a conditional model."""
        event = (None,) + self.event_shape
        if "code" in names:  # an autoencoder's `decode`: the code is the decoder's condition
            return [tf.TensorSpec((None, self.model.code_size), tf.float32, name="code"),
                    tf.TensorSpec([], tf.int32, name="seed"), tf.TensorSpec([], tf.float32, name="temperature")]
        table = {
            "x": tf.TensorSpec(event, tf.float32, name="x"),
            "known": tf.TensorSpec(event, tf.float32, name="known"),
            "known_mask": tf.TensorSpec(event, tf.float32, name="known_mask"),
            "num_samples": tf.TensorSpec([], tf.int32, name="num_samples"),
            "seed": tf.TensorSpec([], tf.int32, name="seed"),
            "temperature": tf.TensorSpec([], tf.float32, name="temperature"),
        }
        specs = [table[n] for n in names]
        if self.conditional:
            if self.model.num_classes is not None:
                specs.append(tf.TensorSpec([None], tf.int32, name="condition"))
            else:
                specs.append(tf.TensorSpec((None,) + tuple(self.model.condition_shape), tf.float32, name="condition"))
        return specs

    # ------------------------------------------------------------------ endpoints
    def log_prob(self, x, condition=None):
        x, condition = self._scored(x, condition)
        params = self.model(x, condition=condition, training=False)
        log_prob = self.model._log_prob_from_params(params, x, condition, training=False)
        bits = -log_prob / (self.model.num_dims * math.log(2.0))
        return {"log_prob": log_prob, "bits_per_dim": bits}

    def conditional_log_probs(self, x, condition=None):
        x, condition = self._scored(x, condition)
        params = self.model(x, condition=condition, training=False)
        return {"conditional_log_probs": self.head.log_prob(params, x)}

    def sample(self, num_samples, seed, temperature, condition=None):
        checks = [
            _assert(num_samples >= 1, "`num_samples` must be an int >= 1. Received:", num_samples),
            self._temperature_check(temperature),
        ]
        checks += self._condition_checks(condition, num_samples)
        with tf.control_dependencies(checks):
            shape = tf.concat([tf.reshape(num_samples, [1]), tf.constant(self.event_shape, tf.int32)], 0)
            zeros = tf.zeros(shape, tf.float32)
        return {"samples": self._draw(condition, zeros, zeros, seed, temperature)}

    def complete(self, known, known_mask, seed, temperature, condition=None):
        n = tf.shape(known)[0]
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
            self._temperature_check(temperature),
        ]
        with tf.control_dependencies(checks[:1]):  # the rest compares known and known_mask elementwise
            values = tf.where(keep, known, tf.zeros_like(known))  # only kept values are checked and used
            checks += self._value_checks(values, "known", where="where `known_mask` is 1")
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
        checks += self._condition_checks(condition, n)
        with tf.control_dependencies(checks):
            values = tf.identity(values)
            mask = tf.cast(keep, tf.float32)
        return {"samples": self._draw(condition, values, mask, seed, temperature)}

    # ------------------------------------------------------------------ helpers
    def _scored(self, x, condition):
        """`x` and `condition` after the in-graph checks; the condition repeated to the batch."""
        n = tf.shape(x)[0]
        checks = self._value_checks(x, "x") + self._condition_checks(condition, n)
        with tf.control_dependencies(checks):
            x = tf.identity(x)
            condition = None if condition is None else self._repeat(condition, n)
        return x, condition

    def _draw(self, condition, known, known_mask, seed, temperature):
        n = tf.shape(known)[0]
        vector = None if condition is None else self.model._condition_vector(self._repeat(condition, n))
        seed = served_seed(seed)
        out = self._engine(vector, known, known_mask, seed, temperature)
        out = tf.convert_to_tensor(out)
        return tf.cast(out, tf.int32) if self.head.is_discrete else tf.cast(out, tf.float32)

    def _repeat(self, condition, n):
        """One condition (a batch of 1) repeated to `n`; `n` conditions unchanged."""
        shape = tf.concat([tf.reshape(n, [1]), tf.shape(condition)[1:]], 0)
        return tf.broadcast_to(condition, shape)

    def _value_checks(self, x, name, where=""):
        where = f" {where}" if where else ""
        finite = tf.math.is_finite(x)
        checks = [_assert(tf.reduce_all(finite), f"`{name}` contains NaN or inf values{where}.")]
        if self.head.is_discrete:
            top = self.head.num_levels - 1
            ok = tf.logical_or(tf.logical_and(x >= 0.0, x <= float(top)), tf.logical_not(finite))
            checks.append(
                _assert(
                    tf.reduce_all(ok),
                    f"`{name}` values must lie in 0..{top} for `{type(self.head).__name__}` with "
                    f"{self.head.num_levels} levels{where}. Received values from",
                    tf.reduce_min(x),
                    "to",
                    tf.reduce_max(x),
                )
            )
            integer = tf.logical_or(tf.equal(x, tf.round(x)), tf.logical_not(finite))
            bad = tf.boolean_mask(x, tf.logical_not(integer))
            checks.append(
                _assert(
                    tf.reduce_all(integer),
                    f"`{name}` must hold integer levels 0..{top} (as float32){where}; it holds non-integer "
                    "values. Received:",
                    bad,
                )
            )
        return checks

    def _temperature_check(self, temperature):
        return _assert(
            tf.logical_and(temperature > 0.0, tf.math.is_finite(temperature)),
            "`temperature` must be a finite float > 0. Received:",
            temperature,
        )

    def _condition_checks(self, condition, n):
        if condition is None:
            return []
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
        if self.model.num_classes is not None:
            top = self.model.num_classes - 1
            checks.append(
                _assert(
                    tf.reduce_all(tf.logical_and(condition >= 0, condition <= top)),
                    f"`condition` labels must lie in 0..{top}. Received labels from",
                    tf.reduce_min(condition),
                    "to",
                    tf.reduce_max(condition),
                )
            )
        else:
            checks.append(
                _assert(tf.reduce_all(tf.math.is_finite(condition)), "`condition` contains NaN or inf values.")
            )
        return checks


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


def _with_arguments(fn, names):
    """`fn(*args)` as a function whose parameters are `names` (ExportArchive names the signature's
    inputs after the traced function's parameters)."""
    source = f"def wrapper({', '.join(names)}):\n    return fn({', '.join(names)})\n"
    scope = {"fn": fn}
    exec(source, scope)  # noqa: S102 -- the names are the state's paths, made above
    return scope["wrapper"]


def _assert(condition, message, *data):
    """A `tf.debugging.Assert` whose error starts with `message` (then the values of `data`)."""
    return tf.debugging.Assert(condition, [message, *data], summarize=8)
