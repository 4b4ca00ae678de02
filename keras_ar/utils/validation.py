"""What a keras_ar model takes, written once: the masks of bad values and the messages.

Every path that checks input evaluates the same definitions:

- eager NumPy arrays and tensors (`DistributionHead.check_values`, `checks.check_condition`):
  the masks in NumPy, a `ValueError` with the first bad value (`raise_first`);
- `tf.data` pipelines (`checks.tf_batch_check`) and the served SavedModel signatures
  (`keras_ar.export.signatures`): the masks in TensorFlow, graph assertions with the same
  message, the value filled in by `tf.strings.format` (`graph_checks`, `graph_shape_check`);
- the model itself (`DistributionHead.guard_support`): the masks in `keras.ops`, NaN where a
  value is outside the support (inside compiled steps, where nothing can be raised).

A mask function takes the data and an array namespace `xp` with the names NumPy, `keras.ops`
and TensorFlow share here (`NUMPY`, `KERAS`, `tf_namespace()`), and returns the problems in the
order they are checked, `[(problem, bad)]`; `problem` is the name the message functions
(`DistributionHead.value_message`, `condition_message`) take. The first problem with a bad
element is the one reported. TensorFlow is imported only by the graph helpers.
"""

import types

import keras
import numpy as np

NUMPY = types.SimpleNamespace(
    isfinite=np.isfinite,
    round=np.round,
    equal=np.equal,
    not_equal=np.not_equal,
    less=np.less,
    greater=np.greater,
    logical_or=np.logical_or,
    logical_and=np.logical_and,
    logical_not=np.logical_not,
    cast=lambda x, dtype: np.asarray(x).astype(dtype),
)
KERAS = keras.ops  # has every name of NUMPY


def tf_namespace():
    """The namespace of the masks in TensorFlow ops (a `tf.data` map runs TF ops on every backend)."""
    import tensorflow as tf

    return types.SimpleNamespace(
        isfinite=tf.math.is_finite,
        round=tf.round,
        equal=tf.equal,
        not_equal=tf.not_equal,
        less=tf.less,
        greater=tf.greater,
        logical_or=tf.logical_or,
        logical_and=tf.logical_and,
        logical_not=tf.logical_not,
        cast=tf.cast,
    )


def dtype_kind(dtype):
    """`"b"`, `"i"`, `"u"` or `"f"` for a bool, int, uint or float dtype (NumPy, TensorFlow, JAX,
    torch or a name); None for anything else (strings, complex)."""
    try:
        name = keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError):
        return None
    if name == "bool":
        return "b"
    if name.startswith("uint"):
        return "u"
    if name.startswith("int"):
        return "i"
    if name.startswith(("float", "bfloat")):
        return "f"
    return None


# ---------------------------------------------------------------------- the data x
def dtype_refused(dtype, num_levels):
    """Whether a head with `num_levels` (None: real-valued) refuses data of `dtype` (problem `"dtype"`):
    a real-valued head takes floats, a discrete one bools, ints and integer-valued floats."""
    kind = dtype_kind(dtype)
    return kind != "f" if num_levels is None else kind is None


def support_problems(x, num_levels, xp):
    """`[(problem, bad)]`: where `x` leaves the support of a head with `num_levels` levels (None:
    real-valued), in the order checked: `"nonfinite"` (floats), then for discrete heads
    `"fraction"` (floats) and `"range"` (outside `0..num_levels - 1`). The names are those of
    `DistributionHead.value_message`."""
    floating = dtype_kind(x.dtype) == "f"
    problems = []
    if floating:
        problems.append(("nonfinite", xp.logical_not(xp.isfinite(x))))
    if num_levels is None:
        return problems
    if floating:
        problems.append(("fraction", xp.not_equal(x, xp.round(x))))
    else:
        x = xp.cast(x, "float32")  # exact for every level a model takes; compared with float bounds
    problems.append(("range", xp.logical_or(xp.less(x, 0.0), xp.greater(x, num_levels - 1.0))))
    return problems


# ---------------------------------------------------------------------- conditions
def condition_dtype_refused(dtype, num_classes):
    """Whether a condition of `dtype` is refused: labels are ints or integer-valued floats, vectors numbers."""
    kind = dtype_kind(dtype)
    return kind not in ("i", "u", "f") if num_classes is not None else kind is None


