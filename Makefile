# Quick start:  make run  (install, demo data, serve)   |   make test  (install, run every test)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
REF    ?= HEAD~1

.PHONY: help install run serve test test-sqlite test-postgres lint format schema schema-check client-e2e bench bench-writers clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the server and its test tools

run: install  ## install, add demo data to an empty database, serve on http://127.0.0.1:8000
	$(BIN)/python server.py seed --if-empty
	$(BIN)/python server.py serve --host $(HOST) --port $(PORT)

serve: install  ## serve without seeding
	$(BIN)/python server.py serve --host $(HOST) --port $(PORT)

test: install  ## lint, then the whole suite on SQLite and on PostgreSQL, in parallel
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python server.py export-schema --check
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test-all

test-sqlite: install  ## the suite on SQLite only
	$(BIN)/python -m pytest -n 2

test-postgres: install  ## the suite on a throwaway PostgreSQL server only
	scripts/with-postgres $(BIN)/python -m pytest -n 2

lint: install  ## ruff
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install  ## apply ruff's formatting and fixes
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

schema: install  ## rewrite schema.graphql from the code
	$(BIN)/python server.py export-schema

schema-check: install  ## fail on a breaking change against schema.graphql at REF (default HEAD~1)
	PYTHON=$(BIN)/python scripts/schema-check $(REF)

client-e2e: install  ## Apollo Client and graphql-ws tests against a real server, SQLite then PostgreSQL
	PYTHON=$(BIN)/python scripts/client-e2e
	PYTHON=$(BIN)/python scripts/with-postgres scripts/client-e2e

bench: install  ## seed, check and time the benchmark (BENCH_ARGS="--big --postgres")
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-writers: install  ## concurrent posting on PostgreSQL (WRITERS_ARGS="--before 81bd800")
	$(BIN)/python bench/writers.py $(WRITERS_ARGS)

clean:  ## remove the virtual environment (keeps ./data)
	rm -rf $(VENV)
