"""How the base model takes data for fit / evaluate / predict (private): checked at the door, packed for Keras.

Arrays are checked whole. Streams are checked on every batch: a `tf.data` dataset gets graph
assertions in its pipeline (`tf_batch_check`), a generator or `PyDataset` is wrapped to check
each batch in Python (`BatchChecker`); the first batch is checked at once, so an empty stream or
a wrong shape or dtype fails before training starts. Every element is packed as a 1-tuple
`(x,)` or `((x, condition),)`, so Keras sees no `y`.
"""

import contextlib
import itertools
import types
import warnings

import keras
import numpy as np
from keras import ops

from keras_ar.models._conditions import warn_unscaled_condition
from keras_ar.utils.checks import BatchChecker
from keras_ar.utils.checks import batch_where
from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import check_event
from keras_ar.utils.checks import input_error
from keras_ar.utils.checks import tf_batch_check
from keras_ar.utils.checks import unpack_inputs

_EMPTY = object()


def prepare_data(model, x, y, name, kwargs, warn_condition=False):
    """Check data for fit/evaluate/predict and pack conditions so Keras passes them to `call`.

    `kwargs` are the Keras keyword arguments: `batch_size` batches an unbatched dataset.
    `warn_condition` (training data): warn about raw condition images
    (`_conditions.warn_unscaled_condition`). Returns `(x, None)` for Keras.
    """

    def warn(element):  # the first batch (or the arrays) of the training data
        if warn_condition:
            warn_unscaled_condition(model, unpack_inputs(as_tuple_or_dict(element), None)[1])

    checker = BatchChecker(model.head, model.event_shape, model.num_classes, model.condition_shape)
    if is_streamed(x) and y is not None:
        raise ValueError(
            f"With a {_kind(x)}, pass no `y`: yield `(x, condition)` instead. Received: y of type {type(y).__name__}"
        )
    if is_dataset(x):
        x = batched(model, x, name, kwargs)
        card = int(x.cardinality())
        first = next(iter(x.take(1)), None) if card != 0 else None
        if first is None:
            raise ValueError(f"`{name}` is an empty dataset: it yields no batch.")
        fx, fc = unpack_inputs(as_tuple_or_dict(first), None)
        model._checked(fx, fc, name=name, where=batch_where(name, 0))
        warn(first)
        check = tf_batch_check(model.head, model.event_shape, model.num_classes, model.condition_shape, name)
        return x.enumerate().map(lambda index, element: pack_element(check(index, element))), None
    if isinstance(x, types.GeneratorType):
        first = next(x, _EMPTY)
        if first is _EMPTY:
            raise ValueError(f"`{name}` is an empty generator: it yields no batch.")
        checker(first, batch_where(name, 0), marked=False)
        warn(first)
        return checked_generator(itertools.chain([first], x), checker, name), None
    if isinstance(x, keras.utils.PyDataset):
        if _num_batches(x) == 0:
            raise ValueError(f"`{name}` is an empty PyDataset: it holds no batch.")
        checker(x[0], f" in `{name}[0]`", marked=False)
        warn(x[0])
        return CheckedPyDataset(x, checker, name), None
    if x is None:
        raise ValueError(f"`{name}` must be given. Received: {name}=None")
    if y is not None:
        x = (x, y)
    fx, fc = unpack_inputs(x, None)
    if len(fx) == 0:
        raise ValueError(f"`{name}` is empty: it holds no example. Received: shape={np.shape(fx)}")
    model._checked(fx, fc, name=name)
    warn(x)
    return ((fx, fc) if fc is not None else fx), None


def checked(model, x, condition, name="x", where=""):
    """Unpack and check `x` and `condition` at the door: float32 `x` and the condition as tensors."""
    x, condition = unpack_inputs(x, condition)
    values = check_event(x, model.event_shape, model.head, name=name, where=where)
    batch = None if values is None else values.shape[0]
    cvalues = check_condition(condition, model.num_classes, model.condition_shape, batch, where=where)
    if values is not None:
        x = values if values.dtype.kind == "f" else values.astype("float32")
    if cvalues is not None:
        condition = cvalues
    return ops.convert_to_tensor(x, "float32"), (None if condition is None else ops.convert_to_tensor(condition))


