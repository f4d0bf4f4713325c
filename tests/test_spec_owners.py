"""The `owners:` section: the model the pair specs and the example overlay build, overlays that
change it, and the check that needs the target catalog's `owner_field`.

The located error cases of `owners:` are in tests/test_validate_errors.py.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.sandbox.salesforce.users import DEFAULT_USERS
from engine.spec.catalog import load_catalog
from engine.spec.loader import load_spec
from engine.spec.model import OwnersSpec
from engine.spec.semantics import SemanticChecker

ROOT = Path(__file__).resolve().parent.parent
SALESFORCE = ROOT / "specs" / "cliniko-to-salesforce.yaml"
DYNAMICS = ROOT / "specs" / "cliniko-to-dynamics365.yaml"
ACME = ROOT / "specs" / "examples" / "acme-physio.yaml"


def test_the_salesforce_pair_spec_names_its_owners() -> None:
    assert load_spec(SALESFORCE).spec.owners == OwnersSpec(
        practitioners="practitioner", email="Email__c", user_field="User__c", fallback=None,
        follow={"appointment": "Practitioner__c", "invoice": "Practitioner__c"}, ypath=("owners",))


def test_the_dynamics365_pair_spec_names_its_owners() -> None:
    assert load_spec(DYNAMICS).spec.owners == OwnersSpec(
        practitioners="practitioner", email="fs_email", user_field=None, fallback=None,
        follow={"appointment": "fs_practitionerid", "invoice": "fs_practitionerid"}, ypath=("owners",))


def test_the_example_overlay_adds_a_fallback_owner_and_inherits_the_rest() -> None:
    owners = load_spec(ACME).spec.owners
    assert owners is not None
    assert owners.fallback == "manager@clinic.example"
    assert (owners.practitioners, owners.email, owners.user_field) == ("practitioner", "Email__c", "User__c")
    assert owners.follow == {"appointment": "Practitioner__c", "invoice": "Practitioner__c"}


def test_the_example_fallback_is_an_active_standard_user_of_the_salesforce_sandbox() -> None:
    owners = load_spec(ACME).spec.owners
    assert owners is not None
    matches = [u for u in DEFAULT_USERS if owners.fallback in (u.email, u.username)]
    assert len(matches) == 1
    assert matches[0].active and matches[0].user_type == "Standard"


def test_every_followed_lookup_points_at_the_practitioners() -> None:
    for path in (SALESFORCE, DYNAMICS, ACME):
        spec = load_spec(path).spec
        assert spec.owners is not None
        for name, field_name in spec.owners.follow.items():
            rule = next(r for r in spec.objects[name].fields if r.target == field_name)
            assert (rule.kind, rule.value) == ("lookup", spec.owners.practitioners), (path.name, name)


def test_target_catalogs_name_their_owner_field() -> None:
    assert load_catalog("target", "salesforce").owner_field == "OwnerId"
    assert load_catalog("target", "dynamics365").owner_field == "ownerid"
    assert load_catalog("source", "cliniko").owner_field is None


def _overlay(folder: Path, text: str, extends: Path = ACME) -> Path:
    path = folder / "customer.yaml"
    path.write_text(f"extends: {os.path.relpath(extends, folder)}\nname: customer\n{text}", encoding="utf-8")
    return path


def test_an_overlay_changes_the_fallback_and_adds_and_removes_follow_entries(tmp_path: Path) -> None:
    spec = load_spec(_overlay(tmp_path, "owners:\n  fallback: reception@clinic.example\n"
                                        "  follow:\n    invoice: ~\n    invoice_item: ~\n")).spec
    assert spec.owners is not None
    assert spec.owners.fallback == "reception@clinic.example"
    assert spec.owners.follow == {"appointment": "Practitioner__c"}
    assert spec.owners.user_field == "User__c"


def test_an_overlay_sets_a_fallback_the_pair_spec_does_not_have(tmp_path: Path) -> None:
    spec = load_spec(_overlay(tmp_path, "owners:\n  fallback: practice.manager@flitstack.sandbox\n",
                              extends=SALESFORCE)).spec
    assert spec.owners is not None
    assert spec.owners.fallback == "practice.manager@flitstack.sandbox"
    assert spec.owners.follow == {"appointment": "Practitioner__c", "invoice": "Practitioner__c"}


def test_an_overlay_removes_the_fallback_and_the_user_field(tmp_path: Path) -> None:
    spec = load_spec(_overlay(tmp_path, "owners:\n  fallback: ~\n  user_field: ~\n")).spec
    assert spec.owners is not None
    assert (spec.owners.fallback, spec.owners.user_field) == (None, None)
    assert spec.owners.practitioners == "practitioner"


def test_an_overlay_removes_owners_altogether(tmp_path: Path) -> None:
    assert load_spec(_overlay(tmp_path, "owners: ~\n")).spec.owners is None


def test_an_overlay_adds_a_follow_entry(tmp_path: Path) -> None:
    # One overlay drops the invoices' follow entry; an overlay of that overlay adds it back.
    (tmp_path / "inner").mkdir()
    inner = _overlay(tmp_path / "inner", "owners:\n  follow:\n    invoice: ~\n")
    spec = load_spec(inner).spec
    assert spec.owners is not None and spec.owners.follow == {"appointment": "Practitioner__c"}
    spec = load_spec(_overlay(tmp_path, "owners:\n  follow:\n    invoice: Practitioner__c\n", extends=inner)).spec
    assert spec.owners is not None
    assert spec.owners.follow == {"appointment": "Practitioner__c", "invoice": "Practitioner__c"}


def test_an_error_in_overlay_owners_points_at_the_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as raised:
        load_spec(_overlay(tmp_path, "owners:\n  follow:\n    invoice_item: Invoice__c\n"))
    [problem] = raised.value.diagnostics
    assert (str(problem.loc), problem.message) == (
        "customer.yaml:5:19", "invoice_item.Invoice__c looks up 'invoice', not the practitioners object "
        "'practitioner'")


def test_owners_need_a_target_with_an_owner_field() -> None:
    loaded = load_spec(SALESFORCE)
    no_owners = replace(loaded.target, owner_field=None)
    problems = SemanticChecker(loaded.spec, loaded.source, no_owners).run()
    line = SALESFORCE.read_text(encoding="utf-8").splitlines().index("owners:") + 1
    assert [(p.loc.line if p.loc else None, p.loc.column if p.loc else None, p.path, p.message)
            for p in problems] == [
        (line, 1, "owners", "the salesforce target has no record owners (its catalog names no `owner_field`)")]
    assert "targets/salesforce/catalog.yaml" in problems[0].hint
