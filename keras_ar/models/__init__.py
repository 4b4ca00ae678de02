"""keras_ar.models: autoregressive models, all subclasses of AutoregressiveModel."""

from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.models.fvsbn import FVSBN

__all__ = ["AutoregressiveModel", "FVSBN"]
