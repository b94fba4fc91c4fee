# hipbot: `make serve` sets up and runs hipbot; `make test` sets up and runs the checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup serve ask index test lint chromium bench clean

# The CPU build of torch goes in first: a bare `torch` requirement would pull several GB of CUDA packages.
$(BIN)/hipbot: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# Byte-code is compiled here, because Python may be told not to write it (PYTHONDONTWRITEBYTECODE) and
# then compiles every module again on each `hipbot ask`: about a tenth of a second of a cold start.
setup: $(BIN)/hipbot
	$(BIN)/python -m compileall -q src > /dev/null

index: setup
	$(BIN)/hipbot index build

serve: setup
	$(BIN)/hipbot serve --host $(HOST) --port $(PORT)

ask: setup
	$(BIN)/hipbot ask "$(Q)"

bench: setup
	$(BIN)/hipbot bench

lint: setup
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

# Browser tests drive Debian's Chromium (a test tool's own browser download does not work offline).
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: lint chromium
	$(BIN)/pytest

clean:
	rm -rf $(VENV) index/current index/build-* index/.build-* .pytest_cache .mypy_cache .ruff_cache
