"""Input checks at the door: shapes, dtypes, supports, conditions."""

import keras
import numpy as np


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


def check_event(x, event_shape, head, name="x"):
    """Check rank, event shape, dtype and support of a batch `x`; return it as NumPy if concrete."""
    shape = static_shape(x)
    expected = (None,) + tuple(event_shape)
    if len(shape) != len(expected) or any(
        e is not None and s is not None and e != s for s, e in zip(shape, expected)
    ):
        raise ValueError(
            f"`{name}` must have shape (batch, {', '.join(map(str, event_shape))}). "
            f"Received: {name}.shape={shape}"
        )
    dtype = getattr(x, "dtype", None)
    values = concrete(x)
    if values is not None:
        head.check_values(values, name=name)
    elif dtype is not None:
        kind = np.dtype(keras.backend.standardize_dtype(dtype)).kind
        if head.num_levels is None and kind != "f":
            raise ValueError(f"`{name}` must be a float tensor. Received: dtype={dtype}")
        if head.num_levels is not None and kind not in "biuf":
            raise ValueError(f"`{name}` must hold integer levels. Received: dtype={dtype}")
    return values


def check_condition(condition, num_classes, condition_shape, batch_size=None, name="condition"):
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
        raise ValueError(f"`{name}` must have shape {expected}. Received: {name}.shape={shape}")
    values = concrete(condition)
    if values is not None:
        if num_classes is not None:
            if values.dtype.kind not in "iu" and not (
                values.dtype.kind == "f" and np.all(values == np.round(values))
            ):
                raise ValueError(f"`{name}` must hold integer class labels. Received: dtype={values.dtype}")
            if values.size and (values.min() < 0 or values.max() >= num_classes):
                raise ValueError(
                    f"`{name}` labels must lie in 0..{num_classes - 1}. "
                    f"Received a label of {values.min() if values.min() < 0 else values.max()}"
                )
        elif values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ValueError(f"`{name}` must be a finite numeric array. Received: dtype={values.dtype}")
    return values
