"""`flitstack delta`: what changed in Cliniko since the run's watermark, applied idempotently."""

from __future__ import annotations

from sandbox_migration_fixture import MigrationWorkspace, change_source


def test_delta_applies_new_updated_and_archived_records(migrated: MigrationWorkspace) -> None:
    changes = change_source(migrated)
    before = migrated.snapshot("Contact", "Appointment__c")
    result = migrated.invoke("delta", str(migrated.spec))
    assert "Delta 2 completed." in result.output
    after = migrated.snapshot("Contact", "Appointment__c")
    by_key = {name: {r["Cliniko_Id__c"]: r for r in records.values()} for name, records in after.items()}
    [new_patient] = changes.created["patients"]
    assert by_key["Contact"][new_patient]["LastName"] == "Newcomer 1"
    for patient in changes.updated["patients"]:
        assert by_key["Contact"][patient]["Title"] == "Updated after the first run"
    for appointment in changes.archived["individual_appointments"]:
        assert by_key["Appointment__c"][appointment]["Archived__c"] is True
    assert len(after["Contact"]) == len(before["Contact"]) + 1
    with migrated.store() as store:
        counts = {c.object: c for c in store.object_counts(2) if c.pass_ == 1}
        # Only what changed since the watermark (less the overlap) was read, not the whole clinic.
        assert counts["patient"].read < 30
        assert counts["patient"].created == 1 and counts["patient"].updated == 3
        assert counts["appointment"].updated == 2


def test_second_delta_writes_nothing(migrated: MigrationWorkspace) -> None:
    change_source(migrated)
    migrated.invoke("delta", str(migrated.spec))
    snapshot = migrated.snapshot()
    migrated.invoke("delta", str(migrated.spec))
    with migrated.store() as store:
        assert store.audit_counts(3) == {}
    assert migrated.snapshot() == snapshot


def test_delta_needs_a_completed_run(prepared: MigrationWorkspace) -> None:
    result = prepared.invoke("delta", str(prepared.spec), expect=2)
    assert "no completed run" in result.output
