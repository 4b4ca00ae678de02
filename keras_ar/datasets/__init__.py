"""keras_ar.datasets: bundled data sets with fixed splits, shaped like `keras.datasets`.

One module per data set, each with a `load_data()` that returns NumPy arrays of its fixed train /
validation / test splits:

- `digits`: the 8x8 handwritten digits (1,797 images, 17 levels), bundled with the package.
- `text`: "Paradise Lost" as character ids (a bundled public-domain text, SHA-256 checked).
- `breast_cancer`, `patches`: scikit-learn's data (`pip install 'keras-ar[benchmarks]'`).
- `co2`, `sunspots`: statsmodels' series (`pip install 'keras-ar[timeseries]'`).
- `speech`: sentences spoken by espeak-ng (`pip install 'keras-ar[audio]'` and espeak-ng).

`load_protocol(name)` gives the named protocols of the benchmarks and of `keras-ar --data NAME`
(`PROTOCOLS`: `"digits-binary"`, `"digits-17"`, ...) as a `ProtocolData`; the sequence protocols
are `text.load_text()`, `timeseries.load_timeseries("co2")` and `speech.load_speech()` (a
`SequenceData`). `keras_ar.data` makes `tf.data` pipelines of them.

Example:

>>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = digits.load_data()
>>> x_train.shape, x_val.shape, x_test.shape
((1237, 8, 8, 1), (200, 8, 8, 1), (360, 8, 8, 1))
"""

from keras_ar.data.sequences import SequenceData
from keras_ar.datasets import breast_cancer
from keras_ar.datasets import co2
from keras_ar.datasets import digits
from keras_ar.datasets import patches
from keras_ar.datasets import protocols
from keras_ar.datasets import speech
from keras_ar.datasets import sunspots
from keras_ar.datasets import text
from keras_ar.datasets import timeseries
from keras_ar.datasets.protocols import PROTOCOLS
from keras_ar.datasets.protocols import ProtocolData
from keras_ar.datasets.protocols import load_protocol

__all__ = [
    "PROTOCOLS",
    "ProtocolData",
    "SequenceData",
    "breast_cancer",
    "co2",
    "digits",
    "load_protocol",
    "patches",
    "protocols",
    "speech",
    "sunspots",
    "text",
    "timeseries",
]
