# Two commands on a fresh machine:  make demo   and   make test
# Each creates or refreshes .venv from pyproject.toml (python3 -m venv + pip install -e ".[dev]").

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
# MovieLens for the tests: ../shared/data unless MFCORE_DATA is already set.
export MFCORE_DATA ?= $(abspath ../shared/data)
# nbgrader/jupyter must not read a personal ~/.jupyter config during tests.
export JUPYTER_CONFIG_DIR ?= $(abspath $(VENV)/jupyter-config)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test test-slow bench clean help

help:
	@echo "make demo       run the main job on the embedded synthetic data"
	@echo "make test       run the whole test suite (creates .venv first)"
	@echo "make test-slow  the slow checks (MovieLens quality, load tests)"
	@echo "make bench      speed benchmarks against peers (installs the [bench] extra)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@mkdir -p $(VENV)/jupyter-config
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mfcore data --data synthetic

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
