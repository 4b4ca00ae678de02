"""The TensorFlow twin of an export: `python -m keras_ar.export._twin MODEL.keras PATH`.

Keras fixes its backend per process. A model whose backend cannot be lowered to a
TensorFlow graph in its own process (torch; JAX without `jax.experimental.jax2tf`) is saved
to a `.keras` file, and this module, run with `KERAS_BACKEND=tensorflow`, loads it and writes
the SavedModel at `PATH`. A failure exits non-zero with the traceback on stderr, which the
parent puts in its error; a twin that runs past its timeout is killed.

The twin's SavedModel is the TensorFlow model's: its log-likelihoods are the model's, and a
seed draws TensorFlow's random numbers, so its samples are those of the same weights'
`sample` on the TensorFlow backend, not those of `model.sample` on torch (each backend has
its own generator).
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile

# Seconds a twin may take; a model that takes longer to trace is not a model this package makes.
TIMEOUT = 900


def export_in_twin(model, path, use_cache=True, timeout=None, reason=None):
    """Save `model` to a `.keras` file; a TensorFlow-backend twin process loads and exports it at `path`.

    Args:
        model: a keras_ar model whose class is importable by module name (not defined in
            `__main__`, a script or a notebook).
        path: str. The SavedModel directory to write.
        use_cache: bool. As `export_archive`.
        timeout: seconds, or None for `TIMEOUT`.
        reason: str or None. Why the export cannot run in this process, for the errors.

    Raises:
        ValueError: the model's class is defined in `__main__`.
        RuntimeError: the twin failed or timed out; the message holds what it printed.
    """
    import keras

    backend = keras.backend.backend()
    why = f" ({reason})" if reason else ""
    cls = type(model)
    if cls.__module__ == "__main__":
        raise ValueError(
            f"Models of the {backend!r} backend are exported by a TensorFlow twin process{why}, which loads "
            f"the model from a .keras file and must import its class; {cls.__name__} is defined in `__main__` "
            "(a script or a notebook), which the twin cannot import. Move the class into an importable module "
            "(registered with `keras.saving.register_keras_serializable`), or export on the TensorFlow or JAX "
            f"backend. Received: a model of class __main__.{cls.__name__}"
        )
    timeout = TIMEOUT if timeout is None else timeout
    import keras_ar

    with tempfile.TemporaryDirectory(prefix="keras_ar_export_") as tmp:
        keras_file = os.path.join(tmp, "model.keras")
        model.save(keras_file)
        command = [sys.executable, "-m", "keras_ar.export._twin", keras_file, os.path.abspath(path)]
        command += ["--use-cache" if use_cache else "--no-use-cache"]
        if not cls.__module__.startswith("keras_ar."):
            command += ["--import", cls.__module__]  # registers a user's model class in the twin
        root = os.path.dirname(os.path.dirname(os.path.abspath(keras_ar.__file__)))
        env = dict(os.environ)
        env.update(
            KERAS_BACKEND="tensorflow",
            # The export is a trace, not a computation: keep the twin off the accelerator the
            # parent may hold.
            CUDA_VISIBLE_DEVICES="-1",
            TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            PYTHONPATH=os.pathsep.join(p for p in (root, os.getcwd(), env.get("PYTHONPATH")) if p),
        )
        shown = f"`python -m keras_ar.export._twin {os.path.basename(keras_file)} {path}` with KERAS_BACKEND=tensorflow"
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            detail = _text(e.stderr) or _text(e.stdout)
            raise RuntimeError(
                f"Exporting a model of the {backend!r} backend{why} runs a TensorFlow twin process ({shown}); it "
                f"did not finish in {timeout} s and was stopped. It said:\n{detail[-4000:]}"
            ) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-4000:]
        raise RuntimeError(
            f"Exporting a model of the {backend!r} backend{why} failed in its TensorFlow twin process ({shown}, "
            f"exit code {result.returncode}). The model is saved to a .keras file and exported there, so its class "
            f"must be importable and registered with `keras.saving.register_keras_serializable`. "
            f"The twin said:\n{detail}"
        )


def _text(value):
    if value is None:
        return ""
    return (value.decode(errors="replace") if isinstance(value, bytes) else value).strip()


def main(argv=None):
    """Load a `.keras` file and export it at a path, on the TensorFlow backend.

    Args:
        argv: list of str. The command line without the program name: the `.keras` file,
            the export path, `--use-cache` / `--no-use-cache`, and `--import MODULE`
            (repeatable) for modules that register custom classes.

    Returns:
        int: 0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m keras_ar.export._twin", description=__doc__.split("\n")[0])
    parser.add_argument("keras_file")
    parser.add_argument("export_path")
    parser.add_argument("--use-cache", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--import", dest="imports", action="append", default=[])
    args = parser.parse_args(argv)

    import keras

    if keras.backend.backend() != "tensorflow":
        raise SystemExit(
            "keras_ar.export._twin must run on the TensorFlow backend (set KERAS_BACKEND=tensorflow). "
            f"Received: backend={keras.backend.backend()!r}"
        )
    import keras_ar  # noqa: F401 -- registers the keras_ar classes
    from keras_ar.export.saved_model import export_archive

    for module in args.imports:
        importlib.import_module(module)
    model = keras.saving.load_model(args.keras_file, compile=False)
    export_archive(model, args.export_path, use_cache=args.use_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
