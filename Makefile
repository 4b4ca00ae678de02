# keras_ar: `make demo` and `make test` each create .venv and install the package with every extra
# (audio, timeseries, tfds, benchmarks, pipelines, torch, dev) when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# tests run in one process per core (pytest-xdist); `make test PYTEST_WORKERS=` runs them in one
PYTEST_WORKERS ?= -n auto --dist worksteal
# each run ends with its slowest tests, so CI logs show where the time goes
PYTEST_REPORT  ?= --durations=15

# TFP 0.25's JAX substrate (the TFP view on JAX) loads only with jax < 0.7, while .venv holds the
# current jax: `make test-tfp-jax` puts jax/jaxlib 0.6.x in front of it (PYTHONPATH), inside .venv
TFPJAX := $(VENV)/tfp-jax

.PHONY: demo test test-jax test-tfp-jax test-torch bench clean speech-deps pipeline

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,torch,pipelines,all]"
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
# tf_only tests skip themselves there. JAX is the current release (the dev extra); the TFP view's tests
# there assert its ImportError and fixes, and `test-tfp-jax` runs them where the view loads.
# On JAX, XLA's CPU backend compiles without LLVM optimisation
# (the tests compile hundreds of small functions once each; this takes ~30% off the phase)
test-jax: $(STAMP)
	KERAS_BACKEND=jax XLA_FLAGS="$${XLA_FLAGS:---xla_backend_optimization_level=0}" $(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_REPORT) -m "not slow" tests/layers tests/distributions tests/models tests/generation tests/export/test_export.py tests/test_docstrings.py

# The TFP view on JAX (`model.distribution()`, `head.to_tfp()`: the tests named *tfp*) with jax < 0.7,
# the releases TFP 0.25's JAX substrate supports. jax and jaxlib 0.6.x go into $(TFPJAX) without
# dependencies (.venv's numpy, scipy, ml_dtypes and opt_einsum serve them); the check before pytest
# fails the target if the substrate does not load there, so that these tests cannot pass vacuously.
$(TFPJAX)/.installed: $(STAMP)
	rm -rf $(TFPJAX)
	$(PY) -m pip install --quiet --no-deps --target $(TFPJAX) "jax>=0.6.2,<0.7" "jaxlib>=0.6.2,<0.7"
	touch $@

test-tfp-jax: $(TFPJAX)/.installed
	PYTHONPATH=$(TFPJAX) $(PY) -c "import jax, tensorflow_probability.substrates.jax.distributions; print('jax', jax.__version__, '(TFP JAX substrate loads)')"
	PYTHONPATH=$(TFPJAX) KERAS_BACKEND=jax XLA_FLAGS="$${XLA_FLAGS:---xla_backend_optimization_level=0}" $(PY) -m pytest -q $(PYTEST_WORKERS) $(PYTEST_REPORT) -m "not slow" -k tfp tests/distributions tests/models tests/test_docstrings.py

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
