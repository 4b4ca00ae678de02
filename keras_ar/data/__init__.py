"""keras_ar.data: tf.data pipelines and bundled datasets.

The benchmark protocols (`load_protocol`, NumPy and scikit-learn), `SequenceData` and the
window helpers, and the TFDS network check import without TensorFlow; the `tf.data` pipelines
and transforms import TensorFlow when first used, and the sequence protocols (`speech`, `text`,
`co2` / `sunspots`) and audio functions import their modules (librosa, statsmodels) when first
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
from keras_ar.data.sequences import SequenceData
from keras_ar.data.sequences import scoring_windows
from keras_ar.data.sequences import windows
from keras_ar.data.tfds_source import check_tfds_available
from keras_ar.data.tfds_source import network_reachable

# name -> module, imported on first use (they need TensorFlow, librosa or statsmodels)
_LAZY = {
    "audio_dataset": "audio",
    "load_audio": "audio",
    "log_mel_frames": "audio",
    "mu_law_decode": "audio",
    "mu_law_encode": "audio",
    "silence_code": "audio",
    "trim_silence": "audio",
    "write_wav": "audio",
    "generate_speech": "speech",
    "load_speech": "speech",
    "speech_dataset": "speech",
    "bits_per_character": "text",
    "decode_text": "text",
    "encode_text": "text",
    "load_text": "text",
    "text_corpus": "text",
    "text_dataset": "text",
    "text_scoring_windows": "text",
    "text_windows": "text",
    "autoreg_baseline": "timeseries",
    "difference_timeseries": "timeseries",
    "load_timeseries": "timeseries",
    "timeseries_dataset": "timeseries",
    "timeseries_scoring_windows": "timeseries",
    "timeseries_windows": "timeseries",
    "window_dataset": "sequences",
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
    "SequenceData",
    "audio_dataset",
    "autoreg_baseline",
    "binarize",
    "bits_per_character",
    "check_tfds_available",
    "decode_text",
    "dequantize",
    "difference_timeseries",
    "digits_dataset",
    "dynamic_binarize",
    "encode_text",
    "generate_speech",
    "grey_condition",
    "image_dataset",
    "load_audio",
    "load_image_folder",
    "load_protocol",
    "load_speech",
    "load_text",
    "load_timeseries",
    "log_mel_frames",
    "make_dataset",
    "mu_law_decode",
    "mu_law_encode",
    "network_reachable",
    "protocol_dataset",
    "protocol_indices",
    "quantize",
    "sample_patches",
    "scoring_windows",
    "silence_code",
    "speech_dataset",
    "standardize",
    "superres_condition",
    "text_corpus",
    "text_dataset",
    "text_scoring_windows",
    "text_windows",
    "timeseries_dataset",
    "timeseries_scoring_windows",
    "timeseries_windows",
    "trim_silence",
    "window_dataset",
    "windows",
    "write_wav",
]
