"""keras_ar.data: `tf.data` pipelines and transforms.

Pipelines of arrays, images (arrays, a `.npy` file, a folder of images or a TFDS name) and the
bundled data sets (`digits_dataset`, `text_dataset`, `timeseries_dataset`, `speech_dataset`);
transforms (binarisation, quantisation, dequantisation, standardisation); audio (mu-law codes,
loading, log-mel frames, random segments); windows of long sequences and the windows that score
every value once. The bundled data sets themselves, with their fixed splits and the protocols of
the benchmarks, are in `keras_ar.datasets`; the names that moved there (`load_protocol`,
`load_text`, ...) still resolve here, with a `DeprecationWarning` that names the new place.

The window helpers import without TensorFlow; the `tf.data` pipelines and transforms import
TensorFlow when first used, and the audio functions their modules (librosa) when first used, so
`import keras_ar` works on a JAX or torch machine without TensorFlow.
"""

import importlib

from keras_ar.data import _moved
from keras_ar.data.sequences import scoring_windows
from keras_ar.data.sequences import windows

# name -> module, imported on first use (they need TensorFlow or librosa)
_LAZY = {
    "audio_dataset": "audio",
    "load_audio": "audio",
    "log_mel_frames": "audio",
    "mu_law_decode": "audio",
    "mu_law_encode": "audio",
    "silence_code": "audio",
    "trim_silence": "audio",
    "write_wav": "audio",
    "speech_dataset": "speech",
    "text_dataset": "text",
    "timeseries_dataset": "timeseries",
    "window_dataset": "sequences",
    "digits_dataset": "pipelines",
    "image_dataset": "pipelines",
    "load_image_folder": "images",
    "make_dataset": "pipelines",
    "binarize": "transforms",
    "dequantize": "transforms",
    "dynamic_binarize": "transforms",
    "quantize": "transforms",
    "standardize": "transforms",
}

# name -> (its new module, its name there): the benchmark protocols and bundled data moved to
# keras_ar.datasets, the TFDS network check is keras_ar.data.tfds_source's
_MOVED = {
    **{
        name: ("keras_ar.datasets", name)
        for name in ("PROTOCOLS", "ProtocolData", "SequenceData", "load_protocol")
    },
    **{
        name: ("keras_ar.datasets.protocols", name)
        for name in ("grey_condition", "protocol_indices", "sample_patches", "superres_condition")
    },
    **{
        name: ("keras_ar.datasets.text", name)
        for name in (
            "bits_per_character",
            "decode_text",
            "encode_text",
            "load_text",
            "text_corpus",
            "text_scoring_windows",
            "text_windows",
        )
    },
    **{
        name: ("keras_ar.datasets.timeseries", name)
        for name in (
            "autoreg_baseline",
            "difference_timeseries",
            "load_timeseries",
            "timeseries_scoring_windows",
            "timeseries_windows",
        )
    },
    "generate_speech": ("keras_ar.datasets.speech", "generate_speech"),
    "load_speech": ("keras_ar.datasets.speech", "load_speech"),
    "check_tfds_available": ("keras_ar.data.tfds_source", "check_tfds_available"),
    "network_reachable": ("keras_ar.data.tfds_source", "network_reachable"),
    "protocol_dataset": ("keras_ar.data", "digits_dataset"),
}


_SUBMODULES = ("audio", "images", "pipelines", "protocols", "sequences", "speech", "text", "tfds_source", "timeseries", "transforms")


def __getattr__(name):
    if name in _SUBMODULES:  # `keras_ar.data.tfds_source`, ... without an explicit import
        return importlib.import_module(f"keras_ar.data.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(f"keras_ar.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    return _moved.resolve(__name__, name, _MOVED)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "audio_dataset",
    "binarize",
    "dequantize",
    "digits_dataset",
    "dynamic_binarize",
    "image_dataset",
    "load_audio",
    "load_image_folder",
    "log_mel_frames",
    "make_dataset",
    "mu_law_decode",
    "mu_law_encode",
    "quantize",
    "scoring_windows",
    "silence_code",
    "speech_dataset",
    "standardize",
    "text_dataset",
    "timeseries_dataset",
    "trim_silence",
    "window_dataset",
    "windows",
    "write_wav",
]
