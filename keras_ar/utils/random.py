"""Seeds that can be made inside compiled loops, on every backend."""

import keras
from keras import ops


class TensorSeed(keras.random.SeedGenerator):
    """A fixed seed tensor that `keras.random.*` accepts as its `seed` argument.

    `keras.random` functions take an int or a `SeedGenerator`; an int cannot be
    built from a loop counter inside `keras.ops.fori_loop`, and a stateful
    `SeedGenerator` cannot be advanced there on JAX. This object carries a seed
    tensor of shape (2,) and hands it out unchanged, so sampling stays a pure
    function of `(seed, step)` and is reproducible on every backend.
    """

    def __init__(self, value):  # no state variable: deliberately skips super().__init__
        self._value = value

    def next(self, ordered=True):
        return self._value


def _seed_dtype():
    return "uint32" if keras.backend.backend() == "jax" else "int32"


def step_seed(seed, step):
    """The seed for sampling step `step` of a run seeded by `seed` (ints or scalar int32 tensors)."""
    dtype = _seed_dtype()
    base = ops.cast(ops.convert_to_tensor(seed), "int32")
    step = ops.convert_to_tensor(step, dtype="int32") + 1
    return TensorSeed(ops.cast(ops.stack([base, step]), dtype))


def fold_seed(seed, salt):
    """Derive a second seed from `seed`, as a `TensorSeed` (for draws outside the step sequence)."""
    return step_seed(seed, -1 - int(salt))


def resolve_seed(seed):
    """`None` -> a fresh int from NumPy's global entropy; an int stays as it is."""
    if seed is None:
        import numpy as np

        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
    return int(seed) % (2**31 - 1)
