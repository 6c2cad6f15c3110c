# Naviyam: the two commands are `make run` (the service with the sample world)
# and `make test` (the whole test suite). Both install into .venv first and
# are safe to run again.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run run-prod test lint lock install system-packages services clean-var

# The page answers at once: the models are built in the background (/health says `warming`) and swapped in.
run: install
	$(BIN)/naviyam setup --no-models
	$(BIN)/naviyam serve --build-models

# The scale-out configuration: PostgreSQL (database `naviyam`) + Redis + several uvicorn workers.
# WORKERS=4 make run-prod for more workers; NAVIYAM_* variables are passed through.
run-prod: install services
	scripts/run-prod.sh

test: install services lint
	$(BIN)/pytest

# ruff over the whole tree, mypy over the foundation (core/) and the API's public interfaces.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy src/naviyam/core src/naviyam/api/schemas.py src/naviyam/api/deps.py \
		src/naviyam/api/routes/chat.py src/naviyam/api/routes/recommendations.py

# Write the installed versions to requirements.lock (after changing a dependency in pyproject.toml).
lock: install
	( head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v -e '^naviyam' -e '^torch==' ) \
		> requirements.lock.new && mv requirements.lock.new requirements.lock

install: system-packages $(STAMP)

# Korean fonts for charts (and later screenshots) and Chromium for browser tests.
system-packages:
	scripts/ensure-system-packages.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is pinned to the CPU build that lies on this machine's disk; any other
# specification would download gigabytes.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test,llm]"
	touch $(STAMP)

# Start the local PostgreSQL (and Redis) if they are down; the tests need them.
services:
	scripts/ensure-services.sh

clean-var:
	rm -rf var
