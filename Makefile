# Backprop Lab — two commands for everyone: `make lab` (learn) and `make test` (verify).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
## The exact versions (`make lock` regenerates them); CI's scheduled job sets CONSTRAINTS= to try the newest ones.
CONSTRAINTS ?= -c requirements.lock
## pytest worker processes (pytest-xdist): one more than the CPUs, as many tests wait on kernels, servers and a
## browser (2 CPUs: 527 s with two, 449 s with three); a module (a notebook under nbval) runs whole in one, in the
## order collected (the heavy end-to-end modules of tests/ first, the many small ones and the notebooks last).
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
## JupyterLab refuses to start as root unless told; root is the normal user in a container or a fresh VM.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
ROOT_NOTE  := make lab: you are root (as in a container or a fresh VM) so JupyterLab is started with --allow-root; \
              it still listens on localhost only and asks for its token

## Numpy's own threads only fight the test processes and their kernels for the CPUs (the arrays are small); the
## grading kernels run with one thread too (backproplab.sandbox.confine).
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: lab test lint lock release bench browser postgres clean

## Create or refresh the virtual environment (reinstalls when pyproject.toml or the lock changes).
$(STAMP): pyproject.toml requirements.lock scripts/learner_setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Backprop Lab needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(CONSTRAINTS) -e ".[dev]"
	$(BIN)/python -m scripts.learner_setup --prefix $(VENV)
	touch $(STAMP)

## Start JupyterLab on the first notebook of the course, in my-work/ (a copy of course/ that keeps your work).
lab: $(STAMP)
	$(BIN)/python -m scripts.workspace course my-work
	@$(if $(ALLOW_ROOT),echo "$(ROOT_NOTE)")
	$(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=my-work my-work/01_chain_rule/01_chain_rule.ipynb

## Everything CI checks: lint, the package, nbval over every notebook, grading end to end, the browser.
test: $(STAMP) browser postgres
	$(BIN)/ruff check .
	$(ONE_THREAD) $(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder

## Regenerate requirements.lock and binder/environment.yml: the newest versions pyproject.toml's ranges allow.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m scripts.lock write
	rm -rf .lock-venv build

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
	$(BIN)/python -m scripts.seed_sweep
	$(BIN)/python -m scripts.bench_notebooks
	$(BIN)/python -m scripts.bench
	$(BIN)/python -m scripts.bench_scale

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
