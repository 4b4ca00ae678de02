"""The TensorFlow twin of an export: `python -m keras_ar.export._twin MODEL.keras PATH`.

Keras fixes its backend per process, and the export traces the model with TensorFlow.
`export_saved_model` / `export_archive` on another backend save the model to a `.keras`
file and run this module with `KERAS_BACKEND=tensorflow`: it loads the file and writes the
SavedModel at `PATH`. A failure exits non-zero with the traceback on stderr, which the
parent puts in its error.
"""

import argparse
import importlib
import sys


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
