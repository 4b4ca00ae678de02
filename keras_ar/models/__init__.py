"""keras_ar.models: autoregressive models, all subclasses of AutoregressiveModel."""

from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.models.finite_memory_ar import FiniteMemoryAR
from keras_ar.models.fvsbn import FVSBN
from keras_ar.models.gated_pixel_cnn import GatedPixelCNN
from keras_ar.models.histogram import Histogram
from keras_ar.models.image_model import ImageModel
from keras_ar.models.made import MADE
from keras_ar.models.nade import NADE
from keras_ar.models.pixel_cnn import PixelCNN
from keras_ar.models.pixel_cnn_autoencoder import PixelCNNAutoEncoder
from keras_ar.models.pixel_cnn_plus_plus import PixelCNNPlusPlus
from keras_ar.models.pixel_rnn import PixelRNN
from keras_ar.models.recurrent_ar import RecurrentAR
from keras_ar.models.rnade import RNADE
from keras_ar.models.transformer_ar import TransformerAR
from keras_ar.models.wavenet import WaveNet

__all__ = [
    "AutoregressiveModel", "FVSBN", "FiniteMemoryAR", "GatedPixelCNN", "Histogram", "ImageModel", "MADE", "NADE",
    "PixelCNN", "PixelCNNAutoEncoder", "PixelCNNPlusPlus", "PixelRNN", "RecurrentAR", "RNADE", "TransformerAR", "WaveNet",
]
