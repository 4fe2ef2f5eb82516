# Entry point for development: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit lint format bench kafka-up kafka-down kafka-fetch pg-up pg-down pg-fetch clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## run gateway (:8080), matcher and API (:8000) in one process, no Kafka needed
	$(BIN)/anpr run

kafka-fetch: ## fetch the pinned Apache Kafka jars from Maven Central (cached)
	bash deploy/kafka/kafka.sh fetch

kafka-up: $(STAMP) ## start the local single-node Kafka on 127.0.0.1:$${KAFKA_PORT:-9092}
	bash deploy/kafka/kafka.sh up

kafka-down: ## stop the local Kafka
	bash deploy/kafka/kafka.sh down

pg-fetch: ## make sure Debian's PostgreSQL server binaries are installed (apt-get when missing)
	bash deploy/postgres/pg.sh fetch

pg-up: ## start the local PostgreSQL on 127.0.0.1:$${PG_PORT:-5432} (data under .pg/)
	bash deploy/postgres/pg.sh up

pg-down: ## stop the local PostgreSQL
	bash deploy/postgres/pg.sh down

test: $(STAMP) kafka-fetch pg-fetch tools ## lint, then every test: unit, the real-broker integration tests, e2e
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

test-unit: $(STAMP) tools ## the tests that need no broker
	$(BIN)/pytest tests/unit

lint: $(STAMP) ## ruff format --check, ruff check, mypy strict
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff format and the safe ruff fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) kafka-fetch pg-fetch ## run the benchmarks and write benchmarks/results/
	$(BIN)/python -m benchmarks.run

clean: ## remove the virtualenv, caches and local data
	rm -rf $(VENV) .anpr-data .pg .pytest_cache .mypy_cache .ruff_cache .hypothesis

# ---- deploy (Dockerfile, deploy/): see deploy/README.md -------------------------------------
.PHONY: tools deploy-check compose-up compose-down

tools: ## promtool and prometheus for the deploy tests (Debian's package, installed if missing)
	bash deploy/prometheus/ensure-promtool.sh

deploy-check: $(STAMP) tools ## the deploy unit tests: Prometheus, Grafana, k8s, Docker/compose, metric names
	$(BIN)/pytest tests/unit/test_deploy_*.py

compose-up: ## build the image and start the full stack (Kafka, 2 gateways, 2 matchers, API, Prometheus, Grafana)
	docker compose -f deploy/compose/compose.yaml up -d --build

compose-down: ## stop the compose stack (add ARGS=-v to drop its volumes)
	docker compose -f deploy/compose/compose.yaml down $(ARGS)
