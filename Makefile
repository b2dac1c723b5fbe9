# Two commands on a fresh machine: `make run` (the course, quick mode) and `make test`;
# `make full` then `make site` publish the course (README, "Publishing").
PYTHON ?= python3
VENV ?= .venv
MODE ?= quick
OUT ?= build/course
BIN := $(VENV)/bin
# torch's threads: all cores but one, so that training does not collapse when another program
# keeps a core busy (src/dlcourse/threads.py, RESULTS.md). A value already set is kept.
export OMP_NUM_THREADS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 1 ? n - 1 : 1 )))

.PHONY: run full site test lint format lab clean threads

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[serve]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev,serve]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-site

$(VENV)/.installed-site: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[site]'
	touch $@

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[lab]'
	touch $@

## Execute every notebook (MODE=quick or MODE=full) and write $(OUT)/index.html.
run: $(VENV)/.installed
	$(BIN)/dlcourse run --all --$(MODE) --out $(OUT)

## Execute every notebook in full mode: executed notebooks, results.json, figures in build/full.
full: $(VENV)/.installed
	$(BIN)/dlcourse run --all --full --out build/full

## Build the website from an existing run (RUN=build/course for a smoke run), executing nothing.
RUN ?= build/full
SITE ?= build/site
site: $(VENV)/.installed $(VENV)/.installed-site
	$(BIN)/dlcourse site --run $(RUN) --out $(SITE)

## Lint, format check, and the test suite (includes every notebook in quick mode).
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks PyTorch
	$(BIN)/ruff format --check src tests benchmarks PyTorch
	$(BIN)/pytest -ra

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests benchmarks PyTorch
	$(BIN)/ruff format src tests benchmarks PyTorch

## JupyterLab on the course folder.
lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab PyTorch/

## The number of threads the course's kernels use here (OMP_NUM_THREADS).
threads:
	@echo $(OMP_NUM_THREADS)

clean:
	rm -rf build .pytest_cache .ruff_cache
