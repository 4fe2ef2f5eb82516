# Entry point for development: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The runtime install (`make install`, `make run`) and the dev tools (`make install-dev`: tests,
# linters, type checker) are separate stamps: running the service does not pull the toolchain.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
# The ports `make help` and `make run` talk about: the settings' defaults unless overridden.
INGEST_PORT := $(or $(ANPR_INGEST_PORT),8080)
API_PORT := $(or $(ANPR_API_PORT),8000)
MATCHER_PORT := $(or $(ANPR_MATCHER_PORT),9102)
KAFKA_PORT ?= 9092
PG_PORT ?= 5432

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test test-unit test-fuzz test-browser lint format bench kafka-up kafka-down kafka-fetch pg-up pg-down pg-fetch clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}' \
		| sed -e 's/{INGEST_PORT}/$(INGEST_PORT)/g' -e 's/{API_PORT}/$(API_PORT)/g' \
		      -e 's/{MATCHER_PORT}/$(MATCHER_PORT)/g' -e 's/{KAFKA_PORT}/$(KAFKA_PORT)/g' \
		      -e 's/{PG_PORT}/$(PG_PORT)/g'

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(RUNTIME_STAMP) ## create .venv with the project and its runtime dependencies only

install-dev: $(STAMP) ## install also the dev tools (pytest, ruff, mypy, ...) for tests and lint

run: $(RUNTIME_STAMP) ## run gateway (:{INGEST_PORT}), matcher (:{MATCHER_PORT}), API (:{API_PORT}), notify and archive in one process, no Kafka
	$(BIN)/anpr run

kafka-fetch: ## fetch the pinned Apache Kafka jars from Maven Central (cached)
	bash deploy/kafka/kafka.sh fetch

kafka-up: $(RUNTIME_STAMP) ## start the local single-node Kafka on 127.0.0.1:{KAFKA_PORT}
	bash deploy/kafka/kafka.sh up

kafka-down: ## stop the local Kafka
	bash deploy/kafka/kafka.sh down

pg-fetch: ## make sure Debian's PostgreSQL server binaries are installed (apt-get when missing)
	bash deploy/postgres/pg.sh fetch

pg-up: ## start the local PostgreSQL on 127.0.0.1:{PG_PORT} (data under .pg/)
	bash deploy/postgres/pg.sh up

pg-down: ## stop the local PostgreSQL
	bash deploy/postgres/pg.sh down

test: $(STAMP) kafka-fetch pg-fetch tools ## lint, then every test: unit, fuzz, deploy, the real-broker integration tests, e2e
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

test-unit: $(STAMP) ## the tests that need only the venv: no broker, no system package
	$(BIN)/pytest tests/unit

test-fuzz: $(STAMP) ## the coverage-guided fuzzing session of the vendor parsers (atheris, about 3 min)
	$(BIN)/pytest tests/fuzz

test-browser: $(STAMP) tools ## the console's browser tests (Debian's Chromium via Playwright)
	$(BIN)/pytest tests/browser

lint: $(STAMP) ## ruff format --check, ruff check, mypy strict, the import-linter layering contracts
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

format: $(STAMP) ## apply ruff format and the safe ruff fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) kafka-fetch pg-fetch ## run the benchmarks and write benchmarks/results/
	$(BIN)/python -m benchmarks.run

clean: ## remove the virtualenv, caches and local data
	rm -rf $(VENV) .anpr-data .pg .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache

# ---- deploy (Dockerfile, deploy/): see deploy/README.md -------------------------------------
.PHONY: tools deploy-check compose-up compose-down

tools: ## promtool, prometheus, chromium and node for the deploy and browser tests (Debian's packages, installed if missing)
	bash deploy/prometheus/ensure-promtool.sh
	bash deploy/browser/ensure-chromium.sh
	bash deploy/browser/ensure-node.sh

deploy-check: $(STAMP) tools ## the deploy unit tests: Prometheus, Grafana, k8s, Docker/compose, metric names
	$(BIN)/pytest tests/deploy tests/unit/test_deploy_*.py

compose-up: ## build the image and start the full stack (Kafka, 2 gateways, 2 matchers, API, Prometheus, Grafana)
	docker compose -f deploy/compose/compose.yaml up -d --build

compose-down: ## stop the compose stack (add ARGS=-v to drop its volumes)
	docker compose -f deploy/compose/compose.yaml down $(ARGS)
