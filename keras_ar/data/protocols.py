"""Moved to `keras_ar.datasets.protocols` (`keras_ar.datasets.load_protocol`, ...): the names of this
module resolve there, with a `DeprecationWarning`."""

from keras_ar.data import _moved

_MOVED = {
    name: ("keras_ar.datasets.protocols", name)
    for name in (
        "PROTOCOLS",
        "ProtocolData",
        "grey_condition",
        "load_protocol",
        "protocol_indices",
        "sample_patches",
        "superres_condition",
    )
}


def __getattr__(name):
    return _moved.resolve(__name__, name, _MOVED)
