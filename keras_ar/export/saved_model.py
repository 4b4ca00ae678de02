"""SavedModel export: the serving signatures, written atomically in TensorFlow Serving's layout."""

import errno
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

import keras

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
      condition) returns the state as a flat dict of tensors (`cache__...`, `x_prev`, `index`,
      `seed`); `generate_step(<that state>, temperature[, condition])` draws the next
      `input_shape[0]` time steps (`samples`) and returns the next state. A local condition
      (WaveNet's `local_conditioning`) goes to each `generate_step`: the
      `ceil(input_shape[0] / hop)` frames of its steps. k calls give exactly
      `model.sample(n, num_steps=k * input_shape[0], seed=s)`.

    A seed `s >= 0` gives exactly `model.sample(n, seed=s)` (`model.sample(n, known=...,
    known_mask=..., seed=s)` for `complete`); a negative seed (e.g. `-1`) draws a fresh seed
    inside the graph on every call. Bad inputs (values outside the support, NaN or inf,
    `num_samples < 1`, `temperature <= 0`, a non-0/1 mask, a label out of range, batch
    sizes that do not match) fail with an `InvalidArgumentError` that names the input.

    The export traces the model with TensorFlow. A model on another Keras backend (JAX,
    torch) is saved to a temporary `.keras` file and exported by a subprocess running
    `python -m keras_ar.export._twin` with `KERAS_BACKEND=tensorflow`; its class must be
    importable there (every keras_ar model is).

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
    from keras_ar.models.autoregressive_model import AutoregressiveModel

    if not isinstance(model, AutoregressiveModel):
        raise ValueError(
            f"`model` must be a keras_ar AutoregressiveModel. Received: model of type {type(model).__name__}"
        )


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
    if keras.backend.backend() == "tensorflow":
        from keras_ar.export.signatures import build_archive

        build_archive(model, use_cache).write_out(path, verbose=False)
    else:
        _write_in_subprocess(model, path, use_cache)


def _write_in_subprocess(model, path, use_cache):
    """Save `model` to a `.keras` file; a TensorFlow-backend twin process loads and exports it."""
    import keras_ar

    backend = keras.backend.backend()
    with tempfile.TemporaryDirectory(prefix="keras_ar_export_") as tmp:
        keras_file = os.path.join(tmp, "model.keras")
        model.save(keras_file)
        command = [sys.executable, "-m", "keras_ar.export._twin", keras_file, os.path.abspath(path)]
        command += ["--use-cache" if use_cache else "--no-use-cache"]
        module = type(model).__module__
        if module != "__main__" and not module.startswith("keras_ar."):
            command += ["--import", module]  # registers a user's model class in the twin
        root = os.path.dirname(os.path.dirname(os.path.abspath(keras_ar.__file__)))
        env = dict(os.environ)
        env.update(
            KERAS_BACKEND="tensorflow",
            # The export is a trace, not a computation: keep the twin off the accelerator the
            # parent (e.g. JAX, which preallocates GPU memory) may hold.
            CUDA_VISIBLE_DEVICES="-1",
            TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            PYTHONPATH=os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p),
        )
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-4000:]
        raise RuntimeError(
            f"Exporting a model of the {backend!r} backend failed in its TensorFlow twin process "
            f"(`{' '.join(command[1:4])} ...` with KERAS_BACKEND=tensorflow, exit code "
            f"{result.returncode}). The model is saved to a .keras file and exported there, so its class "
            f"must be importable and registered with `keras.saving.register_keras_serializable`. "
            f"The twin said:\n{detail}"
        )
