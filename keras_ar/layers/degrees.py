"""MADE degrees: who may see whom. Kept apart from the layers that apply them."""

import numpy as np


def input_degrees(ordering):
    """Degrees 1..D of the inputs for an order (`ordering[k]` is the k-th dimension generated)."""
    ordering = np.asarray(ordering)
    degrees = np.empty(len(ordering), dtype="int64")
    degrees[ordering] = np.arange(1, len(ordering) + 1)
    return degrees


def hidden_degrees(num_units, num_inputs, rng=None):
    """Degrees of a hidden layer in 1..D-1: cycled evenly, or drawn uniformly with a NumPy Generator."""
    low, high = 1, max(num_inputs - 1, 1)
    if rng is None:
        return np.arange(num_units) % (high - low + 1) + low
    return rng.integers(low, high + 1, size=num_units)


def output_degrees(in_degrees, params_per_input):
    """Output degrees for `params_per_input` parameters per input, laid out input-major."""
    return np.repeat(np.asarray(in_degrees), params_per_input)


def resolve_ordering(ordering, num_inputs, seed=0):
    """An ordering from `"left_to_right"`, `"random"` (seeded) or an explicit permutation."""
    if isinstance(ordering, str):
        if ordering == "left_to_right":
            return np.arange(num_inputs)
        if ordering == "random":
            return np.random.default_rng(seed).permutation(num_inputs)
        raise ValueError(f"`ordering` must be 'left_to_right', 'random' or a permutation. Received: {ordering!r}")
    order = np.asarray(ordering, dtype="int64").reshape(-1)
    if sorted(order.tolist()) != list(range(num_inputs)):
        raise ValueError(
            f"`ordering` must be a permutation of 0..{num_inputs - 1}. Received: ordering={list(order)}"
        )
    return order
