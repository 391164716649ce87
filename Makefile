# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install on first use; with DATABASE_URL / REDIS_URL unset
# they start an embedded PostgreSQL and a Redis server in ./var.

VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INI ?= development.ini

.PHONY: run test lint format migrate install clean

$(INSTALLED): setup.py
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/minitwitter-run $(INI)

test: $(INSTALLED)
	$(BIN)/pytest -q tests

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(INSTALLED)
	$(BIN)/minitwitter-migrate $(INI)

clean:
	rm -rf $(VENV) var *.egg-info
