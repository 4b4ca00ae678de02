"""keras_ar.data: tf.data pipelines and bundled datasets.

The benchmark protocols (`load_protocol`, NumPy and scikit-learn) and the TFDS network check
import without TensorFlow; the `tf.data` pipelines and transforms import TensorFlow when first
used, so `import keras_ar` works on a JAX or torch machine without TensorFlow.
"""

import importlib

from keras_ar.data.protocols import PROTOCOLS
from keras_ar.data.protocols import ProtocolData
from keras_ar.data.protocols import grey_condition
from keras_ar.data.protocols import load_protocol
from keras_ar.data.protocols import protocol_indices
from keras_ar.data.protocols import sample_patches
from keras_ar.data.protocols import superres_condition
from keras_ar.data.tfds_source import check_tfds_available
from keras_ar.data.tfds_source import network_reachable

# name -> module, imported on first use (they need TensorFlow)
_LAZY = {
    "digits_dataset": "pipelines",
    "image_dataset": "pipelines",
    "load_image_folder": "pipelines",
    "make_dataset": "pipelines",
    "protocol_dataset": "pipelines",
    "binarize": "transforms",
    "dequantize": "transforms",
    "dynamic_binarize": "transforms",
    "quantize": "transforms",
    "standardize": "transforms",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"keras_ar.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_ar.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "PROTOCOLS",
    "ProtocolData",
    "binarize",
    "check_tfds_available",
    "dequantize",
    "digits_dataset",
    "dynamic_binarize",
    "grey_condition",
    "image_dataset",
    "load_image_folder",
    "load_protocol",
    "make_dataset",
    "network_reachable",
    "protocol_dataset",
    "protocol_indices",
    "quantize",
    "sample_patches",
    "standardize",
    "superres_condition",
]
