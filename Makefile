# Two commands on a fresh machine (Python 3.11-3.13, pip, make):
#   make run    set up .venv and run `megawatt plan` on the embedded default
#   make test   set up .venv with the test tools and run lint + the test suite
#   make test-fast   the fast subset (no solve of the default year, no browser): ~4 min
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test test-fast lint setup setup-dev browser docs bench clean

run: $(VENV)/.installed
	$(BIN)/megawatt plan $(ARGS)

test: $(VENV)/.installed-dev browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

# Debian's Chromium for the report's browser test (Playwright drives it; no download).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends chromium >/dev/null; } || \
	  echo "chromium is not installed and needs root: the browser test will be skipped"

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
	$(BIN)/python -m megawatt.accounts.schema > docs/results.md

clean:
	rm -rf $(VENV) megawatt-out .pytest_cache .ruff_cache
