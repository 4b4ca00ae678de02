"""keras_ar.generation.samplers: how each value is drawn from its conditional (keras-hub's pattern)."""

import keras

from keras_ar.generation.samplers.greedy_sampler import GreedySampler
from keras_ar.generation.samplers.sampler import Sampler
from keras_ar.generation.samplers.temperature_sampler import TemperatureSampler
from keras_ar.generation.samplers.top_k_sampler import TopKSampler
from keras_ar.generation.samplers.top_p_sampler import TopPSampler

_ALIASES = {
    "temperature": TemperatureSampler,
    "greedy": GreedySampler,
    "top_k": TopKSampler,
    "top_p": TopPSampler,
}


def get(identifier):
    """A sampler from a `Sampler`, a name or a config dict.

    Args:
        identifier: a `Sampler` (returned as it is), one of the names `"temperature"`,
            `"greedy"`, `"top_k"`, `"top_p"` (default arguments), or a dict
            `{"class_name": name or class name, "config": {...}}` as
            `keras.saving.serialize_keras_object` writes it.

    Example:

    >>> get("top_k").get_config()
    {'k': 5, 'temperature': 1.0}
    >>> get({"class_name": "top_p", "config": {"p": 0.5}}).p
    0.5
    """
    if isinstance(identifier, Sampler):
        return identifier
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name, config = identifier["class_name"], identifier.get("config") or {}
        classes = {**_ALIASES, **{cls.__name__: cls for cls in _ALIASES.values()}}
        if name in classes:
            return classes[name].from_config(config)
        sampler = keras.saving.deserialize_keras_object(identifier)
        if isinstance(sampler, Sampler):
            return sampler
    raise ValueError(
        f"`sampler` must be a Sampler, one of {tuple(_ALIASES)} or a sampler's config dict. "
        f"Received: sampler={identifier!r}"
    )


__all__ = ["GreedySampler", "Sampler", "TemperatureSampler", "TopKSampler", "TopPSampler", "get"]
