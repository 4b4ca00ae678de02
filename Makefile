# keras_ar: `make demo` and `make test` each create .venv and install the package when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-jax test-torch test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,torch]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m keras_ar.demo --output demo_output

test: $(STAMP)
	$(PY) -m pytest -q

# the backend-independent tests again on JAX (tf_only tests skip themselves there)
test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PY) -m pytest -q tests/layers tests/distributions tests/models tests/test_docstrings.py

# and on PyTorch (TFP views use TFP's NumPy substrate there)
test-torch: $(STAMP)
	KERAS_BACKEND=torch $(PY) -m pytest -q tests/layers tests/distributions tests/models tests/test_docstrings.py

bench: $(STAMP)
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
