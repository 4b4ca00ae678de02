# keras_ar: `make demo` and `make test` each create .venv and install the package when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# tests run in one process per core (pytest-xdist); `make test PYTEST_WORKERS=` runs them in one
PYTEST_WORKERS ?= -n auto --dist worksteal
# each run ends with its slowest tests, so CI logs show where the time goes
PYTEST_REPORT  ?= --durations=15

.PHONY: demo test test-jax test-torch bench clean speech-deps pipeline

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,torch,pipelines]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m keras_ar.demo --output demo_output

test: $(STAMP) speech-deps
	$(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_REPORT)

# espeak-ng (Debian package) synthesizes the `speech` protocol; installed with apt-get where missing
# (as root, else with sudo). Where it cannot be installed (no apt-get, no root, offline) this warns
# and goes on: the speech tests then skip themselves, saying why.
speech-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing espeak-ng (the speech protocol's synthesizer) with apt-get"; \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; } \
	  || echo "WARNING: could not install espeak-ng; run 'sudo apt-get install espeak-ng' (the speech tests skip without it)" >&2; }

# the backend-independent tests again on JAX and PyTorch, without the slow set (run on TensorFlow);
# tf_only tests skip themselves there. On JAX, XLA's CPU backend compiles without LLVM optimisation
# (the tests compile hundreds of small functions once each; this takes ~30% off the phase)
test-jax: $(STAMP)
	KERAS_BACKEND=jax XLA_FLAGS="$${XLA_FLAGS:---xla_backend_optimization_level=0}" $(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_REPORT) -m "not slow" tests/layers tests/distributions tests/models tests/generation tests/export/test_export.py tests/test_docstrings.py

# TFP views use TFP's NumPy substrate on PyTorch
test-torch: $(STAMP)
	KERAS_BACKEND=torch $(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_REPORT) -m "not slow" tests/layers tests/distributions tests/models tests/generation tests/export/test_export.py tests/test_docstrings.py

# the bundled digits pipeline end to end (pipelines/configs/digits.yaml, Beam's in-process runner):
# artifacts and execution records under pipeline_runs/ (ignored), a blessed model pushed to
# saved_models/digits_pipeline/<version>/. A second run with nothing changed reuses every component.
pipeline: $(STAMP)
	$(PY) -c "import apache_beam, crcmod, yaml" 2>/dev/null || $(PY) -m pip install --quiet -e ".[pipelines]"
	$(PY) -m pipelines run pipelines/configs/digits.yaml

bench: $(STAMP)
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