def batched(model, ds, name, kwargs):
    """`ds`, or `ds.batch(batch_size)` with a warning when its elements are single examples."""
    spec = ds.element_spec
    spec = spec.get("x") if isinstance(spec, dict) else (spec[0] if isinstance(spec, tuple) and spec else spec)
    shape = getattr(spec, "shape", None)
    if shape is None or shape.rank != len(model.event_shape) or not shape.is_compatible_with(model.event_shape):
        return ds  # batched (or of another shape: the first batch's check says so)
    batch_size = kwargs.pop("batch_size", None) or 32
    warnings.warn(
        f"`{name}` is a dataset of single examples (each of shape {tuple(spec.shape)}, the shape of one "
        f"example): batching it for you with `{name}.batch({batch_size})` (`batch_size={batch_size}`). "
        "Batch it yourself to choose, e.g. `ds.batch(64).prefetch(tf.data.AUTOTUNE)`.",
        stacklevel=4,
    )
    return ds.batch(batch_size)


def is_dataset(x):
    return hasattr(x, "element_spec") and hasattr(x, "map") and hasattr(x, "cardinality")


def is_streamed(x):
    return is_dataset(x) or isinstance(x, (types.GeneratorType, keras.utils.PyDataset))


def _kind(x):
    if is_dataset(x):
        return "dataset"
    return "generator" if isinstance(x, types.GeneratorType) else "PyDataset"


def as_tuple_or_dict(element):
    return element if isinstance(element, (tuple, dict)) else (element,)


def pack_element(*element):
    """Element `x`, `(x, condition)` or a dict -> a 1-tuple, so Keras sees no `y`."""
    if len(element) == 1:
        element = element[0]
        if isinstance(element, list):
            element = tuple(element)
        if not isinstance(element, tuple):
            return (element,)
        if len(element) == 1:
            return (element[0],)
    return (tuple(element),)


def _num_batches(dataset):
    try:
        return dataset.num_batches
    except NotImplementedError:  # an infinite PyDataset without `num_batches`
        return None


def checked_generator(batches, checker, name):
    """Yield every batch of `batches`, checked and packed for Keras (which takes tuples only)."""
    for index, element in enumerate(batches):
        yield pack_element(checker(element, batch_where(name, index)))


class CheckedPyDataset(keras.utils.PyDataset):
    """A `PyDataset` whose batches are checked and packed; the wrapped one's workers, queue,
    length and epoch hooks are kept."""

    def __init__(self, dataset, checker, name):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset, self.checker, self.name = dataset, checker, name

    def __getitem__(self, index):
        return pack_element(self.checker(self.dataset[index], f" in `{self.name}[{index}]`"))

    @property
    def num_batches(self):
        return _num_batches(self.dataset)

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


@contextlib.contextmanager
def input_errors(model):
    """Raise a per-batch input check's error as the `ValueError` it carries (unwrapped from TF's).

    On JAX, Keras detaches the variables' values while `fit` / `evaluate` / `predict` run
    (the state goes through a stateless function) and attaches them again when they end
    normally; an error raised by a batch in between would leave the model without weights.
    Here the state of the last step is attached again (or, if no step ran, the values from
    before the call), so the model stays usable after the error.
    """
    saved = jax_values(model)
    try:
        yield
    except BaseException as e:
        if saved:
            model.jax_state_sync()  # the state after the last step that ran, if one did
            for variable, value in saved:  # else the values from before (not donated: no step ran)
                if variable._value is None:
                    variable._value = value
        error = input_error(e) if isinstance(e, Exception) else None
        if error is None:
            raise
        raise error from None


def jax_values(model):
    """(variable, value) of every model, optimizer and metric variable, on the JAX backend."""
    if keras.backend.backend() != "jax":
        return []
    variables = list(model.variables) + list(model.metrics_variables)
    if getattr(model, "optimizer", None) is not None and model.optimizer.built:
        variables += list(model.optimizer.variables)
    unique = {id(v): v for v in variables}
    return [(v, v._value) for v in unique.values() if v._value is not None]
