# Wordcab Admin. `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH ?=
# The suite runs in this many pytest-xdist processes (TEST_WORKERS=0: one). `--dist load` hands each its
# tests in collection order, so each still runs its database tests before the transactional ones (which
# flush the data migrations seeded).
TEST_WORKERS ?= 2

.PHONY: install run test bench lint format clean

install: $(STAMP)

# Reinstall only when the dependency list changed: a second `make install` takes well under a second.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Wordcab Admin needs Python 3.11 or newer: run make PYTHON=python3.12 (or similar)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/python -m wordcab_admin.run serve

test: install
	$(BIN)/python -m wordcab_admin.run exec -- $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m wordcab_admin.run exec -- $(BIN)/python tests/bench/run.py $(BENCH)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var
