"""keras_ar.models: autoregressive models, all subclasses of AutoregressiveModel."""

from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.models.fvsbn import FVSBN
from keras_ar.models.histogram import Histogram
from keras_ar.models.pixel_cnn import PixelCNN

__all__ = ["AutoregressiveModel", "FVSBN", "Histogram", "PixelCNN"]
