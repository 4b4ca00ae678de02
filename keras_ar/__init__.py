"""keras_ar: autoregressive generative models for Keras 3."""

__version__ = "0.1.0"

from keras_ar import callbacks  # noqa: E402,F401
from keras_ar import data  # noqa: E402,F401  (tf.data parts import TensorFlow on first use)
from keras_ar import datasets  # noqa: E402,F401  (NumPy; optional packages imported on first use)
from keras_ar import distributions  # noqa: E402,F401
from keras_ar import export  # noqa: E402,F401  (TensorFlow is imported when a model is exported)
from keras_ar import generation  # noqa: E402,F401
from keras_ar import layers  # noqa: E402,F401
from keras_ar import models  # noqa: E402,F401
