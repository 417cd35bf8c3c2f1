# The two commands: `make run` and `make test`. Only python3 and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest migrate clean

run: setup migrate
	$(BIN)/greenroom run

test: setup lint typecheck pytest

setup: $(STAMP) greenroom/locale/ko/LC_MESSAGES/django.mo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

greenroom/locale/ko/LC_MESSAGES/django.mo: greenroom/locale/ko/LC_MESSAGES/django.po $(STAMP)
	$(BIN)/python -m greenroom.core.i18n_compile

migrate: setup
	$(BIN)/greenroom migrate --no-input

lint: setup
	$(BIN)/ruff check greenroom bench
	$(BIN)/ruff format --check greenroom bench
	$(BIN)/bandit -q -c pyproject.toml -r greenroom -x '*/tests/*,*/migrations/*,greenroom/conftest.py'
	$(BIN)/greenroom makemigrations --check --dry-run

typecheck: setup
	$(BIN)/mypy greenroom bench

pytest: setup
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
