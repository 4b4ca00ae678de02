"""Conditions of the base model (private): class labels one-hot, vectors scaled, checks and warnings."""

import math
import numbers
import warnings

import numpy as np
from keras import ops

from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import concrete


def check_arguments(num_classes, condition_shape, condition_scale):
    """Check the constructor's condition arguments: at most one of `num_classes` (a positive int)
    and `condition_shape` (positive ints), and `condition_scale` (> 0) only with `condition_shape`."""
    if num_classes is not None and condition_shape is not None:
        raise ValueError(
            "Pass at most one of `num_classes` and `condition_shape`. "
            f"Received: num_classes={num_classes}, condition_shape={condition_shape}"
        )
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1
    ):
        raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
    if condition_shape is not None and (
        not isinstance(condition_shape, (tuple, list))
        or not condition_shape
        or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in condition_shape)
    ):
        raise ValueError(
            f"`condition_shape` must be a non-empty tuple of positive ints. Received: condition_shape={condition_shape!r}"
        )
    if condition_scale is not None:
        if condition_shape is None:
            raise ValueError(
                "`condition_scale` divides condition vectors or images: pass it with `condition_shape` "
                f"(class labels are not scaled). Received: condition_scale={condition_scale!r}, "
                f"num_classes={num_classes}, condition_shape=None"
            )
        if (
            isinstance(condition_scale, bool)
            or not isinstance(condition_scale, numbers.Real)
            or not math.isfinite(condition_scale)
            or condition_scale <= 0
        ):
            raise ValueError(
                "`condition_scale` must be a finite number > 0, e.g. 255.0 for uint8 condition images. "
                f"Received: condition_scale={condition_scale!r}"
            )


def condition_vector(model, condition):
    """A condition (labels `[batch]` or vectors `[batch, *condition_shape]`) as the float32
    `[batch, condition_size]` that `compute_params` takes: labels one-hot, vectors flattened and
    scaled. None for an unconditional model (which raises if a condition is given)."""
    if condition is None or not model.condition_size:
        check_condition(condition, model.num_classes, model.condition_shape)  # raises if one is missing/extra
        return None
    if model.num_classes is not None:
        return ops.one_hot(ops.cast(ops.reshape(condition, (-1,)), "int32"), model.num_classes)
    return scale_condition(model, ops.reshape(ops.cast(condition, "float32"), (-1, model.condition_size)))


def scale_condition(model, vector):
    """A float32 condition vector divided by `condition_scale` (when set)."""
    return vector if model.condition_scale is None else vector / model.condition_scale


def generation_condition(model, condition, n):
    """The condition vector for generating `n` samples: one label or vector is repeated."""
    if condition is not None and model.condition_size:
        c = np.asarray(concrete(condition))
        single = c.ndim == 0 if model.num_classes is not None else c.shape == model.condition_shape
        if single:
            c = np.broadcast_to(c, (n,) + c.shape)
        condition = c
    c = check_condition(condition, model.num_classes, model.condition_shape, n)
    return None if c is None else condition_vector(model, ops.convert_to_tensor(c))


def warn_unscaled_condition(model, condition):
    """Warn when condition IMAGES look mis-scaled for training: raw pixel levels (above 10)
    with no `condition_scale`, or values already within [-1, 1] that `condition_scale > 1`
    divides again. Networks fed values up to 255 train badly, and nothing else would say why."""
    if condition is None or len(model.condition_shape or ()) != 3:
        return
    values = concrete(condition)
    if values is None or not values.size or values.dtype.kind not in "biuf":
        return
    wide = values.astype(np.float64) if values.dtype.kind != "f" else values
    peak = float(max(np.nanmax(wide), -np.nanmin(wide)))
    name = type(model).__name__
    if model.condition_scale is None and peak > 10:
        levels = model.head.num_levels  # condition images of the data's kind share its levels
        if values.dtype == np.uint8:
            suggest = 255.0
        elif levels and peak <= levels - 1:
            suggest = float(levels - 1)
        else:
            suggest = float(math.ceil(peak))
        warnings.warn(
            f"The condition images reach {peak:g}: {name} feeds them to its layers as they are, and raw pixel "
            f"levels train badly. Pass `condition_scale={suggest:g}` (their largest level, e.g. 255 for 8-bit "
            "images) to the constructor, or scale them to about [0, 1] yourself (`condition_scale=1` "
            "silences this).",
            stacklevel=5,
        )
    elif model.condition_scale is not None and model.condition_scale > 1 and 0 < peak <= 1:
        warnings.warn(
            f"The condition images are already within [-1, 1] and {name} divides them by "
            f"condition_scale={model.condition_scale:g}: pass the raw levels, or drop `condition_scale`.",
            stacklevel=5,
        )
