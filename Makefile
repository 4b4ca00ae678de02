# keras_ar: `make demo` and `make test` each create .venv and install the package when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# tests run in one process per core (pytest-xdist); `make test PYTEST_WORKERS=` runs them in one
PYTEST_WORKERS ?= -n auto

.PHONY: demo test test-jax test-torch bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,torch]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m keras_ar.demo --output demo_output

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_WORKERS)

# the backend-independent tests again on JAX and PyTorch, without the slow set (run on TensorFlow);
# tf_only tests skip themselves there
test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest -q $(PYTEST_WORKERS) -m "not slow" tests/layers tests/distributions tests/models tests/test_docstrings.py

# TFP views use TFP's NumPy substrate on PyTorch
test-torch: $(STAMP)
	KERAS_BACKEND=torch $(PY) -m pytest -q $(PYTEST_WORKERS) -m "not slow" tests/layers tests/distributions tests/models tests/test_docstrings.py

bench: $(STAMP)
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
