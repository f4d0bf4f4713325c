"""`flitstack run` into the Salesforce sandbox, through the CLI: plan order, quarantine, idempotence."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

from sandbox_migration_fixture import ROOT, MigrationWorkspace, prepared_workspace

from engine.sandbox.cliniko import DEFAULT_API_KEY, ClinikoStore
from engine.sandbox.cliniko.factory import DATABASE_NAME as CLINIKO_DATABASE
from engine.sandbox.salesforce import DEFAULT_TOKEN, Org
from engine.sandbox.salesforce.factory import DATABASE_NAME
from engine.sandbox.salesforce.metadata import custom_field
from engine.sandbox.salesforce.users import DEFAULT_USERS, UserSeed

ACME_OVERLAY = ROOT / "specs" / "examples" / "acme-physio.yaml"


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


def test_records_the_target_refuses_are_quarantined_with_its_error_and_reconciled(
        prepared: MigrationWorkspace) -> None:
    # The org's admin made a field required that the spec does not write: Salesforce refuses every invoice.
    with prepared.org() as org:
        org.add_custom_field("Invoice__c", custom_field("Approval_Code__c", "string", length=20, required=True))
    prepared.invoke("run", str(prepared.spec))
    with prepared.store() as store:
        invoices = store.quarantined("invoice")
        loaded_invoices = store.status_counts("invoice").get("loaded", 0)
        items = {q.code for q in store.quarantined("invoice_item")}
    refused = [q for q in invoices if q.code == "REQUIRED_FIELD_MISSING"]
    assert refused and loaded_invoices == 0
    assert all(q.field == "Approval_Code__c" and q.stage == "load" and "Approval_Code__c" in q.reason
               for q in refused)
    assert items == {"PARENT_NOT_LOADED"}  # their items point at the refused invoices, not at nothing
    result = prepared.invoke("reconcile", str(prepared.spec), "--out", str(prepared.root / "rec"))
    report = json.loads((prepared.root / "rec" / "reconciliation.json").read_text(encoding="utf-8"))
    invoice = report["objects"]["invoice"]
    assert report["balanced"] is True and invoice["loaded"] == 0
    assert invoice["quarantined"] == invoice["source"] - invoice["filtered"]
    assert "Balanced." in result.output


def test_state_store_is_private_and_holds_no_credential(migrated: MigrationWorkspace) -> None:
    path = migrated.root / "state.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes() + b"".join(p.read_bytes() for p in migrated.root.glob("state.db-*"))
    for secret in (DEFAULT_API_KEY, DEFAULT_TOKEN):
        assert secret.encode() not in content


def test_owners_matched_by_email_and_the_spec_fallback_owns_the_rest(tmp_path: Path) -> None:
    workspace = prepared_workspace(tmp_path / "acme", spec=ACME_OVERLAY)
    with workspace.org() as org:  # the overlay's owners.fallback
        fallback = org.query("SELECT Id FROM User WHERE Email = 'manager@clinic.example'").records[0]["Id"]
    email = _first_practitioner_email(workspace)
    # The practice's org has a user for its first practitioner only.
    with Org(workspace.root / "sandbox" / "salesforce" / DATABASE_NAME,
             users=[*DEFAULT_USERS, UserSeed("first.practitioner@flitstack.sandbox", email, "First", "One")]) as org:
        [user] = [u for u in org.records("User") if u.fields.get("Email") == email]
    workspace.invoke("run", str(workspace.spec))
    snapshot = workspace.snapshot("Practitioner__c", "Appointment__c")
    matched = [p for p in snapshot["Practitioner__c"].values() if p.get("Email__c") == email]
    assert [p["User__c"] for p in matched] == [user.id] and matched[0]["OwnerId"] == user.id
    others = [p for p in snapshot["Practitioner__c"].values() if p.get("Email__c") != email]
    assert others and all(p["OwnerId"] == fallback and not p.get("User__c") for p in others)  # the fallback
    by_practitioner = {p_id: p for p_id, p in snapshot["Practitioner__c"].items()}
    for appointment in snapshot["Appointment__c"].values():
        practitioner = by_practitioner[appointment["Practitioner__c"]]
        assert appointment["OwnerId"] == practitioner["OwnerId"]
    rows = (workspace.root / "reports" / "unresolved_owners.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(others)


def _first_practitioner_email(workspace: MigrationWorkspace) -> str:
    with ClinikoStore(workspace.root / "sandbox" / "cliniko" / CLINIKO_DATABASE) as store:
        practitioner = store.select("practitioners", limit=1)[0]
        user = store.get("users", practitioner["user_id"])
    assert user is not None
    return str(user["email"])


def test_a_damaged_state_store_is_a_clear_error_not_a_traceback(prepared: MigrationWorkspace) -> None:
    (prepared.root / "state.db").write_bytes(b"this is not a database" * 100)
    for name in ("state.db-wal", "state.db-shm"):
        (prepared.root / name).unlink(missing_ok=True)
    result = prepared.invoke("run", str(prepared.spec), expect=2)
    assert "state.db: not a flitstack state store" in result.output and "Traceback" not in result.output
