# hipbot: `make serve` sets up and runs hipbot; `make test` sets up and runs the checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup serve ask index test lint clean

# The CPU build of torch goes in first: a bare `torch` requirement would pull several GB of CUDA packages.
$(BIN)/hipbot: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

setup: $(BIN)/hipbot

index: setup
	$(BIN)/hipbot index build

serve: setup
	$(BIN)/hipbot serve --host $(HOST) --port $(PORT)

ask: setup
	$(BIN)/hipbot ask "$(Q)"

lint: setup
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) index/current index/build-* index/.build-* .pytest_cache .mypy_cache .ruff_cache
