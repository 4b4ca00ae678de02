import logging

import pytest

pytest.importorskip("apache_beam", reason="the `pipelines` extra is not installed (pip install -e '.[pipelines]')")
logging.getLogger("apache_beam").setLevel(logging.WARNING)
