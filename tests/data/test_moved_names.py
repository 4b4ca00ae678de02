"""keras_ar.data holds the library pipelines; the protocols and bundled data moved to
keras_ar.datasets, the TFDS network check to keras_ar.data.tfds_source. Every old name still
resolves, to the object at its new place, with a DeprecationWarning that names that place."""

import importlib
import warnings

import pytest

import keras_ar.data
from keras_ar.data import _moved

# the 48 names of keras_ar.data.__all__ before the move
OLD_ALL = (
    "PROTOCOLS ProtocolData SequenceData audio_dataset autoreg_baseline binarize bits_per_character "
    "check_tfds_available decode_text dequantize difference_timeseries digits_dataset dynamic_binarize "
    "encode_text generate_speech grey_condition image_dataset load_audio load_image_folder load_protocol "
    "load_speech load_text load_timeseries log_mel_frames make_dataset mu_law_decode mu_law_encode "
    "network_reachable protocol_dataset protocol_indices quantize sample_patches scoring_windows "
    "silence_code speech_dataset standardize superres_condition text_corpus text_dataset "
    "text_scoring_windows text_windows timeseries_dataset timeseries_scoring_windows timeseries_windows "
    "trim_silence window_dataset windows write_wav"
).split()


def test_the_namespace_holds_the_pipelines():
    assert len(OLD_ALL) == 48 and len(keras_ar.data.__all__) == 23
    assert set(keras_ar.data.__all__) < set(OLD_ALL)
    assert not {"load_protocol", "load_text", "network_reachable", "PROTOCOLS"} & set(keras_ar.data.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the names that stayed do not warn
        for name in keras_ar.data.__all__:
            assert getattr(keras_ar.data, name) is not None


@pytest.mark.parametrize("name", sorted(set(OLD_ALL) - set(keras_ar.data.__all__)))
def test_a_moved_name_warns_and_gives_the_new_object(name):
    new_module, new_name = keras_ar.data._MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"`keras_ar\.data\.{name}` moved to `{new_module}\.{new_name}`"):
        value = getattr(keras_ar.data, name)
    assert value is getattr(importlib.import_module(new_module), new_name)
    assert new_module.startswith(("keras_ar.datasets", "keras_ar.data.tfds_source")) or name == "protocol_dataset"


def test_old_submodule_names_resolve():
    from keras_ar import datasets

    with pytest.warns(DeprecationWarning, match="keras_ar.data.protocols.load_protocol` moved to"):
        assert keras_ar.data.protocols.load_protocol is datasets.load_protocol
    with pytest.warns(DeprecationWarning, match="moved to `keras_ar.datasets.timeseries.raw_series`"):
        from keras_ar.data.timeseries import raw_series
    assert raw_series is datasets.timeseries.raw_series
    with pytest.warns(DeprecationWarning, match="moved to `keras_ar.datasets.speech.SENTENCES`"):
        assert keras_ar.data.speech.SENTENCES is datasets.speech.SENTENCES


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'keras_ar.data' has no attribute 'load_mnist'"):
        keras_ar.data.load_mnist
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _moved.resolve("keras_ar.data", "nope", {})
