"""keras_ar.export: SavedModels for serving, loadable with TensorFlow alone.

`export_saved_model(model, "saved_models/<name>")` writes the next version directory
(`saved_models/<name>/1`, `2`, ...) atomically, in TensorFlow Serving's layout;
`export_archive(model, path)` writes one SavedModel at exactly `path`.

The signatures are the model's `serving_functions()` (`log_prob`, also `serving_default` and
`serve`; `conditional_log_probs`; `sample`; `complete`), and for sequence models with a
cached step the streaming `generate_init` / `generate_step`, whose state tensors have stable
names: `cache_0` ... `cache_{k-1}` (the model's generation cache, opaque, in a fixed order of
its structure, never named after layers), `x_prev`, `index` and `seed`. A client feeds every
output of one call except `samples` to the next `generate_step` under its name.

TensorFlow and JAX models export in process (JAX through `jax.experimental.jax2tf`, serving
the samples of `model.sample` for a seed); torch models, and JAX models where jax2tf does not
import, through a TensorFlow twin process (see `export_saved_model`).
"""

from keras_ar.export.saved_model import export_archive
from keras_ar.export.saved_model import export_saved_model

__all__ = ["export_archive", "export_saved_model"]
