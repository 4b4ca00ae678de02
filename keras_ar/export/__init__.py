"""keras_ar.export: SavedModels for serving, loadable with TensorFlow alone.

`export_saved_model(model, "saved_models/<name>")` writes the next version directory
(`saved_models/<name>/1`, `2`, ...) atomically, in TensorFlow Serving's layout;
`export_archive(model, path)` writes one SavedModel at exactly `path`.
"""

from keras_ar.export.saved_model import export_archive
from keras_ar.export.saved_model import export_saved_model

__all__ = ["export_archive", "export_saved_model"]