def condition_problems(condition, num_classes, xp):
    """`[(problem, bad)]` of a condition: class labels (`num_classes` set) must be integers
    (`"fraction"`, NaN included) in `0..num_classes - 1` (`"range"`); vectors finite (`"nonfinite"`).
    The names are those of `condition_message`."""
    floating = dtype_kind(condition.dtype) == "f"
    if num_classes is None:
        return [("nonfinite", xp.logical_not(xp.isfinite(condition)))] if floating else []
    problems = []
    if floating:
        integer = xp.logical_and(xp.isfinite(condition), xp.equal(condition, xp.round(condition)))
        problems.append(("fraction", xp.logical_not(integer)))
    else:
        condition = xp.cast(condition, "float32")
    problems.append(("range", xp.logical_or(xp.less(condition, 0.0), xp.greater(condition, num_classes - 1.0))))
    return problems


def condition_message(problem, num_classes, name="condition", value="{}", where=""):
    """The message of a bad condition (`problem` as `condition_problems` names it, or `"dtype"`)."""
    if problem == "dtype":
        if num_classes is not None:
            return f"`{name}` must hold integer class labels. Received: dtype={value}{where}."
        return f"`{name}` must be a finite numeric array. Received: dtype={value}{where}."
    if problem == "fraction":
        return f"`{name}` must hold integer class labels. Received a label of {value}{where}."
    if problem == "range":
        return f"`{name}` labels must lie in 0..{num_classes - 1}. Received a label of {value}{where}."
    if problem == "nonfinite":
        return f"`{name}` contains NaN or inf values. Received a value of {value}{where}."
    raise ValueError(f"Unknown problem {problem!r}")


# ---------------------------------------------------------------------- shapes and numbers
def shape_message(name, expected, received, where=""):
    """`name` must be a batch of `expected` (the shape after the batch axis; None: any size)."""
    dims = "".join(", ?" if d is None else f", {d}" for d in expected)
    return f"`{name}` must have shape (batch{dims}). Received: {name}.shape={received}{where}"


def temperature_bad(temperature, xp):
    """True where `temperature` is not a finite number > 0."""
    return xp.logical_not(xp.logical_and(xp.greater(temperature, 0.0), xp.isfinite(temperature)))


def temperature_message(value="{}"):
    return f"`temperature` must be a finite float > 0. Received: temperature={value}"


def num_samples_message(value="{}"):
    return f"`num_samples` must be an int >= 1. Received: num_samples={value}"


# ---------------------------------------------------------------------- eager: NumPy
def raise_first(values, problems, message):
    """Raise `ValueError(message(problem, value))` for the first problem with a bad element of the
    NumPy array `values` (`value`: the first bad one); return if there is none."""
    for problem, bad in problems:
        bad = np.asarray(bad)
        if bad.any():
            raise ValueError(message(problem, np.asarray(values)[bad].ravel()[0]))


# ---------------------------------------------------------------------- graphs: TensorFlow
def graph_checks(deps, values, problems, message, data=(), mark=str):
    """Graph assertions that no problem of `problems` (masks over `values`, TF tensors) has a bad
    element, each run after the previous (the first failure wins), appended to `deps`.

    `message(problem)` is the message with the value as the `"{}"` of `tf.strings.format`;
    `data` fills the placeholders after it (e.g. a batch number), `mark` wraps the text.
    """
    import tensorflow as tf

    for problem, bad in problems:
        with tf.control_dependencies(deps):
            text = tf.strings.format(mark(message(problem)), [_first_bad(tf, values, bad), *data])
            deps = deps + [tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [text], summarize=1)]
    return deps


def graph_shape_check(deps, values, expected, name, where="", data=(), mark=str, static=True):
    """A graph assertion that `values` is `[batch, *expected]` (None in `expected`: any size), with
    `shape_message`; skipped when `static` and the static shape already says so."""
    import tensorflow as tf

    spec = values.shape
    if static and spec.rank == len(expected) + 1 and all(
        e is None or (d is not None and d == e) for d, e in zip(spec[1:], expected)
    ):
        return deps
    keep = [i + 1 for i, e in enumerate(expected) if e is not None]
    shape = tf.shape(values)
    ok = tf.equal(tf.rank(values), len(expected) + 1)
    if keep:  # padded, so that the gather works whatever the rank received
        padded = tf.pad(shape, [[0, len(expected) + 1]])
        ok = tf.logical_and(ok, tf.reduce_all(tf.equal(tf.gather(padded, keep), [e for e in expected if e is not None])))
    with tf.control_dependencies(deps):
        text = tf.strings.format(mark(shape_message(name, expected, "{}", where) + "."), [shape, *data])
        return deps + [tf.debugging.Assert(ok, [text], summarize=8)]


def _first_bad(tf, values, bad):
    """The first element of `values` where `bad` is set (0 if none)."""
    flat = tf.concat([tf.reshape(values, [-1]), tf.zeros([1], values.dtype)], 0)
    bad = tf.concat([tf.reshape(bad, [-1]), [False]], 0)
    return tf.gather(flat, tf.argmax(tf.cast(bad, tf.int32)))
