"""Base class of the output heads: the maths of one conditional p(x_i | x_<i)."""

import numpy as np
from keras import ops

from keras_ar.utils import validation


class DistributionHead:
    """The distribution of one dimension (or one coupled group of dimensions) given its parameters.

    A model's teacher-forced pass produces `num_params` numbers for every group of
    `event_size` dimensions (`event_size` is 1 except for heads that couple the
    channels of a pixel); a head turns them into log-probabilities and samples,
    written once with `keras.ops` in numerically stable forms, and into the equal
    TFP distribution.

    Subclasses set `num_params`, `event_size`, `num_levels` (None when the head is
    real-valued) and implement `log_prob`, `sample` and `to_tfp`.
    """

    event_size = 1
    num_levels = None

    @property
    def is_discrete(self):
        return self.num_levels is not None

    @property
    def num_params(self):
        raise NotImplementedError

    def log_prob(self, params, x):
        """log p(x | params). `params`: [..., num_params]; `x`: [...] (or [..., event_size]).

        Returns a tensor of the shape of `x`: one log-probability per dimension.
        """
        raise NotImplementedError

    def sample(self, params, seed, temperature=1.0):
        """Draw `x` from `params` ([..., num_params]); returns float32 of shape [...] or [..., event_size]."""
        raise NotImplementedError

    def to_tfp(self, params, x=None):
        """The equal TFP distribution, batch shape `params.shape[:-1]`.

        `x` is only needed by heads whose parameters depend on the value being scored
        (channel coupling); the result is then the teacher-forced conditional.
        """
        raise NotImplementedError

    def guard_support(self, log_prob, x):
        """NaN wherever `x` is not a level 0..num_levels-1 (discrete heads), `log_prob` elsewhere.

        Eager inputs are checked at the door with a `ValueError`; inside compiled training
        steps (batches after the first of a dataset) a value outside the support must not
        score a silently wrong, finite log-probability: it makes the loss NaN instead. The
        masks are those of every other check (`keras_ar.utils.validation.support_problems`).
        """
        if self.num_levels is None:
            return log_prob
        problems = validation.support_problems(ops.cast(x, log_prob.dtype), self.num_levels, validation.KERAS)
        bad = problems[0][1]
        for _, mask in problems[1:]:
            bad = ops.logical_or(bad, mask)
        return ops.where(bad, float("nan"), log_prob)

    def scale_inputs(self, x):
        """Float network input from data: discrete levels -> [0, 1], real values unchanged."""
        x = ops.cast(x, "float32")
        if self.num_levels is None:
            return x
        return x / float(self.num_levels - 1)

    def check_values(self, x, name="x", where=""):
        """Raise `ValueError` unless the NumPy array `x` lies in the support of this head.

        Discrete heads take integer, boolean or integer-valued float arrays with values
        in `0..num_levels-1`; real-valued heads take finite float arrays. Nothing is cast.
        The message names the argument (`name`), the first bad value, where it was found
        (`where`, e.g. `" in batch 3 of the dataset"`) and how to fix the data. The masks
        are those of every other check (`keras_ar.utils.validation.support_problems`).
        """
        x = np.asarray(x)
        if validation.dtype_refused(x.dtype, self.num_levels):
            raise ValueError(self.value_message("dtype", name, x.dtype, where))
        validation.raise_first(
            x,
            validation.support_problems(x, self.num_levels, validation.NUMPY),
            lambda problem, value: self.value_message(problem, name, value, where),
        )

    def value_message(self, problem, name="x", value="{}", where=""):
        """The message of a value outside the support, with the fix; shared by the eager
        checks (`check_values`), the checks inside `tf.data` pipelines and the served
        signatures (where `value` stays the `"{}"` placeholder of `tf.strings.format`).

        Args:
            problem: str. `"dtype"` (a dtype the head does not take; `value` is the dtype),
                `"nonfinite"` (NaN or inf), `"fraction"` (a non-integer value for a discrete
                head) or `"range"` (a level outside `0..num_levels - 1`).
            name: str. The argument that holds the value.
            value: the bad value (or dtype), printed as it is.
            where: str. Appended after the value, e.g. `" in batch 3 of the dataset"`.
        """
        head = type(self).__name__
        if self.num_levels is None:
            if problem == "dtype":
                return (
                    f"`{name}` must be a float array for a real-valued `{head}` head. Received: dtype={value}{where}. "
                    "Integer levels are for discrete heads (`distribution='categorical'` with `num_levels=`); "
                    "to model them with real values, dequantize them first: "
                    "`keras_ar.data.dequantize(x, num_levels, seed)`."
                )
            return f"`{name}` contains NaN or inf values. Received a value of {value}{where}."
        levels = f"0..{self.num_levels - 1}"
        binary = self.num_levels == 2
        if problem == "dtype":
            return f"`{name}` must hold integer levels {levels}. Received: dtype={value}{where}."
        if problem == "nonfinite":
            return f"`{name}` contains NaN or inf values. Received a value of {value}{where}."
        if problem == "fraction":
            if binary:
                fix = (
                    f"A binary `{head}` model takes values 0 and 1: binarize grey values in [0, 1] first, "
                    "with `keras_ar.data.binarize(x, threshold=0.5)` or `keras_ar.data.dynamic_binarize(x, seed)` "
                    "(or `keras_ar.data.image_dataset(images, binarize='fixed')`, or `'dynamic'`)."
                )
            else:
                fix = (
                    f"Values in [0, 1] look like normalised intensities: a {self.num_levels}-level model takes "
                    f"integer levels. Quantize them with `keras_ar.data.quantize(x, num_levels={self.num_levels}, "
                    f"max_value=1.0)` (or `keras_ar.data.image_dataset(images, num_levels={self.num_levels})`), "
                    "or use a real-valued head (`distribution='gaussian_mixture'`)."
                )
            return (
                f"`{name}` must hold integer levels {levels}; it holds non-integer values. "
                f"Received a value of {value}{where}. {fix}"
            )
        if problem == "range":
            if binary:
                fix = (
                    f"A binary `{head}` model takes values 0 and 1: binarize your data first, e.g. 8-bit images "
                    "(0..255) with `keras_ar.data.binarize(x, threshold=128)`, or "
                    "`keras_ar.data.image_dataset(images, binarize='fixed')` (or `'dynamic'`); the bundled "
                    "binary digits are `keras_ar.datasets.load_protocol('digits-binary')`. For more levels use "
                    "`distribution='categorical'` with `num_levels=`."
                )
            else:
                fix = (
                    "Build the model with `num_levels=` the number of levels of your data (256 for 8-bit images), "
                    f"or quantize the data to {self.num_levels} levels: "
                    f"`keras_ar.data.quantize(x, num_levels={self.num_levels}, max_value=255)` "
                    f"(or `keras_ar.data.image_dataset(images, num_levels={self.num_levels})`)."
                )
            return (
                f"`{name}` values must lie in {levels} for `{head}` with {self.num_levels} levels. "
                f"Received a value of {value}{where}. {fix}"
            )
        raise ValueError(f"Unknown problem {problem!r}")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def check_temperature(temperature):
    """A Python number must be a finite float > 0 (tensors are checked where they are traced)."""
    if isinstance(temperature, (int, float)) and validation.temperature_bad(float(temperature), validation.NUMPY):
        raise ValueError(validation.temperature_message(temperature))
