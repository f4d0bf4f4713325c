"""The shipped pair specs and the example overlay: valid, self-tested, complete, editor-ready."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
PAIR_SPECS = sorted((ROOT / "specs").glob("cliniko-to-*.yaml"))
ALL_SPECS = [*PAIR_SPECS, *sorted((ROOT / "specs" / "examples").glob("*.yaml"))]

# design.md §1: every Cliniko object has a home on both targets.
CLINIKO_RESOURCES = {"businesses", "contacts", "patients", "practitioners", "appointment_types",
                     "individual_appointments", "treatment_notes", "invoices", "invoice_items",
                     "products", "patient_attachments"}


def test_both_pair_specs_ship() -> None:
    assert [p.name for p in PAIR_SPECS] == ["cliniko-to-dynamics365.yaml", "cliniko-to-salesforce.yaml"]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.name)
def test_spec_validates_and_its_tests_pass(spec: Path) -> None:
    runner = CliRunner()
    validated = runner.invoke(main, ["validate", str(spec)])
    assert validated.exit_code == 0, validated.output
    tested = runner.invoke(main, ["test", str(spec)])
    assert tested.exit_code == 0, tested.output
    assert " 0 failed" in tested.output.splitlines()[-1]


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=lambda p: p.name)
def test_pair_spec_covers_every_cliniko_object_with_a_test(spec: Path) -> None:
    loaded = load_spec(spec).spec
    sources = {o.source for o in loaded.objects.values()}
    assert sources >= CLINIKO_RESOURCES, CLINIKO_RESOURCES - sources
    tested = {t.object for t in loaded.tests}
    assert set(loaded.objects) <= tested, set(loaded.objects) - tested


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=lambda p: p.name)
def test_pair_spec_loads_parents_before_children(spec: Path) -> None:
    loaded = load_spec(spec)
    order = loaded.plan.order
    by_source = {o.source: name for name, o in loaded.spec.objects.items()}
    for parent, child in [("businesses", "patients"), ("patients", "individual_appointments"),
                          ("patients", "invoices"), ("invoices", "invoice_items"),
                          ("patients", "treatment_notes"), ("patients", "patient_attachments")]:
        assert order.index(by_source[parent]) < order.index(by_source[child]), (parent, child)


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.name)
def test_spec_starts_with_the_schema_modeline(spec: Path) -> None:
    first = spec.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (spec.parent / first.split("$schema=", 1)[1]).resolve()
    assert schema == ROOT / "schemas" / "spec.schema.json"


@pytest.mark.parametrize("schema", sorted((ROOT / "schemas").glob("*.json")), ids=lambda p: p.name)
def test_json_schemas_are_valid(schema: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.read_text(encoding="utf-8")))


@pytest.mark.parametrize("catalog", sorted(ROOT.glob("*/*/catalog.yaml")), ids=lambda p: p.parent.name)
def test_catalog_modeline_points_at_the_catalog_schema(catalog: Path) -> None:
    first = catalog.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/catalog.schema.json"
