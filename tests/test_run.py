"""`flitstack run` into the Salesforce sandbox, through the CLI: plan order, quarantine, idempotence."""

from __future__ import annotations

import csv
from pathlib import Path

from sandbox_migration_fixture import MigrationWorkspace


def test_run_loads_every_object_and_accounts_for_every_record(migrated: MigrationWorkspace) -> None:
    with migrated.store() as store:
        [run] = store.runs("run")
        assert run.status == "completed"
        counts = {(c.object, c.pass_): c for c in store.object_counts(run.id)}
        for (name, pass_), c in counts.items():
            if pass_ == 1:
                assert c.read >= c.created + c.quarantined + c.filtered, name
                assert c.created + c.updated + c.unchanged + c.quarantined + c.filtered >= c.read, name
        loaded = {name: store.status_counts(name).get("loaded", 0) for name, _ in counts}
    snapshot = migrated.snapshot("Contact", "Appointment__c", "Invoice__c")
    assert len(snapshot["Contact"]) == loaded["patient"]
    assert len(snapshot["Appointment__c"]) == loaded["appointment"]
    # Lookups resolved: every appointment in the org points at a Contact of the org.
    contacts = set(snapshot["Contact"])
    assert all(a["Patient__c"] in contacts for a in snapshot["Appointment__c"].values())


def test_quarantine_report_names_object_source_id_field_and_reason(migrated: MigrationWorkspace) -> None:
    with (migrated.root / "reports" / "quarantine.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the seeded clinic has planted problems"
    by_code = {r["code"] for r in rows}
    assert "FILE_TOO_LARGE" in by_code  # the oversized attachment never left the machine
    assert all(r["object"] and r["source_id"] and r["field"] and r["reason"] for r in rows)
    with migrated.store() as store:
        assert len(store.quarantined()) == len(rows)


def test_second_run_over_unchanged_source_writes_nothing(migrated: MigrationWorkspace) -> None:
    before = migrated.snapshot()
    result = migrated.invoke("run", str(migrated.spec))
    assert "Run 2 completed." in result.output
    with migrated.store() as store:
        assert store.audit_counts(2) == {}
        assert all(c.created == 0 and c.updated == 0 for c in store.object_counts(2))
    assert migrated.snapshot() == before


def test_run_refuses_a_spec_changed_since_signoff(prepared: MigrationWorkspace, tmp_path: Path) -> None:
    changed = tmp_path / "changed.yaml"
    changed.write_text(f"extends: {prepared.spec}\ndescription: changed after sign-off\n", encoding="utf-8")
    result = prepared.invoke("run", str(changed), expect=2)
    assert "no sign-off" in result.output or "changed since" in result.output
    with prepared.store() as store:
        assert store.runs() == []


def test_first_line_says_the_sandbox_is_used(migrated: MigrationWorkspace) -> None:
    result = migrated.invoke("run", str(migrated.spec))
    assert "sandbox is used" in result.output.splitlines()[0]
