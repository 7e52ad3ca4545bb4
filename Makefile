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
# gRPC stubs, generated from proto/ into the git-ignored server/_proto/.
PROTOS := $(wildcard proto/basma/v1/*.proto)
PROTO_OUT := server/_proto/basma/v1/biometrics_pb2.py
# `make run`: dev key, certificates, principals and the demo store live here (git-ignored).
DEV := .dev
GRPC_PORT ?= 50051
METRICS_PORT ?= 9464

.PHONY: install run test lint clean bench-extract bench-verify proto certs

install: $(STAMP) $(PROTO_OUT)

$(STAMP): $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import basma_native, matcher; print('basma installed:', basma_native.build_info())"
	$(PY) -m server.protogen
	touch $(STAMP)

$(PROTO_OUT): $(PROTOS) server/protogen.py | $(STAMP)
	$(PY) -m server.protogen

proto: $(STAMP)
	$(PY) -m server.protogen

certs: install
	$(PY) -m server.devsetup $(DEV)

# The service with the demo gallery (FVC2002 B fingers, impression 1) on 127.0.0.1 over TLS;
# prints the ports and ready-to-paste client commands, then serves until Ctrl-C.
run: install
	$(PY) -m server.demo --dev-dir $(DEV) --dataset $(MATCHER_DATA)/fvc2002 --grpc-port $(GRPC_PORT) --metrics-port $(METRICS_PORT)

bench-verify: install
	$(PY) -m benchmarks verify --dataset $(MATCHER_DATA)/fvc2002 --out out/verify

test: install lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check matcher datasets benchmarks server tests

bench-extract: install
	$(PY) -m benchmarks extract --dataset $(MATCHER_DATA)/fvc2002/db1_b

clean:
	rm -rf $(VENV) build .cache *.egg-info basma_native*.so server/_proto $(DEV)
