"""The base of the samplers: how one group's value is drawn from its conditional's parameters."""

import numbers

import keras
from keras import ops

from keras_ar.distributions.categorical import Categorical
from keras_ar.distributions.categorical import gumbel_argmax

_MASKED = -1e30  # the log-probability of a level a sampler rules out: Gumbel noise never lifts it


@keras.saving.register_keras_serializable(package="keras_ar")
class Sampler:
    """Draws the value of one group from the head parameters of its conditional.

    A sampler is a small serializable object (keras-hub's `keras_hub.samplers` are the model):
    `sample(head, params, seed)` draws, and its numbers (`temperature`, `k`, `p`, listed in
    `tensor_names`) are fed to the compiled generation loop as tensors, so changing them
    compiles nothing new. The head owns the maths of its conditional: the temperature sampler
    calls `head.sample`; greedy, top-k and top-p work on the log-probabilities of every level
    (`level_log_probs`), which a discrete head of one channel has: Categorical, Bernoulli and
    a one-channel DiscretizedLogisticMixture.

    Subclasses implement `sample` and `get_config` (the constructor's arguments). Their
    constructors take Python numbers (checked) or, inside a compiled function, tensors.

    Example:

    >>> sampler = keras_ar.generation.samplers.get("greedy")
    >>> keras_ar.generation.samplers.get(keras.saving.serialize_keras_object(sampler)).get_config()
    {}
    """

    tensor_names = ()  # the config entries fed to compiled functions as tensors
    _int_tensors = ()  # of those, the int32 ones

    def sample(self, head, params, seed):
        """Values drawn from `params` `[..., num_params]`: float32 `[...]` (or `[..., event_size]`)."""
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def tensors(self):
        """The sampler's numbers as a dict of scalar tensors (int32 `k`, float32 otherwise)."""
        return {
            name: ops.convert_to_tensor(getattr(self, name), "int32" if name in self._int_tensors else "float32")
            for name in self.tensor_names
        }

    def with_tensors(self, tensors):
        """A sampler of the same kind whose numbers are `tensors` (inside a compiled function)."""
        return type(self)(**{**self.get_config(), **tensors})

    @property
    def key(self):
        """What a compiled function depends on: the kind of sampler, not its numbers."""
        static = {k: v for k, v in self.get_config().items() if k not in self.tensor_names}
        return type(self).__name__ + (repr(sorted(static.items())) if static else "")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def check_number(value, name, low, high=None, integer=False, closed_high=True):
    """`value` as a Python number, checked (`low < value`, `value <= high`), or a tensor as it is."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            return value  # a tensor fed to a compiled function
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    if integer:
        if not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"`{name}` must be an int >= {low}. Received: {name}={value!r}")
        return int(value)
    value = float(value)
    if not value > low or (high is not None and not (value <= high if closed_high else value < high)):
        bound = "" if high is None else f" and <= {high}"
        raise ValueError(f"`{name}` must be a float > {low}{bound}. Received: {name}={value!r}")
    return value


def level_log_probs(head, params, sampler):
    """log p(level) of every level of a discrete one-channel head: `[..., num_levels]`."""
    levels = getattr(head, "num_levels", None)
    if not head.is_discrete or head.event_size != 1 or not levels:
        raise ValueError(
            f"{type(sampler).__name__} chooses among the levels of a discrete head of one channel (Categorical, "
            "Bernoulli, a one-channel DiscretizedLogisticMixture); with a "
            f"{type(head).__name__} head (event size {head.event_size}) use TemperatureSampler (the default, "
            f"`temperature=...`). Received: sampler={sampler!r}, head={type(head).__name__}"
        )
    params = ops.convert_to_tensor(params)
    if isinstance(head, Categorical):
        return ops.log_softmax(params, axis=-1)
    return head.log_prob(ops.expand_dims(params, -2), ops.arange(levels, dtype="float32"))


def draw_level(logits, keep, seed):
    """A level drawn from softmax(logits) restricted to `keep` (bools, same shape), as float32."""
    return gumbel_argmax(ops.where(keep, logits, _MASKED), seed)
