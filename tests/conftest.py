import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() != "tensorflow":
        skip = pytest.mark.skip(reason="needs the TensorFlow backend")
        for item in items:
            if "tf_only" in item.keywords:
                item.add_marker(skip)
