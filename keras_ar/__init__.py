"""keras_ar: autoregressive generative models for Keras 3."""

__version__ = "0.1.0"

from keras_ar import data  # noqa: E402,F401  (tf.data parts import TensorFlow on first use)
from keras_ar import distributions  # noqa: E402,F401
from keras_ar import generation  # noqa: E402,F401
from keras_ar import layers  # noqa: E402,F401
from keras_ar import models  # noqa: E402,F401
