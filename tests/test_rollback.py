"""`flitstack rollback` through the CLI: the org is back to what it was before the run — records the run
created are gone (files and notes with their documents and links), records it updated have their old
values — and the rollback resumes after an interruption, reports what the target refuses, and leaves a
workspace a new run loads again."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sandbox_migration_fixture import MigrationWorkspace, change_source

from engine.load.salesforce_target import SalesforceTarget
from engine.load.target import LoadResult, LoadStep, LoadStopped
from engine.records import TargetRecord
from engine.sandbox.cliniko import ClinikoStore
from engine.sandbox.cliniko.factory import DATABASE_NAME as CLINIKO_DATABASE


def keys_by_object(workspace: MigrationWorkspace) -> dict[str, set[str]]:
    """The Cliniko ids of every record in the org, per object (what a run loaded, whatever the org ids)."""
    return {name: {str(fields["Cliniko_Id__c"]) for fields in records.values() if fields.get("Cliniko_Id__c")}
            for name, records in workspace.snapshot().items()}


def rollback_rows(workspace: MigrationWorkspace, rollback_id: int) -> list[Any]:
    with workspace.store() as store:
        return list(store.audit_rows([rollback_id], statuses=("done",)))


def test_run_then_rollback_leaves_the_org_as_before(prepared: MigrationWorkspace) -> None:
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec))
    migrated = prepared.snapshot()
    assert migrated["ContentVersion"] and migrated["ContentDocument"] and migrated["ContentDocumentLink"]
    result = prepared.invoke("rollback", str(prepared.spec))
    lines = result.output.splitlines()
    assert "sandbox is used" in lines[0] and lines[0].startswith("Target:")
    assert "Rolling back run 1" in result.output
    assert "Rollback 2 completed" in lines[-1]
    # Every object, files and notes included: their versions and links went with their documents.
    assert prepared.snapshot() == before
    counts = {line.split()[0]: line.split()[1:] for line in lines[3:-1]}
    assert counts["Contact"] == [str(len(migrated["Contact"])), "0", "0"]
    with prepared.store() as store:
        assert list(store.audit_rows([1])) == []  # nothing of the run left standing
        assert all(entry.status != "loaded" for name in prepared_objects(store) for entry in
                   store.crosswalk_of(name))
        assert store.watermarks() == {}  # a delta must not start after a run that was undone
    with (prepared.root / "reports" / "rollback-2.csv").open(encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["run", "object", "source_id", "target_object", "target_id",
                                             "action", "code", "message"]]


def prepared_objects(store: Any) -> list[str]:
    return sorted({c.object for run in store.runs("run") for c in store.object_counts(run.id)})


def test_a_record_that_existed_before_the_run_gets_its_old_values_back(prepared: MigrationWorkspace) -> None:
    with ClinikoStore(prepared.root / "sandbox" / "cliniko" / CLINIKO_DATABASE) as clinic:
        business = clinic.select("businesses", limit=1)[0]
    with prepared.org() as org:
        saved = org.insert("Account", {"Name": "Old clinic name", "Cliniko_Id__c": str(business["id"]),
                                       "Phone": "0000", "Description": "made by hand before the migration"})
        assert saved.success and saved.id
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec))
    migrated = prepared.snapshot("Account")["Account"][saved.id]
    assert migrated["Name"] == business["business_name"] and migrated["Name"] != "Old clinic name"
    with prepared.store() as store:
        assert store.audit_counts(1).get("update") == 1
    prepared.invoke("rollback", str(prepared.spec))
    restored = prepared.snapshot("Account")["Account"][saved.id]
    assert (restored["Name"], restored["Phone"], restored["Description"]) == \
        ("Old clinic name", "0000", "made by hand before the migration")
    assert prepared.snapshot() == before


def test_an_interrupted_rollback_resumes_and_deletes_nothing_twice(prepared: MigrationWorkspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec))
    real_delete = SalesforceTarget.delete
    sent: list[str] = []
    lost: list[str] = []

    def delete_then_stop(self: SalesforceTarget, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        results = real_delete(self, target_object, ids)
        sent.extend(ids)
        if len(sent) > 300 and not lost:
            # The records are deleted but the answer never arrives: the store does not know yet.
            lost.extend(ids)
            raise LoadStopped("connection lost")
        return results

    monkeypatch.setattr(SalesforceTarget, "delete", delete_then_stop)
    stopped = prepared.invoke("rollback", str(prepared.spec), expect=3)
    assert "run the same command again to resume" in stopped.output
    with prepared.store() as store:
        assert store.run(2).status == "stopped"
        assert list(store.audit_rows([1])) and rollback_rows(prepared, 2)  # part undone, part standing
    assert before != prepared.snapshot()
    first_pass = list(sent)
    monkeypatch.setattr(SalesforceTarget, "delete", lambda self, target_object, ids:
                        (sent.extend(ids), real_delete(self, target_object, ids))[1])
    resumed = prepared.invoke("rollback", str(prepared.spec))
    assert "Resuming rollback 2" in resumed.output
    assert prepared.snapshot() == before
    # Only the batch whose answer was lost is sent again (it counts as deleted); nothing else twice.
    again = [i for i in sent[len(first_pass):] if i in first_pass]
    assert lost and sorted(again) == sorted(lost)
    undone = rollback_rows(prepared, 2)
    assert len({row.seq for row in undone}) == len(undone)
    with prepared.store() as store:
        assert list(store.audit_rows([1])) == []
        assert store.run(2).status == "completed"
        assert [r.id for r in store.runs("rollback")] == [2]


def test_run_rollback_run_loads_everything_again(prepared: MigrationWorkspace) -> None:
    prepared.invoke("run", str(prepared.spec))
    loaded = keys_by_object(prepared)
    with prepared.store() as store:
        created = {c.object: c.created for c in store.object_counts(1)}
    prepared.invoke("rollback", str(prepared.spec))
    assert all(not keys for keys in keys_by_object(prepared).values())
    result = prepared.invoke("run", str(prepared.spec))
    assert "Run 3 completed." in result.output
    with prepared.store() as store:
        assert {c.object: c.created for c in store.object_counts(3)} == created
        assert all(c.unchanged == 0 for c in store.object_counts(3))
    assert keys_by_object(prepared) == loaded
    # And that run rolls back in turn: the default is the latest run.
    assert "Rolling back run 3" in prepared.invoke("rollback", str(prepared.spec)).output


def test_rollback_undoes_the_deltas_after_the_run(prepared: MigrationWorkspace) -> None:
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec))
    change_source(prepared)
    prepared.invoke("delta", str(prepared.spec))
    with prepared.store() as store:
        assert {"insert", "update"} <= set(store.audit_counts(2))  # the delta created and updated records
    result = prepared.invoke("rollback", str(prepared.spec))
    assert "Rolling back run 1 and its 1 deltas (rollback 3)." in result.output
    assert prepared.snapshot() == before
    with prepared.store() as store:
        assert list(store.audit_rows([1, 2])) == []


def test_an_interrupted_run_rolls_back_what_it_may_have_created(prepared: MigrationWorkspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The run is stopped after the target took a batch but before the answer was recorded: the audit
    rows are still `pending`, without target ids; the rollback finds those records by their keys."""
    before = prepared.snapshot()
    real_load = SalesforceTarget.load

    def load_then_stop(self: SalesforceTarget, step: LoadStep, records: Sequence[TargetRecord], *,
                       omit: Any = ()) -> list[LoadResult]:
        results = real_load(self, step, records, omit=omit)
        if step.object == "patient_attachment":
            raise LoadStopped("connection lost")
        return results

    monkeypatch.setattr(SalesforceTarget, "load", load_then_stop)
    prepared.invoke("run", str(prepared.spec), expect=3)
    monkeypatch.undo()
    with prepared.store() as store:
        assert store.run(1).status == "stopped"
        pending = list(store.audit_rows([1], statuses=("pending",)))
    assert pending and all(r.object == "patient_attachment" and r.target_id is None for r in pending)
    assert prepared.snapshot("ContentVersion")["ContentVersion"]  # the files did reach the org
    prepared.invoke("rollback", str(prepared.spec))
    assert prepared.snapshot() == before


