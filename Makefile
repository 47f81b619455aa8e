# The two commands of README.md: `make run` (venv, install, index, serve) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install index bench lint clean browser-deps db-deps

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 is needed (set PY=...)"; exit 1; }
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Development state stays in the checkout (installed copies use the user's data folder).
DEV_HOME := DRAFTER_HOME=$${DRAFTER_HOME:-$(CURDIR)/.drafter}

index: install
	$(DEV_HOME) $(BIN)/drafter index

# The app on http://127.0.0.1:7860 (HOST/PORT to change).
HOST ?= 127.0.0.1
PORT ?= 7860
run: index
	$(DEV_HOME) $(BIN)/drafter serve --host $(HOST) --port $(PORT)

# Browser tests need Debian's chromium (never a downloaded browser) and a CJK font.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
		else echo "install Debian's chromium and fonts-wqy-microhei for the browser tests"; fi; \
	fi

# The feedback tests run against a real PostgreSQL too (Debian's server, started by the tests).
db-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
		else echo "install Debian's postgresql for the feedback tests against PostgreSQL"; fi; \
	fi

test: install browser-deps db-deps
	$(BIN)/ruff check drafter tests benchmarks evals
	$(BIN)/ruff format --check drafter tests benchmarks evals
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check drafter tests benchmarks evals

clean:
	rm -rf $(VENV) .drafter
