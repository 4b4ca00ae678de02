"""Input checks at the door: shapes, dtypes, supports, conditions.

Eager inputs (NumPy, tensors) are checked here with NumPy. Data that arrives batch by batch
(a `tf.data.Dataset`, a Python generator, a `keras.utils.PyDataset`) is checked on every
batch: `tf_batch_check` adds graph assertions to a `tf.data` pipeline (TensorFlow is imported
only when a dataset is given), `BatchChecker` checks each batch of a generator or `PyDataset`
in Python. Their errors carry the message between markers so that it survives TensorFlow's
wrapping (`InvalidArgumentError`); `input_error` turns such an error back into the
`ValueError` that names the value, the batch and the fix.
"""

import numbers
import re

import keras
import numpy as np

_OPEN, _CLOSE = "<keras_ar>", "</keras_ar>"  # around messages raised while data streams


def concrete(x):
    """`x` as a NumPy array when its values are known now (NumPy, lists, eager tensors), else None.

    Symbolic tensors (inside `tf.function`, a JAX trace or a Keras functional graph) have
    no values yet; their checks are left to the static shape.
    """
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple, int, float, bool, np.generic)):
        return np.asarray(x)
    if keras.utils.is_keras_tensor(x):
        return None
    try:
        return keras.ops.convert_to_numpy(x)
    except Exception:  # symbolic: tf graph tensor or JAX tracer
        return None


