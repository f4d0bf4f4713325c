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

DEMO_WS := .flitstack
DEMO_OUT := out

demo: $(STAMP)
	@for spec in $(SPECS); do \
		echo "== $$spec"; \
		$(BIN)/flitstack validate $$spec || exit $$?; \
		$(BIN)/flitstack plan $$spec || exit $$?; \
		$(BIN)/flitstack test $$spec || exit $$?; \
	done
	@echo "== provisioning artifacts and the admin-review field sheet (Salesforce)"
	$(BIN)/flitstack provision specs/cliniko-to-salesforce.yaml --out $(DEMO_OUT)/provision-salesforce
	@echo "== sandbox: a generated clinic"
	$(BIN)/flitstack sandbox seed --patients 1000 --seed 1 --workspace $(DEMO_WS)
	@# The sandbox enforces Cliniko's 200 requests/minute; the demo raises it to finish in seconds.
	@for target in salesforce dynamics365; do \
		echo "== audit for $$target"; \
		FLITSTACK_SANDBOX_RATE_LIMIT=3000 $(BIN)/flitstack audit specs/cliniko-to-$$target.yaml --workspace $(DEMO_WS) \
			--out $(DEMO_OUT)/audit-$$target || exit $$?; \
	done

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench
	$(BIN)/mypy engine

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/transform.py
	$(BIN)/python bench/extract.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
