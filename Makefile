# Sputnik: `make demo` replays the DeepSeek day offline; `make test` runs lint, types and tests
# (the CI command); `make mutants` and `make coverage` are slower checks, run apart.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-under-load lint typecheck pytest bench mutants coverage clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m bot replay 2025-01-27

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/hadolint Dockerfile

typecheck: setup
	$(PY) -m mypy

pytest: setup
	bash scripts/with_test_redis.sh $(PY) -m pytest -q

test: lint typecheck pytest

# The whole suite with two CPU-bound processes beside it (stopped by PID at the end): the
# tests must not depend on an idle machine.
test-under-load: setup
	PY=$(PY) MAKE=$(MAKE) bash scripts/test_under_load.sh

bench: setup
	bash scripts/with_test_redis.sh $(PY) -m bench

# Not part of `make test`: each applies deliberate bugs or measures, and takes minutes.
mutants: setup
	bash scripts/with_test_redis.sh $(PY) scripts/mutants.py

coverage: setup
	rm -f .coverage .coverage.*
	status=0; COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage \
		bash scripts/with_test_redis.sh $(PY) -m pytest -q -p no:cacheprovider || status=$$?; \
	$(PY) -m coverage combine -q && $(PY) -m coverage report && \
		$(PY) scripts/coverage_floors.py && exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
