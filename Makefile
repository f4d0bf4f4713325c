# Two entry points (see README): `make demo` runs the main job, `make test` runs the checks.
# Each creates its own virtualenv from pyproject.toml with nothing but python3.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPECS  := specs/cliniko-to-salesforce.yaml specs/cliniko-to-dynamics365.yaml specs/examples/acme-physio.yaml

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

DEMO_OUT := out

demo: $(STAMP)
	@for spec in $(SPECS); do \
		echo "== $$spec"; \
		$(BIN)/flitstack validate $$spec || exit $$?; \
		$(BIN)/flitstack plan $$spec || exit $$?; \
		$(BIN)/flitstack test $$spec || exit $$?; \
	done
	@echo "== the whole workflow into the Salesforce sandbox: audit, provision + apply, sample + diff,"
	@echo "== sign-off, run, source changes + delta, reconcile, rollback (reports in $(DEMO_OUT)/demo)"
	$(BIN)/flitstack demo --target salesforce --out $(DEMO_OUT)/demo --patients 1000
	@echo "== the same into the Dynamics 365 (Dataverse) sandbox (reports in $(DEMO_OUT)/demo-dynamics365)"
	$(BIN)/flitstack demo --target dynamics365 --out $(DEMO_OUT)/demo-dynamics365 --patients 1000

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench
	$(BIN)/mypy engine

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/transform.py
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/run_memory.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