def static_shape(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(None if d is None else int(d) for d in shape)


def _shape_error(name, event_shape, shape, where=""):
    message = (
        f"`{name}` must have shape (batch, {', '.join(map(str, event_shape))}). "
        f"Received: {name}.shape={shape}{where}"
    )
    if tuple(shape) == tuple(event_shape):
        message += (
            ": one example without a batch axis. Pass a batch (e.g. `x[None]`); "
            "batch a dataset of single examples with `ds.batch(32)`, and make a generator yield batches"
        )
    return ValueError(message + ".")


def check_event(x, event_shape, head, name="x", where=""):
    """Check rank, event shape, dtype and support of a batch `x`; return it as NumPy if concrete.

    `where` (e.g. `" in batch 3 of `x`"`) is added to the messages.
    """
    shape = static_shape(x)
    expected = (None,) + tuple(event_shape)
    if len(shape) != len(expected) or any(
        e is not None and s is not None and e != s for s, e in zip(shape, expected)
    ):
        raise _shape_error(name, event_shape, shape, where)
    dtype = getattr(x, "dtype", None)
    values = concrete(x)
    if values is not None:
        head.check_values(values, name=name, where=where)
    elif dtype is not None:
        kind = np.dtype(keras.backend.standardize_dtype(dtype)).kind
        if head.num_levels is None and kind != "f":
            raise ValueError(head.value_message("dtype", name, dtype, where))
        if head.num_levels is not None and kind not in "biuf":
            raise ValueError(head.value_message("dtype", name, dtype, where))
    return values


def check_condition(condition, num_classes, condition_shape, batch_size=None, name="condition", where=""):
    """Validate a condition (class labels or vectors); return it as NumPy if concrete."""
    if num_classes is None and condition_shape is None:
        if condition is not None:
            raise ValueError(
                f"This model takes no `{name}` (built with num_classes=None and "
                f"condition_shape=None). Received a {name} of shape {static_shape(condition)}"
            )
        return None
    if condition is None:
        what = f"class labels in 0..{num_classes - 1}" if num_classes else f"vectors of shape {condition_shape}"
        raise ValueError(f"This model is conditional: `{name}` must be given ({what}). Received: {name}=None")
    shape = static_shape(condition)
    if num_classes is not None:
        expected = (batch_size,)
        ok = len(shape) == 1
    else:
        expected = (batch_size,) + tuple(condition_shape)
        ok = len(shape) == len(expected) and all(
            e is None or s is None or e == s for s, e in zip(shape[1:], expected[1:])
        )
    if ok and batch_size is not None and shape[0] is not None and shape[0] != batch_size:
        ok = False
    if not ok:
        raise ValueError(f"`{name}` must have shape {expected}. Received: {name}.shape={shape}{where}")
    values = concrete(condition)
    if values is not None:
        if num_classes is not None:
            if values.dtype.kind not in "iu" and not (
                values.dtype.kind == "f" and np.all(values == np.round(values))
            ):
                raise ValueError(
                    f"`{name}` must hold integer class labels. Received: dtype={values.dtype}{where}"
                )
            if values.size and (values.min() < 0 or values.max() >= num_classes):
                raise ValueError(
                    f"`{name}` labels must lie in 0..{num_classes - 1}. "
                    f"Received a label of {values.min() if values.min() < 0 else values.max()}{where}"
                )
        elif values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ValueError(
                f"`{name}` must be a finite numeric array. Received: dtype={values.dtype}{where}"
                + ("" if values.dtype.kind not in "biuf" else ", with NaN or inf values")
            )
    return values


def unpack_inputs(inputs, condition=None):
    """`x`, `(x,)`, `(x, condition)` or `{"x": ..., "condition": ...}` -> `(x, condition)`."""
    if isinstance(inputs, dict):
        unknown = set(inputs) - {"x", "condition"}
        if "x" not in inputs or unknown:
            raise ValueError(
                f"Dict inputs must have the key 'x' and optionally 'condition'. Received keys: {sorted(inputs)}"
            )
        return inputs["x"], inputs.get("condition", condition)
    if isinstance(inputs, (tuple, list)):
        if len(inputs) == 1:
            return inputs[0], condition
        if len(inputs) == 2:
            return inputs[0], inputs[1]
        raise ValueError(f"Inputs must be x, (x, condition) or a dict. Received a sequence of {len(inputs)}")
    return inputs, condition


# ------------------------------------------------------------------ data that streams in batches
def batch_where(name, index):
    """Where a streamed batch is, for messages: batch `index` (0-based) of the argument `name`."""
    return f" in batch {index + 1} (counting from 1) of `{name}`"


def _marked(message):
    return _OPEN + message + _CLOSE


def input_error(error):
    """The `ValueError` carried by `error` (raised by a per-batch check, possibly wrapped by
    TensorFlow), or None when `error` is something else."""
    match = re.search(re.escape(_OPEN) + "(.*?)" + re.escape(_CLOSE), str(error), re.S)
    if match is None:
        return None
    return ValueError(match.group(1).replace('\\"', '"').replace("\\'", "'"))


class BatchChecker:
    """Check one batch of a generator or `PyDataset` (picklable: no model inside).

    `checker(element, where)` unpacks the element (`x`, `(x, condition)` or a dict), checks
    it as `check_event` / `check_condition` do, and returns it; a bad batch raises a
    `ValueError` whose message is marked for `input_error`.
    """

    def __init__(self, head, event_shape, num_classes, condition_shape):
        self.head = head
        self.event_shape = tuple(event_shape)
        self.num_classes = num_classes
        self.condition_shape = condition_shape

    def __call__(self, element, where="", marked=True):
        try:
            x, condition = unpack_inputs(element)
            values = check_event(x, self.event_shape, self.head, where=where)
            batch = None if values is None else values.shape[0]
            check_condition(condition, self.num_classes, self.condition_shape, batch, where=where)
        except ValueError as e:
            if not marked or _OPEN in str(e):
                raise
            raise ValueError(_marked(str(e))) from None
        return element


def tf_batch_check(head, event_shape, num_classes, condition_shape, name="x"):
    """A function for `dataset.enumerate().map(...)`: graph assertions on every batch.

    The returned `check(index, element)` returns `element` unchanged once its values pass:
    finite, integer levels `0..num_levels - 1` for discrete heads, labels in
    `0..num_classes - 1`, finite condition vectors, and shapes where the dataset's static
    shapes leave them open. A failing batch raises `tf.errors.InvalidArgumentError` with the
    message of `head.value_message` (the value, the batch, the fix) between markers.
    """
    import tensorflow as tf  # only when a tf.data dataset was given

    where = f" in batch {{}} (counting from 1) of `{name}`"

    def first_bad(values, bad):
        flat = tf.concat([tf.reshape(values, [-1]), tf.zeros([1], values.dtype)], 0)
        bad = tf.concat([tf.reshape(bad, [-1]), [False]], 0)
        return tf.gather(flat, tf.argmax(tf.cast(bad, tf.int32)))

    def asserting(deps, bad, values, message, batch):
        """An assertion that no element of `bad` is set, run after `deps` (first failure wins)."""
        with tf.control_dependencies(deps):
            text = tf.strings.format(_marked(message), [first_bad(values, bad), batch])
            return deps + [tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [text], summarize=1)]

    def shape_check(deps, values, expected, label, batch):
        """Rank and trailing dims of `values` equal `expected` (None: any)."""
        spec = values.shape
        if spec.rank == len(expected) + 1 and all(
            e is None or (d is not None and d == e) for d, e in zip(spec[1:], expected)
        ):
            return deps
        dims = [e for e in expected if e is not None]
        keep = [i + 1 for i, e in enumerate(expected) if e is not None]
        shape = tf.shape(values)
        ok = tf.equal(tf.rank(values), len(expected) + 1)
        if dims:
            ok = tf.logical_and(
                ok, tf.reduce_all(tf.equal(tf.gather(tf.pad(shape, [[0, len(expected) + 1]]), keep), dims))
            )
        message = (
            f"`{label}` must have shape (batch, {', '.join('?' if e is None else str(e) for e in expected)}). "
            f"Received a batch of shape {{}}{where}."
        )
        with tf.control_dependencies(deps):
            text = tf.strings.format(_marked(message), [shape, batch])
            return deps + [tf.debugging.Assert(ok, [text], summarize=8)]

    def value_checks(deps, x, batch):
        dtype = x.dtype
        if dtype == tf.bool or dtype.is_complex or dtype == tf.string:
            return deps  # bool: a Bernoulli's 0/1; other dtypes were refused on the first batch
        if dtype.is_floating:
            deps = asserting(
                deps, tf.logical_not(tf.math.is_finite(x)), x, head.value_message("nonfinite", name, "{}", where), batch
            )
            if head.num_levels is None:
                return deps
            deps = asserting(
                deps, tf.not_equal(x, tf.round(x)), x, head.value_message("fraction", name, "{}", where), batch
            )
        if head.num_levels is None:
            return deps
        wide = tf.cast(x, tf.float64)
        bad = tf.logical_or(wide < 0.0, wide > head.num_levels - 1.0)
        return asserting(deps, bad, x, head.value_message("range", name, "{}", where), batch)

    def condition_checks(deps, condition, batch, x):
        label = "condition"
        if num_classes is not None:
            deps = shape_check(deps, condition, (), label, batch)
            if condition.dtype.is_floating:
                bad = tf.logical_or(tf.logical_not(tf.math.is_finite(condition)), tf.not_equal(condition, tf.round(condition)))
                deps = asserting(
                    deps, bad, condition, f"`{label}` must hold integer class labels. Received a label of {{}}{where}.", batch
                )
            if condition.dtype.is_floating or condition.dtype.is_integer:
                wide = tf.cast(condition, tf.float64)
                bad = tf.logical_or(wide < 0.0, wide > num_classes - 1.0)
                deps = asserting(
                    deps, bad, condition,
                    f"`{label}` labels must lie in 0..{num_classes - 1}. Received a label of {{}}{where}.", batch,
                )
        else:
            deps = shape_check(deps, condition, tuple(condition_shape), label, batch)
            if condition.dtype.is_floating:
                deps = asserting(
                    deps, tf.logical_not(tf.math.is_finite(condition)), condition,
                    f"`{label}` contains NaN or inf values. Received a value of {{}}{where}.", batch,
                )
        with tf.control_dependencies(deps):
            same = tf.equal(tf.shape(condition)[0], tf.shape(x)[0])
            text = tf.strings.format(
                _marked(f"`{label}` must have one entry per example of `x`. Received {{}} conditions for {{}} examples{where}."),
                [tf.shape(condition)[0], tf.shape(x)[0], batch],
            )
            return deps + [tf.debugging.Assert(same, [text])]

    @tf.autograph.experimental.do_not_convert
    def check(index, element):
        x, condition = unpack_inputs(element)
        batch = index + 1
        deps = shape_check([], x, tuple(event_shape), name, batch)
        deps = value_checks(deps, x, batch)
        if condition is not None and (num_classes is not None or condition_shape is not None):
            deps = condition_checks(deps, condition, batch, x)
        with tf.control_dependencies(deps):
            return tf.nest.map_structure(tf.identity, element)

    return check


def check_int(value, name, minimum):
    """`value` as an int if it is an integer (not a bool) >= `minimum`, else a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)
