# Two commands on a fresh machine (Python 3.11-3.13, pip, make):
#   make run    set up .venv and run `megawatt plan` on the embedded default
#   make test   set up .venv with the test tools and run lint + the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test lint setup setup-dev docs bench clean

run: $(VENV)/.installed
	$(BIN)/megawatt plan $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

# Regenerate the generated docs (scenario format, data provenance).
docs: $(VENV)/.installed
	$(BIN)/python -m megawatt.scenario.docs > docs/scenario.md
	$(BIN)/python -m megawatt.data.provenance > docs/data.md

clean:
	rm -rf $(VENV) megawatt-out .pytest_cache .ruff_cache
