"""keras_ar.data: tf.data pipelines and bundled datasets."""

from keras_ar.data.pipelines import digits_dataset, image_dataset, make_dataset
from keras_ar.data.protocols import PROTOCOLS, ProtocolData, load_protocol, protocol_indices
from keras_ar.data.transforms import (
    binarize,
    dequantize,
    dynamic_binarize,
    quantize,
    standardize,
)

__all__ = [
    "PROTOCOLS",
    "ProtocolData",
    "binarize",
    "dequantize",
    "digits_dataset",
    "dynamic_binarize",
    "image_dataset",
    "load_protocol",
    "make_dataset",
    "protocol_indices",
    "quantize",
    "standardize",
]
