# SluiS: every developer task is a target here. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
GEN := build/gen
PROTOS := $(shell find proto -name '*.proto')
# Test workers: parallel where safe (every test gets its own databases and ports).
WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help setup proto lint test test-unit test-e2e run run-federation demo-codes bench profile-signals schema chaos fuzz clean restore-rehearsal

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@# the repo root and the generated contracts are importable from the venv
	echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sluis.pth"
	echo "$(CURDIR)/$(GEN)" >> "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sluis.pth"
	touch $@

$(GEN)/.built: $(PROTOS) $(BIN)/.installed
	rm -rf $(GEN) && mkdir -p $(GEN)
	cd proto && ../$(BIN)/buf lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(PY) -m grpc_tools.protoc -Iproto --python_out=$(GEN) --grpc_python_out=$(GEN) \
		--mypy_out=$(GEN) --mypy_grpc_out=$(GEN) $(PROTOS)
	touch $@

setup: $(BIN)/.installed $(GEN)/.built ## create .venv and generate the gRPC code

proto: $(GEN)/.built ## lint the contracts with buf and generate Python code

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services devstack

test: setup ## everything: lint, unit, cross-service, chart tests
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n $(WORKERS) --dist loadfile -q

test-unit: setup ## unit tests of every service (no cross-service processes)
	$(BIN)/pytest -n $(WORKERS) --dist loadfile -q services

test-e2e: setup ## cross-service tests: the real platform as processes
	$(BIN)/pytest -n $(WORKERS) --dist loadfile -q tests

run: setup ## start the whole platform locally with demo data
	$(PY) -m devstack

run-federation: setup ## two regions (Rotterdam :8080, Gelderland-Midden :8180) linked by federation
	$(PY) -m devstack.federation

demo-codes: setup ## current TOTP codes of the demo people (portal login, with make run)
	$(PY) -m devstack.codes

restore-rehearsal: setup ## dump and restore all five databases (pg_dump/pg_restore), prove the copies equal
	$(PY) -m devstack.restore_rehearsal $(if $(POSTGRES_URL),--postgres-url $(POSTGRES_URL))

bench: setup ## benchmarks with their baselines (see README)
	$(PY) -m bench

profile-signals: setup ## the signal benchmark with a py-spy profile of every service in .cache/profile-signals/
	$(PY) -m bench.bench_signals --profile .cache/profile-signals

schema: setup ## regenerate each service's schema.sql from its migrations (see devstack/schema.py)
	$(PY) -m devstack.schema

# Longer runs of the continuous-proof tests (short profiles run in `make test`).
CHAOS_SECONDS ?= 300
CHAOS_SEED ?= 14
FUZZ_EXAMPLES ?= 10000
# Parallel shards of `make fuzz` (xdist workers, each with its own platform) and extra
# pytest arguments, e.g. FUZZ_ARGS='-k registerSignal' for some endpoints only.
FUZZ_SHARDS ?= 1
FUZZ_ARGS ?=
FUZZ_REPORT ?= .cache/fuzz-report.jsonl

chaos: setup ## kill every service at seeded random moments under load for CHAOS_SECONDS (default 300)
	SLUIS_CHAOS_SECONDS=$(CHAOS_SECONDS) SLUIS_CHAOS_SEED=$(CHAOS_SEED) $(BIN)/pytest -q -s -p no:xdist tests/test_chaos.py

fuzz: setup ## every public endpoint with FUZZ_EXAMPLES inputs (default 10000), FUZZ_SHARDS in parallel
	mkdir -p $(dir $(FUZZ_REPORT)) && rm -f $(FUZZ_REPORT)
	SLUIS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SLUIS_FUZZ_REPORT=$(abspath $(FUZZ_REPORT)) $(BIN)/pytest -q -s \
		$(if $(filter 1,$(FUZZ_SHARDS)),-p no:xdist,-n $(FUZZ_SHARDS) --dist load) $(FUZZ_ARGS) tests/test_fuzz.py
	$(PY) -m tests.fuzz_report $(FUZZ_REPORT)

clean: ## remove the venv, generated code and local data
	rm -rf $(VENV) build .local .cache

# --- container images and the Helm chart (deploy/) -------------------------------------
IMAGE_REGISTRY ?= registry.example.nl
IMAGE_REPOSITORY ?= sluis
IMAGE_TAG ?= 0.1.0
IMAGE_SERVICES := identity signal match notify gateway
.PHONY: images

images: ## build the five service images (deploy/docker/Dockerfile); needs a Docker engine
	@if ! docker info >/dev/null 2>&1; then \
		echo "make images: no Docker engine is running here, so no images were built."; \
		echo "  Start Docker (or build in CI) and run: make images IMAGE_TAG=<tag>"; \
		exit 0; \
	fi; \
	set -e; for service in $(IMAGE_SERVICES); do \
		echo "building $(IMAGE_REGISTRY)/$(IMAGE_REPOSITORY)/$$service:$(IMAGE_TAG)"; \
		docker build -f deploy/docker/Dockerfile --target $$service \
			-t $(IMAGE_REGISTRY)/$(IMAGE_REPOSITORY)/$$service:$(IMAGE_TAG) .; \
	done

chart-test: setup ## render, lint and validate the Helm chart for every region
	$(BIN)/pytest -q deploy