def test_a_refused_record_is_reported_and_retried_by_the_next_rollback(prepared: MigrationWorkspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec))
    [(contact_id, contact)] = list(prepared.snapshot("Contact")["Contact"].items())[:1]
    real_delete = SalesforceTarget.delete

    def refuse_one(self: SalesforceTarget, target_object: str, ids: Sequence[str]) -> list[LoadResult]:
        kept = [i for i in ids if i != contact_id]
        results = {r.source_id: r for r in real_delete(self, target_object, kept)}
        return [results.get(i) or LoadResult(i, i, False, "DELETE_FAILED", "the record is in use") for i in ids]

    monkeypatch.setattr(SalesforceTarget, "delete", refuse_one)
    result = prepared.invoke("rollback", str(prepared.spec), expect=1)
    assert "the target refused 1 records" in result.output
    with (prepared.root / "reports" / "rollback-2.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["object"], r["source_id"], r["target_object"], r["target_id"], r["action"], r["code"])
            for r in rows] == [("patient", contact["Cliniko_Id__c"], "Contact", contact_id, "delete",
                                "DELETE_FAILED")]
    left = prepared.snapshot()
    assert list(left["Contact"]) == [contact_id] and not left["Appointment__c"]
    monkeypatch.undo()
    retried = prepared.invoke("rollback", str(prepared.spec))
    assert "Rolling back run 1" in retried.output and "Rollback 3 completed: records deleted: 1," in retried.output
    assert prepared.snapshot() == before


@pytest.mark.parametrize(("args", "message"), [
    (("--run", "99"), "there is no run 99"),
    (("--run", "2"), "is itself a rollback"),
    ((), "was already rolled back (rollback 2)"),
])
def test_rollback_refuses_what_it_cannot_roll_back(migrated: MigrationWorkspace, args: tuple[str, ...],
                                                   message: str) -> None:
    migrated.invoke("rollback", str(migrated.spec))
    result = migrated.invoke("rollback", str(migrated.spec), *args, expect=2)
    assert message in result.output


def test_rollback_without_a_run_says_so(prepared: MigrationWorkspace, tmp_path: Path) -> None:
    result = prepared.invoke("rollback", str(prepared.spec), expect=2)
    assert "has no run to roll back" in result.output


def test_after_rolling_back_an_interrupted_run_the_next_run_starts_afresh(
        prepared: MigrationWorkspace) -> None:
    before = prepared.snapshot()
    prepared.invoke("run", str(prepared.spec), expect=3, env={"FLITSTACK_SANDBOX_SALESFORCE_DAILY_LIMIT": "25"})
    prepared.invoke("rollback", str(prepared.spec))
    assert prepared.snapshot() == before
    delta = prepared.invoke("delta", str(prepared.spec), expect=2)
    assert "no completed run" in delta.output
    again = prepared.invoke("run", str(prepared.spec))
    assert "Resuming" not in again.output
    with prepared.store() as store:
        [_, second] = [r for r in store.runs("run")]
        counts = {c.object: c for c in store.object_counts(second.id) if c.pass_ == 1}
    assert counts["patient"].created == 29  # everything loaded again, nothing skipped as "finished"
