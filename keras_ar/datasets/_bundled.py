"""The files that ship inside the package (`keras_ar/datasets/files/`), read with a SHA-256 check,
and the fixed permutation split that the bundled image and tabular data share."""

import functools
import hashlib
import os

import numpy as np

FILES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")

# file name -> SHA-256 of its bytes (files/README.md says where each comes from)
SHA256 = {
    "digits.npz": "b2dab7b501728c22e9119ad76740b2e17c77a231e42d1e592380d90886f1a05e",
    "paradise_lost.txt": "d01a7d3a2e74df00993e8e487db6016ac0c4bbf86b3df5a585cae8925564bbc2",
}


def path(name):
    """The path of the bundled file `name`."""
    if name not in SHA256:
        raise ValueError(f"No bundled file {name!r}; the bundled files are {sorted(SHA256)}.")
    return os.path.join(FILES_DIR, name)


@functools.lru_cache(maxsize=None)
def read_bytes(name):
    """The bytes of the bundled file `name`, checked against its SHA-256.

    Raises:
        FileNotFoundError: the file is missing (an install without the package data).
        OSError: the file's SHA-256 differs from the recorded one (a damaged install).
    """
    file_path = path(name)
    if not os.path.isfile(file_path):
        raise FileNotFoundError(
            f"The bundled data file {file_path!r} is missing: the keras-ar install lacks its package data. "
            "Reinstall it: pip install --force-reinstall keras-ar"
        )
    with open(file_path, "rb") as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != SHA256[name]:
        raise OSError(
            f"The bundled data file {file_path!r} is damaged: its SHA-256 is {digest}, expected "
            f"{SHA256[name]}. Reinstall keras-ar: pip install --force-reinstall keras-ar"
        )
    return content


def split_indices(size, num_fit, num_validation):
    """The fixed split of `size` examples: `np.random.default_rng(0).permutation(size)`, then the
    first `num_fit - num_validation` train, the next `num_validation` validation, the rest test.

    Example:

    >>> [len(v) for v in split_indices(10, 8, 2).values()]
    [6, 2, 2]
    """
    perm = np.random.default_rng(0).permutation(size)
    return {
        "train": perm[: num_fit - num_validation],
        "validation": perm[num_fit - num_validation : num_fit],
        "test": perm[num_fit:],
    }
