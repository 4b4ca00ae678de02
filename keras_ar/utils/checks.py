"""Input checks at the door: shapes, dtypes, supports, conditions.

What is checked (the masks of bad values) and the messages are written once, in
`keras_ar.utils.validation`; this module evaluates them. Eager inputs (NumPy, tensors) are
checked here with NumPy. Data that arrives batch by batch
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

from keras_ar.utils.validation import NUMPY
from keras_ar.utils.validation import condition_dtype_refused
from keras_ar.utils.validation import condition_message
from keras_ar.utils.validation import condition_problems
from keras_ar.utils.validation import dtype_kind
from keras_ar.utils.validation import dtype_refused
from keras_ar.utils.validation import graph_checks
from keras_ar.utils.validation import graph_shape_check
from keras_ar.utils.validation import raise_first
from keras_ar.utils.validation import shape_message
from keras_ar.utils.validation import support_problems
from keras_ar.utils.validation import tf_namespace

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
    message = shape_message(name, event_shape, shape, where)
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
    elif dtype is not None and dtype_refused(dtype, head.num_levels):
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
        if condition_dtype_refused(values.dtype, num_classes):
            raise ValueError(condition_message("dtype", num_classes, name, values.dtype, where))
        raise_first(
            values,
            condition_problems(values, num_classes, NUMPY),
            lambda problem, value: condition_message(problem, num_classes, name, value, where),
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
    shapes leave them open. The masks and messages are those of the eager checks
    (`keras_ar.utils.validation`), evaluated in TensorFlow ops (a `tf.data` map runs TF ops on
    every backend). A failing batch raises `tf.errors.InvalidArgumentError` with the message
    (the value, the batch, the fix) between markers.
    """
    import tensorflow as tf  # only when a tf.data dataset was given

    tnp = tf_namespace()
    where = f" in batch {{}} (counting from 1) of `{name}`"
    label = "condition"

    def usable(dtype):  # other dtypes were refused on the first batch (bool: a Bernoulli's 0/1)
        return dtype_kind(dtype) in ("i", "u", "f")

    @tf.autograph.experimental.do_not_convert
    def check(index, element):
        x, condition = unpack_inputs(element)
        batch = [index + 1]
        deps = graph_shape_check([], x, tuple(event_shape), name, where, batch, _marked)
        if usable(x.dtype):
            deps = graph_checks(
                deps, x, support_problems(x, head.num_levels, tnp),
                lambda problem: head.value_message(problem, name, "{}", where), batch, _marked,
            )
        if condition is not None and (num_classes is not None or condition_shape is not None):
            expected = () if num_classes is not None else tuple(condition_shape)
            deps = graph_shape_check(deps, condition, expected, label, where, batch, _marked)
            if usable(condition.dtype):
                deps = graph_checks(
                    deps, condition, condition_problems(condition, num_classes, tnp),
                    lambda problem: condition_message(problem, num_classes, label, "{}", where), batch, _marked,
                )
            with tf.control_dependencies(deps):
                same = tf.equal(tf.shape(condition)[0], tf.shape(x)[0])
                text = tf.strings.format(
                    _marked(f"`{label}` must have one entry per example of `x`. Received {{}} conditions for {{}} "
                            f"examples{where}."),
                    [tf.shape(condition)[0], tf.shape(x)[0], *batch],
                )
                deps = deps + [tf.debugging.Assert(same, [text])]
        with tf.control_dependencies(deps):
            return tf.nest.map_structure(tf.identity, element)

    return check


def check_int(value, name, minimum):
    """`value` as an int if it is an integer (not a bool) >= `minimum`, else a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)
