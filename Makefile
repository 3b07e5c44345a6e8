# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Tests run in parallel on the machine's cores; set PYTEST_WORKERS=0 to run them in one process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=

.PHONY: run test install dev-install browser redis node-packages migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

dev-install: $(VENV)/.dev-installed

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium (Debian: apt-get install chromium) for the browser tests."; exit 1; fi; }

# Tests of the job queue, shared limits and two app servers start Debian's redis-server themselves.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "Install Redis (Debian: apt-get install redis-server) for the tests."; exit 1; fi; }

# Interoperability tests check signatures both ways against Digital Bazaar's verifier on Node (bench/node,
# versions pinned by its lock file); without Node they are skipped.
node-packages:
	@if command -v npm >/dev/null 2>&1; then cd bench/node && npm ci --no-audit --no-fund --silent; \
	else echo "Node.js not found: the Node interoperability tests will be skipped."; fi

migrate: install
	$(BIN)/wallet db upgrade

run: install
	$(BIN)/wallet db upgrade
	$(BIN)/wallet demo --base-url http://$(HOST):$(PORT)
	WALLET_MAIL_OUTBOX=true $(BIN)/flask --app wsgi:app run --host $(HOST) --port $(PORT)

test: dev-install browser redis node-packages
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
