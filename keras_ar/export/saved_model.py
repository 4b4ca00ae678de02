"""SavedModel export: the serving signatures, written atomically in TensorFlow Serving's layout."""

import errno
import os
import secrets
import shutil

import keras

from keras_ar.export._twin import export_in_twin

_MAX_RENAME_TRIES = 100


def export_saved_model(model, export_dir, use_cache=True):
    """Export `model` as the next version of a servable: `export_dir/<version>/`.

    The layout is TensorFlow Serving's: `export_dir` (e.g. `saved_models/<name>`) holds one
    integer directory per version; this call writes version `max(existing) + 1` (`1` for the
    first). The SavedModel is written to a hidden temporary directory inside `export_dir`
    (`.tmp-<version>-<random>`, which TensorFlow Serving ignores) and renamed into place at
    the end, so a server never sees a half-written version and a failed export leaves none.

    The SavedModel needs only TensorFlow to load (`tf.saved_model.load(path)`), not keras or
    keras_ar. Its signatures (every one takes `condition` too when the model is conditional:
    int32 labels `[batch]` for `num_classes`, float32 `[batch, *condition_shape]` for
    `condition_shape`; a batch of one condition is repeated):

    - `log_prob` (also `serving_default` and Keras' `serve`): `x` float32
      `[batch, *input_shape]` (levels, as floats, for discrete heads) -> `log_prob` (nats)
      and `bits_per_dim`, both `[batch]`.
    - `conditional_log_probs`: `x` -> `conditional_log_probs` `[batch, *input_shape]`.
    - `sample`: `num_samples` int32, `seed` int32, `temperature` float32 (scalars) ->
      `samples` `[num_samples, *input_shape]`, int32 for discrete heads, float32 otherwise.
    - `complete`: `known` float32 `[batch, *input_shape]`, `known_mask` float32 of the same
      shape (1.0 keeps the value of `known`, 0.0 samples it), `seed`, `temperature` ->
      `samples`.

    - `generate_init` and `generate_step`, for sequence models with a cached step (WaveNet, ...):
      streaming `model.generate`. `generate_init(num_samples, seed[, condition])` (a global
      condition) returns the state as a flat dict of tensors with stable names: `cache_0` ...
      `cache_{k-1}` (the model's generation cache, opaque, in a fixed order of its structure,
      never named after layers), `x_prev`, `index` and `seed`; `generate_step(<that state>,
      temperature[, condition])` draws the next `input_shape[0]` time steps (`samples`) and
      returns the next state under the same names. A local condition (WaveNet's
      `local_conditioning`) goes to each `generate_step`: the `condition_shape[0]` frames of its
      steps. k calls give exactly `model.sample(n, num_steps=k * input_shape[0], seed=s)`.

    The signatures are what `model.serving_functions()` lists (a `PixelCNNAutoEncoder` serves
    `encode` and `decode` instead of `sample` and `complete`).

    A seed `s >= 0` gives exactly `model.sample(n, seed=s)` (`model.sample(n, known=...,
    known_mask=..., seed=s)` for `complete`) on TensorFlow and JAX; a negative seed (e.g.
    `-1`) draws a fresh seed inside the graph on every call. Bad inputs (values outside the
    support, NaN or inf, `num_samples < 1`, `temperature <= 0`, a non-0/1 mask, a label out of
    range, batch sizes that do not match) fail with an `InvalidArgumentError` that names the input.

    Backends: on TensorFlow the export traces the model; on JAX it converts the model's
    functions with `jax.experimental.jax2tf` in this process (StableHLO for CPU and CUDA), so
    the served random numbers are JAX's and the samples are `model.sample`'s (real values
    within float rounding: TensorFlow's XLA compiles the computation). A torch model, or a JAX
    model where jax2tf does not import, is saved to a temporary `.keras` file and exported by
    a TensorFlow twin process (`python -m keras_ar.export._twin`, stopped after
    `keras_ar.export._twin.TIMEOUT` seconds); its class must be importable there (not defined
    in `__main__`), and a seed there draws TensorFlow's numbers: the samples are those of the
    same weights on the TensorFlow backend, not torch's `model.sample`. Log-likelihoods are
    the model's on every backend.

    Args:
        model: a `keras_ar.models.AutoregressiveModel`.
        export_dir: str or path-like. The model's directory, e.g. `"saved_models/digits"`;
            created if missing. Not a version directory itself.
        use_cache: bool. Trace the model's faster exact sampler where it has one (the
            samples are the same either way).

    Returns:
        str: the path of the new version, e.g. `"saved_models/digits/1"`.

    Example:

    >>> import tempfile
    >>> model = keras_ar.models.PixelCNN(input_shape=(2, 2, 1), filters=2, num_residual_blocks=0)
    >>> root = tempfile.mkdtemp()
    >>> os.path.basename(export_saved_model(model, os.path.join(root, "pixelcnn")))
    '1'
    >>> sorted(os.listdir(os.path.join(root, "pixelcnn")))
    ['1']
    """
    _check_model(model)
    export_dir = os.fspath(export_dir)
    if os.path.exists(os.path.join(export_dir, "saved_model.pb")):
        raise ValueError(
            "`export_dir` is the model's directory, which holds one directory per version; it must not "
            f"be a SavedModel itself. Received: export_dir={export_dir!r} (it holds a saved_model.pb)"
        )
    os.makedirs(export_dir, exist_ok=True)
    tmp = _make_temp_dir(export_dir, _next_version(export_dir))
    try:
        _write(model, tmp, use_cache)
        for _ in range(_MAX_RENAME_TRIES):  # another exporter may take a version number meanwhile
            target = os.path.join(export_dir, str(_next_version(export_dir)))
            try:
                os.rename(tmp, target)
                return target
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not os.path.exists(target):
                    raise
        raise RuntimeError(f"Could not claim a new version directory in {export_dir!r}.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a no-op after the rename


def export_archive(model, path, use_cache=True):
    """Export `model` as a SavedModel at exactly `path` (no version directory).

    The same SavedModel as `export_saved_model` writes, with the same signatures: `log_prob`
    (also `serving_default` and `serve`, the endpoint Keras' `model.export(path)` provides),
    `conditional_log_probs`, `sample` and `complete`. An existing SavedModel at `path` is
    overwritten, as `keras.Model.export` does; use `export_saved_model` for servable versions.

    Args:
        model: a `keras_ar.models.AutoregressiveModel`.
        path: str or path-like. The directory to write.
        use_cache: bool. Trace the model's faster exact sampler where it has one.

    Returns:
        str: `path`.

    Example:

    ```python
    model = keras_ar.models.PixelCNN(input_shape=(8, 8, 1), distribution="categorical", num_levels=17)
    export_archive(model, "/tmp/pixelcnn")
    served = tf.saved_model.load("/tmp/pixelcnn")  # in any process with TensorFlow
    served.serve(x)["log_prob"]  # x: float32 levels [batch, 8, 8, 1]
    served.sample(num_samples=4, seed=-1, temperature=1.0)["samples"]  # int32 [4, 8, 8, 1]
    ```
    """
    _check_model(model)
    path = os.fspath(path)
    _write(model, path, use_cache)
    return path


def _check_model(model):
    # Duck-typed: a keras_ar model is a Keras model that says what it serves. (Export sits
    # above the models and needs nothing of them but their public methods.)
    if not isinstance(model, keras.Model) or not callable(getattr(model, "serving_functions", None)):
        raise ValueError(
            "`model` must be a keras_ar AutoregressiveModel (a keras.Model with `serving_functions`). "
            f"Received: model of type {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(f"`model` must be built before export. Received: an unbuilt {type(model).__name__}")


def _next_version(export_dir):
    """1 + the largest integer name in `export_dir` (a file of that name would block the rename too)."""
    return max((int(name) for name in os.listdir(export_dir) if name.isdigit()), default=0) + 1


def _make_temp_dir(export_dir, version):
    """A new hidden directory `.tmp-<version>-<random>` (made with `os.mkdir`: the umask's permissions)."""
    while True:
        path = os.path.join(export_dir, f".tmp-{version}-{secrets.token_hex(4)}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def _write(model, path, use_cache):
    """Write the SavedModel: in this process on TensorFlow and JAX (jax2tf), else in a TensorFlow twin."""
    reason = unavailable_reason()
    if reason is None:
        from keras_ar.export.signatures import build_archive  # imports TensorFlow

        build_archive(model, use_cache).write_out(path, verbose=False)
    else:
        export_in_twin(model, path, use_cache, reason=reason)


def unavailable_reason(backend=None):
    """None when models of `backend` (default: Keras' backend) export in this process, else why not.

    TensorFlow's do; JAX's do where `jax.experimental.jax2tf` imports (it converts the model's
    functions to TensorFlow graphs); torch's never do.
    """
    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        return None
    if backend == "jax":
        try:
            from jax.experimental import jax2tf  # noqa: F401
        except ImportError as e:  # a jax without jax2tf
            return f"jax.experimental.jax2tf does not import: {e}"
        return None
    return f"the {backend} backend has no converter to TensorFlow graphs"
