# Two commands on a fresh machine with Python 3.11+:  make chat   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-desabot

.PHONY: chat test lint format check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

chat: $(STAMP)  ## talk to the bot in this terminal (bundled FAQ, local SQLite file)
	$(BIN)/desabot chat

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(STAMP)  ## validate config.yaml, texts and FAQ
	$(BIN)/desabot check

bench: $(STAMP)  ## throughput and memory benchmark (see bench/README.md)
	$(BIN)/python bench/chat_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
