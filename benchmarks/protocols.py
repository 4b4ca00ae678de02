"""The benchmark protocols: what each benchmark measures on which data, with its baselines.

The data and their fixed splits are `keras_ar.datasets`' (the image and tabular protocols through
`load_protocol(name)`, the sequence protocols through `load_sequence(name)`); this module adds what
only the benchmarks use: the metric of each protocol, the reference baselines, and the windows and
anchors of the sequence protocols. `quality.py`, `speed.py`, `sequences.py` and `speech_voices.py`
take their data from here.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_ar.datasets import PROTOCOLS  # noqa: E402,F401  (the image and tabular protocols)
from keras_ar.datasets import load_protocol  # noqa: E402,F401
from keras_ar.datasets.speech import load_speech  # noqa: E402
from keras_ar.datasets.text import bits_per_character  # noqa: E402,F401
from keras_ar.datasets.text import load_text  # noqa: E402
from keras_ar.datasets.text import text_scoring_windows  # noqa: E402,F401
from keras_ar.datasets.text import text_windows  # noqa: E402,F401
from keras_ar.datasets.timeseries import autoreg_baseline  # noqa: E402,F401
from keras_ar.datasets.timeseries import difference_timeseries  # noqa: E402,F401
from keras_ar.datasets.timeseries import load_timeseries  # noqa: E402
from keras_ar.datasets.timeseries import timeseries_scoring_windows  # noqa: E402,F401
from keras_ar.datasets.timeseries import timeseries_windows  # noqa: E402,F401

SEQUENCE_PROTOCOLS = ("sunspots", "co2", "text", "speech")

# what each protocol reports (the test split's NLL)
METRICS = {
    **{name: "nats per example (and bits per dimension)" for name in PROTOCOLS},
    "co2": "nats per value",
    "sunspots": "nats per value",
    "text": "bits per character",
    "speech": "bits per sample",
}

# the best published / classical baseline of each image and tabular protocol, test NLL in nats per
# example (bits per dimension for the patches), as the README's quality table cites them
BASELINES = {"digits-binary": 18.08, "digits-17": 92.65, "digits-dequantized": -62.86, "breast-cancer": 5.61,
             "patches-rgb": 4.42, "digits-superres": 92.65, "patches-colorize": 4.42}


def load_sequence(name):
    """The `SequenceData` of a sequence protocol: `"co2"`, `"sunspots"`, `"text"` or `"speech"`."""
    if name in ("co2", "sunspots"):
        return load_timeseries(name)
    if name == "text":
        return load_text()
    if name == "speech":
        return load_speech()
    raise ValueError(f"Unknown sequence protocol. Expected one of {SEQUENCE_PROTOCOLS}. Received: name={name!r}")
