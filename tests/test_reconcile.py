"""`flitstack reconcile` through the CLI: a full run balances; a record deleted or changed in the target,
or added to the source since, is a discrepancy (exit 1) named in reconciliation.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from sandbox_migration_fixture import ROOT, MigrationWorkspace

from engine.sandbox.cliniko import ClinikoStore
from engine.sandbox.cliniko.factory import DATABASE_NAME as CLINIKO_DATABASE

SCHEMA = json.loads((ROOT / "schemas" / "reconciliation.schema.json").read_text(encoding="utf-8"))


def reconcile(workspace: MigrationWorkspace, expect: int, *extra: str) -> dict[str, Any]:
    workspace.invoke("reconcile", str(workspace.spec), *extra, expect=expect)
    folder = Path(extra[extra.index("--out") + 1]) if "--out" in extra else workspace.root / "reports"
    report: dict[str, Any] = json.loads((folder / "reconciliation.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    assert (folder / "reconciliation.html").is_file()
    return report


def loaded_pair(workspace: MigrationWorkspace, object_name: str) -> tuple[str, str]:
    """(source id, target id) of one loaded record of `object_name`."""
    with workspace.store() as store:
        entry = next(store.crosswalk_of(object_name, status="loaded"))
    assert entry.target_id is not None
    return entry.source_id, entry.target_id


def lookup(report: dict[str, Any], object_name: str, field: str) -> dict[str, Any]:
    [found] = [c for c in report["lookups"] if c["object"] == object_name and c["field"] == field]
    return found


def test_a_full_run_balances(migrated: MigrationWorkspace) -> None:
    report = reconcile(migrated, 0)
    assert report["balanced"] is True and report["discrepancies"] == []
    with migrated.store() as store:
        [run] = store.runs("run")
        read = {c.object: c.read for c in store.object_counts(run.id) if c.pass_ == 1}
        quarantined = {name: len({r.source_id for r in store.quarantined(name)}) for name in read}
    assert report["run"] == run.id
    assert set(report["objects"]) == set(read)
    for name, counts in report["objects"].items():
        assert counts["balanced"], name
        assert counts["source"] == counts["loaded"] + counts["quarantined"] + counts["filtered"], name
        assert counts["source"] == read[name], name  # no `each` in this spec: one outcome per record read
        assert counts["quarantined"] == quarantined[name], name
        assert counts["missing"] == counts["missing_in_target"] == counts["gone_from_source"] == 0, name
    assert sum(c["quarantined"] for c in report["objects"].values()) > 0  # the planted problems
    snapshot = migrated.snapshot("Contact", "Appointment__c")
    assert report["objects"]["patient"]["loaded"] == len(snapshot["Contact"])
    assert report["objects"]["appointment"]["loaded"] == len(snapshot["Appointment__c"])
    # Lookups: nulls are reported even when expected, and none is a discrepancy.
    doctor = lookup(report, "patient", "Referring_Doctor__c")
    assert doctor["checked"] == report["objects"]["patient"]["loaded"]
    assert doctor["null"] == doctor["expected_null"] > 0
    assert all(c["unexpected_null"] == c["broken"] == 0 for c in report["lookups"])
    assert lookup(report, "treatment_note", "LinkedEntityId")["null"] == 0  # notes' links are read back
    # The spec has owners and no fallback: unmatched practitioners are a warning, not a discrepancy.
    with migrated.store() as store:
        unresolved = {source_id for source_id, _, _ in store.unresolved_owners()}
    assert unresolved
    assert {p["source_id"] for p in report["unmatched_practitioners"]} == unresolved
    assert {p["level"] for p in report["unmatched_practitioners"]} == {"warning"}


def test_a_loaded_contact_deleted_in_the_target_is_missing(migrated: MigrationWorkspace) -> None:
    source_id, target_id = loaded_pair(migrated, "patient")
    with migrated.org() as org:
        assert org.delete("Contact", target_id).success
    report = reconcile(migrated, 1)
    patient = report["objects"]["patient"]
    assert report["balanced"] is False
    assert patient["balanced"] is False
    assert patient["missing_in_target"] == 1 and patient["missing_in_target_ids"] == [source_id]
    assert patient["source"] == patient["loaded"] + patient["quarantined"] + patient["filtered"]
    assert report["objects"]["business"]["balanced"] is True


def test_a_blanked_patient_lookup_is_an_unexpected_null(migrated: MigrationWorkspace) -> None:
    source_id, target_id = loaded_pair(migrated, "appointment")
    with migrated.org() as org:
        assert org.update("Appointment__c", target_id, {"Patient__c": None}).success
    report = reconcile(migrated, 1)
    assert all(o["balanced"] for o in report["objects"].values())  # the counts still balance
    patient = lookup(report, "appointment", "Patient__c")
    assert patient["unexpected_null"] == 1 and patient["broken"] == 0
    [problem] = patient["problems"]
    assert (problem["source_id"], problem["target_id"], problem["problem"]) == (source_id, target_id,
                                                                                "unexpected_null")
    assert problem["expected"] is not None and problem["value"] is None
    assert report["balanced"] is False


def test_a_lookup_pointing_at_another_record_is_broken(migrated: MigrationWorkspace) -> None:
    _, target_id = loaded_pair(migrated, "appointment")
    with migrated.org() as org:
        current = org.get(target_id)
        assert current is not None
        other = next(r.id for r in org.records("Contact") if r.id != current.fields["Patient__c"])
        assert org.update("Appointment__c", target_id, {"Patient__c": other}).success
    report = reconcile(migrated, 1)
    patient = lookup(report, "appointment", "Patient__c")
    assert patient["broken"] == 1 and patient["unexpected_null"] == 0
    assert patient["problems"][0]["value"] == other


def test_a_source_record_added_after_the_run_is_missing_until_a_delta(migrated: MigrationWorkspace) -> None:
    with ClinikoStore(migrated.root / "sandbox" / "cliniko" / CLINIKO_DATABASE) as cliniko:
        template = next(p for p in cliniko.select("patients")
                        if p.get("deleted_at") is None and p.get("merged_at") is None)
        added = cliniko.insert("patients", {**template, "id": None, "last_name": "Added-After-Run"})
    report = reconcile(migrated, 1)
    patient = report["objects"]["patient"]
    assert patient["missing"] == 1 and patient["missing_ids"] == [added["id"]]
    assert patient["source"] == patient["loaded"] + patient["quarantined"] + patient["filtered"] + 1
    assert patient["balanced"] is False
    migrated.invoke("delta", str(migrated.spec))
    after = reconcile(migrated, 0)
    assert after["objects"]["patient"]["missing"] == 0
    assert after["run"] > report["run"]  # the delta is the latest completed run


def test_reconcile_before_any_run_is_a_usage_error(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("reconcile", str(prepared.spec), expect=2)
    assert "flitstack run SPEC" in result.output
    assert not (prepared.root / "reports" / "reconciliation.json").exists()


def test_out_writes_the_reports_elsewhere(migrated: MigrationWorkspace, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    report = reconcile(migrated, 0, "--out", str(out))
    assert report["balanced"] is True
    html = (out / "reconciliation.html").read_text(encoding="utf-8")
    assert "Reconciliation" in html and "Referring_Doctor__c" in html
    assert not (migrated.root / "reports" / "reconciliation.json").exists()
