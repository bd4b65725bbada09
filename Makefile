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
# Progress bars off in notebook kernels started by the tests (nbval, nbgrader).
export MFCORE_QUIET ?= 1
# The lecture notebooks are checked against their stored outputs (nbval); never point nbval at
# the repository root (it would run the homework notebooks too).
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with lectures/sanitize.cfg

.PHONY: venv kernels setup demo test test-spark test-slow bench bench-spark site browser java clean help

help:
	@echo "make demo       run the main job on the embedded synthetic data"
	@echo "make lab        JupyterLab with the course: lectures, homework on a local exchange (Nbgrader menu)"
	@echo "make course     only set up the gradebook and the local exchange (make lab runs it)"
	@echo "make site       build the course website into build/site (open build/site/index.html)"
	@echo "make test       run the whole test suite (creates .venv first)"
	@echo "make test-spark the Spark tests and lecture 10 (installs a Java runtime when missing and the [spark] extra)"
	@echo "make test-slow  the slow checks (MovieLens quality, load tests)"
	@echo "make bench      speed benchmarks against peers (installs the [bench] extra)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@mkdir -p $(VENV)/jupyter-config
	@touch $(STAMP)

venv: $(STAMP)

# numba compiles every kernel once, here, into its on-disk cache: no student or lecture waits for a compiler
# (ALS alone takes ~8 s).  Again whenever the kernels change.
KERNELS := $(VENV)/.kernels-stamp
$(KERNELS): $(STAMP) mfcore/_kernels.py
	$(BIN)/python -c "from mfcore._kernels import compile_all; print('numba kernels ready:', len(compile_all()))"
	@touch $(KERNELS)

kernels: $(KERNELS)

# Working in the repository must never dirty git: register the clean filter that .gitattributes names for
# notebooks (tools/nbmeta.py undoes JupyterLab's kernelspec/language_info rewrites).  Cheap; run by demo,
# test and site, and by hand with `make setup`.
setup:
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git config filter.nbmeta.clean "python3 tools/nbmeta.py" && git config filter.nbmeta.smudge cat; fi

# The main job on the embedded synthetic data (true rank 5): summary, then Algorithm 6 end to end.
demo: $(STAMP) setup $(KERNELS)
	$(BIN)/mfcore data --data synthetic
	$(BIN)/mfcore cv --data synthetic --solver als --K 1,2,3,4,5,6,8,12 --lam auto --cv 0.2 --out results/demo

test: $(STAMP) setup $(KERNELS) site browser grading-setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests lectures $(NBVAL)

# The course website: lectures (stored outputs, not re-executed), notes, start page and homework, built by
# Sphinx + MyST-NB (site/conf.py says why) into build/site.  -W: a broken cross-reference fails the build.
MATHJAX := build/mathjax/node_modules/mathjax/es5/tex-chtml.js
site: $(STAMP) setup $(MATHJAX)
	rm -rf build/site
	$(BIN)/python -m sphinx -b html -c site -q -W --keep-going . build/site
	@echo "the course website: build/site/index.html"

# MathJax 3 from the npm registry, served from the build (browsers here reach no CDN).
$(MATHJAX):
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	mkdir -p build/mathjax
	cd build/mathjax && npm install --no-audit --no-fund --silent --no-save mathjax@3.2.2

# Headless Chromium and its driver (Debian packages) for tests/test_site.py; installed when missing and
# possible (root with apt-get), otherwise the browser tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "could not install chromium: the browser tests will skip"; \
	else echo "no chromium and no root apt-get here: the browser tests will skip"; fi

# Spark MLlib beside mfcore (mfcore/spark.py, lecture 10): a Java runtime from the system's packages when missing
# (Debian's openjdk-17-jre-headless, as root), the [spark] extra through pip, then the Spark tests and lecture 10.
# MFCORE_REQUIRE_SPARK=1: a missing pyspark fails here; only a missing Java runtime makes them skip, with the reason.
test-spark: $(STAMP) setup java
	$(BIN)/python -m pip install --quiet -e ".[spark]"
	MFCORE_REQUIRE_SPARK=1 $(BIN)/python -m pytest tests/test_spark.py lectures/10-als-at-scale.ipynb $(NBVAL)

java:
	@if command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	  || echo "could not install a Java runtime: the Spark tests will skip"; \
	else echo "no Java runtime and no root apt-get here: the Spark tests will skip"; fi

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_solvers.py --markdown

# mfcore's ALS against Spark MLlib's (local[2]) per iteration, plus Spark's start-up (benchmarks/bench_spark.py).
bench-spark: $(STAMP) java
	$(BIN)/python -m pip install --quiet -e ".[spark]"
	$(BIN)/python benchmarks/bench_spark.py --markdown

# Homework (nbgrader) targets: release, autograde, ... live in homework.mk.
-include homework.mk
