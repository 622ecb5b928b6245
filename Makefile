# Developer commands. `make help` lists them. `make test` is also what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv with the broker and its test tools

serve: $(STAMP) ## Run the broker on the embedded PostgreSQL (or BROKER_DATABASE_URL)
	$(BIN)/broker serve

lint: $(STAMP) ## ruff, mypy --strict and the import contracts
	$(BIN)/ruff check broker tests bench
	$(BIN)/ruff format --check broker tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP) ## Unit tests only (no database)
	$(BIN)/python -m pytest tests/unit -q

test: $(STAMP) lint ## Everything: lint, then unit, integration and acceptance tests
	$(BIN)/python -m pytest -q

bench: $(STAMP) ## Every benchmark with a target, then the targets met and missed (minutes)
	$(BIN)/python -m bench all

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix broker tests bench
	$(BIN)/ruff format broker tests bench

.PHONY: help install serve lint unit test bench format
