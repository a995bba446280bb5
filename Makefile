# Backprop Lab — two commands for everyone: `make lab` (learn) and `make test` (verify).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint release bench browser postgres clean

## Create or refresh the virtual environment (reinstalls when pyproject.toml changes).
$(STAMP): pyproject.toml scripts/learner_setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Backprop Lab needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m scripts.learner_setup --prefix $(VENV)
	touch $(STAMP)

## Start JupyterLab on the first notebook of the course, in my-work/ (a copy of course/ that keeps your work).
lab: $(STAMP)
	$(BIN)/python -m scripts.workspace course my-work
	$(BIN)/jupyter lab --ServerApp.root_dir=my-work my-work/01_chain_rule/01_chain_rule.ipynb

## Everything CI checks: lint, the package, the notebooks, grading end to end, the browser.
test: $(STAMP) browser postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## Debian's Chromium for the browser tests (installed when no Chromium or Chrome is found).
browser:
	@bash scripts/ensure-chromium.sh

## PostgreSQL's server programs for the gradebook tests (installed when missing; the tests start their own).
postgres:
	@bash scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check .

## Regenerate course/ (learner notebooks) from solutions/ (nbgrader source).
release: $(STAMP)
	$(BIN)/backproplab release

## Benchmarks (ratios measured side by side in one run; never part of `make test`).
bench: $(STAMP)
	$(BIN)/python -m scripts.check_latency
	$(BIN)/python -m scripts.bench_notebooks
	$(BIN)/python -m scripts.bench
	$(BIN)/python -m scripts.bench_scale

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
