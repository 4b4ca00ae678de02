"""Optional dependencies: modules that only some of keras_ar needs, installed with pip extras.

The base install (`pip install keras-ar`) holds what the models and the `tf.data` layer need.
Audio, time series, TFDS and the benchmarks each need more; their modules are imported on first
use through `require`, which names the extra that installs them when they are missing:

>>> require("math", "audio", "keras_ar.example").pi > 3
True
>>> require("no_such_module", "audio", "keras_ar.example")
Traceback (most recent call last):
...
ImportError: keras_ar.example needs no_such_module, which the base install leaves out: pip install 'keras-ar[audio]'
"""

import importlib

# extra -> the pip command that installs it (quoted: the brackets are shell glob characters)
EXTRAS = {
    "audio": "librosa and soundfile (audio loading, resampling, mel features)",
    "timeseries": "statsmodels (the `co2` / `sunspots` series and the AutoReg baseline)",
    "tfds": "tensorflow-datasets (TFDS sources)",
    "benchmarks": "scikit-learn (the `breast_cancer` / `sample_images` data and the benchmarks)",
}

# the distribution (pip name) of each module `require` may be asked for, for the message
_DISTRIBUTIONS = {
    "librosa": "librosa",
    "soundfile": "soundfile",
    "statsmodels": "statsmodels",
    "tensorflow_datasets": "tensorflow-datasets",
    "sklearn": "scikit-learn",
}


def install_command(extra):
    """The pip command that installs `extra`, e.g. `pip install 'keras-ar[audio]'`."""
    if extra not in EXTRAS:
        raise ValueError(f"Unknown keras-ar extra {extra!r}; the extras are {sorted(EXTRAS)}.")
    return f"pip install 'keras-ar[{extra}]'"


def require(module, extra, purpose):
    """Import and return `module` (a dotted name), or raise an `ImportError` naming `extra`.

    Args:
        module: the module to import, e.g. `"librosa"` or `"statsmodels.tsa.ar_model"`.
        extra: the keras-ar extra that installs it: one of `EXTRAS` (`"audio"`, `"timeseries"`,
            `"tfds"`, `"benchmarks"`).
        purpose: what needs it, for the message, e.g. `"keras_ar.data.load_audio"`.

    Returns:
        The imported module.

    Raises:
        ImportError: `module` (or one of its own imports) is not installed. The message reads e.g.
            "keras_ar.data.load_audio needs librosa, which the base install leaves out:
            pip install 'keras-ar[audio]'". Other errors raised while an installed module imports
            (a broken install) propagate as they are.
    """
    command = install_command(extra)
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:  # also raised where `sys.modules[name]` is None (blocked)
        missing = e.name
        name = _DISTRIBUTIONS.get(top, top)
        # a missing dependency of the package itself (e.g. librosa's numba): the extra installs it
        detail = "" if missing in (None, module, top) else f" (missing: {missing})"
        raise ImportError(
            f"{purpose} needs {name}, which the base install leaves out{detail}: {command}"
        ) from e
