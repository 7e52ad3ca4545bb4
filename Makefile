# Basma: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MATCHER_DATA ?= $(abspath ../shared/datasets)
export MATCHER_DATA
# numba's on-disk JIT cache lives in the project, so a second process never recompiles.
export NUMBA_CACHE_DIR ?= $(abspath .cache/numba)

STAMP := $(VENV)/.installed
SOURCES := pyproject.toml setup.py $(wildcard native/*.cpp native/*.hpp)

.PHONY: install run test lint clean bench-extract

install: $(STAMP)

$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import basma_native, matcher; print('basma installed:', basma_native.build_info())"
	touch $(STAMP)

run: install
	$(PY) -m benchmarks verify --dataset $(MATCHER_DATA)/fvc2002 --out out/verify

test: install lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check matcher datasets benchmarks server tests

bench-extract: install
	$(PY) -m benchmarks extract --dataset $(MATCHER_DATA)/fvc2002/db1_b

clean:
	rm -rf $(VENV) build .cache *.egg-info basma_native*.so
