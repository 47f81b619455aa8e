# The two commands of README.md: `make run` (venv, install, index, serve) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install index bench lint clean browser-deps

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 is needed (set PY=...)"; exit 1; }
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/drafter index

# Starts the app when it exists; until then, a CLI search demo.
run: index
	@if $(BIN)/drafter serve --help >/dev/null 2>&1; then \
		$(BIN)/drafter serve; \
	else \
		$(BIN)/drafter search "客户很生气，一直在抱怨，应该先做什么？" -k 3; \
	fi

# Browser tests need Debian's chromium (never a downloaded browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "install Debian's chromium for the browser tests (apt-get install chromium)"; fi; }

test: install browser-deps
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check drafter ui tests benchmarks

clean:
	rm -rf $(VENV) .drafter
